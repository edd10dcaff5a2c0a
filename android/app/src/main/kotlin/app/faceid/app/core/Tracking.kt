package app.faceid.app.core

import app.faceid.core.FixDecision
import app.faceid.core.LocationFix
import app.faceid.core.TrackingPolicyInfo

/**
 * What the location service needs from the core: the tracking policy the recorder applies and
 * the recorder itself. [CoreTracking] is the real one over `FaceIdClient`.
 */
interface Tracking {
    /** The policy, or null when nobody is logged in. */
    fun policy(): TrackingPolicyInfo?

    /** Hands a platform fix to the core's recorder (durable in the outbox when kept). */
    fun record(fix: LocationFix): FixDecision
}
