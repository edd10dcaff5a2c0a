package app.faceid.app.vm

import app.faceid.core.ConsentType
import app.faceid.core.FaceIdClient

/**
 * Grant / withdraw the biometric and location consents. They go through the outbox (offline
 * too); [onLocationChanged] lets the app start or stop tracking with the location consent.
 */
class ConsentViewModel(
    private val client: FaceIdClient,
    private val granted: MutableMap<ConsentType, Boolean>,
    private val onLocationChanged: (Boolean) -> Unit,
) {
    val state = Observable(granted.toMap())

    fun set(kind: ConsentType, grant: Boolean) {
        if (grant) client.grantConsent(kind) else client.withdrawConsent(kind)
        granted[kind] = grant
        state.value = granted.toMap()
        if (kind == ConsentType.LOCATION) onLocationChanged(grant)
    }
}
