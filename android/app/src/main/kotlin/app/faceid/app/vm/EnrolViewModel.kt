package app.faceid.app.vm

import app.faceid.core.DeadLetterInfo
import app.faceid.core.FaceIdClient
import app.faceid.core.OutboxKind
import app.faceid.core.SyncStatus

/**
 * Enrolment: 1–5 photos queued in the outbox (offline too), sent by the sync; once the server
 * accepted them, the templates are fetched for instant 1:1 answers at check-in.
 */
class EnrolViewModel(private val client: FaceIdClient) {
    sealed class State {
        data object Idle : State()
        data class Queued(val key: String) : State()
        data class Enrolled(val templates: Int) : State()
        data class Refused(val letter: DeadLetterInfo) : State()
    }

    val state = Observable<State>(State.Idle)

    suspend fun enrol(photos: List<ByteArray>): State {
        val key = client.queueEnrolment(photos)
        state.value = State.Queued(key)
        val report = client.syncNow()
        val refused = client.deadLetters().firstOrNull { it.idempotencyKey == key && it.kind == OutboxKind.ENROLMENT }
        val next = when {
            refused != null -> State.Refused(refused)
            report.outcome is SyncStatus.Idle && client.outboxStatus().enrolment == 0uL -> State.Enrolled(client.refreshDescriptors().toInt())
            else -> State.Queued(key)
        }
        state.value = next
        return next
    }
}
