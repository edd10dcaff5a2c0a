package app.faceid.app.core

import app.faceid.core.FaceIdClient
import app.faceid.core.FaceIdException
import app.faceid.core.FixDecision
import app.faceid.core.LocationFix
import app.faceid.core.TrackingPolicyInfo

/** [Tracking] over the real core: its recorder decides what is kept. */
class CoreTracking(private val client: () -> FaceIdClient?) : Tracking {
    override fun policy(): TrackingPolicyInfo? = try {
        client()?.trackingPolicy()
    } catch (e: FaceIdException.Unauthorized) {
        null // nobody logged in
    }

    override fun record(fix: LocationFix): FixDecision =
        client()?.recordFix(fix) ?: throw FaceIdException.Unauthorized("not logged in")
}
