package app.faceid.app.vm

import app.faceid.core.ConsentTextInfo
import app.faceid.core.ConsentType
import app.faceid.core.FaceIdClient

/**
 * Grant / withdraw the biometric and location consents, showing the server's current texts.
 * Grants refer to the version shown (a newer text published meanwhile makes the server refuse
 * the grant, and the screen shows the new text). Changes go through the outbox (offline too);
 * [onLocationChanged] lets the app start or stop tracking with the location consent.
 */
class ConsentViewModel(
    private val client: FaceIdClient,
    private val granted: MutableMap<ConsentType, Boolean>,
    private val onLocationChanged: (Boolean) -> Unit,
) {
    /** The texts as loaded: `Offline` keeps the app's built-in summaries on screen. */
    sealed class Texts {
        data object Loading : Texts()
        data class Loaded(val byKind: Map<ConsentType, ConsentTextInfo>) : Texts()
        data class Offline(val detail: String) : Texts()
    }

    val state = Observable(granted.toMap())
    val texts = Observable<Texts>(Texts.Loading)

    /**
     * The server's current texts and the ledger's state; while a change is still in the outbox,
     * the device's own state stays (it is newer than the ledger).
     */
    suspend fun load(): Texts {
        val read = Read.of {
            val loaded = client.consentTexts().associateBy { it.kind }
            if (client.outboxStatus().consent == 0uL) {
                for (status in client.consentStatuses()) granted[status.kind] = status.granted
                state.value = granted.toMap()
            }
            loaded
        }
        val next = when (read) {
            is Read.Answer -> Texts.Loaded(read.value)
            is Read.Offline -> Texts.Offline(read.detail)
            is Read.SignedOut, is Read.Blocked -> Texts.Offline(read.toString())
        }
        texts.value = next
        return next
    }

    fun set(kind: ConsentType, grant: Boolean) {
        val shown = (texts.value as? Texts.Loaded)?.byKind?.get(kind)
        when {
            !grant -> client.withdrawConsent(kind)
            shown != null -> client.grantConsentVersion(kind, shown.version)
            else -> client.grantConsent(kind)
        }
        granted[kind] = grant
        state.value = granted.toMap()
        if (kind == ConsentType.LOCATION) onLocationChanged(grant)
    }
}
