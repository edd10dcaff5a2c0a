package app.faceid.app.vm

import app.faceid.core.DeadLetterInfo
import app.faceid.core.FaceIdClient
import app.faceid.core.SyncStatus

/** The always-visible offline / queued indicator: sync state, what waits, what was refused. */
class StatusViewModel(private val client: FaceIdClient) {
    data class Status(val online: Boolean, val queued: Long, val deadLetters: List<DeadLetterInfo>, val syncing: Boolean)

    val state = Observable(Status(online = true, queued = 0, deadLetters = emptyList(), syncing = false))

    /** The sync task's state (already on the main thread) plus the outbox counts. */
    fun onSync(status: SyncStatus) {
        refresh(online = status !is SyncStatus.Offline, syncing = status is SyncStatus.Syncing)
    }

    fun refresh(online: Boolean = state.value.online, syncing: Boolean = state.value.syncing) {
        val outbox = client.outboxStatus()
        val queued = (outbox.consent + outbox.enrolment + outbox.punch + outbox.locationBatch).toLong()
        state.value = Status(online, queued, outbox.deadLetters, syncing)
    }

    fun discard(letter: DeadLetterInfo) {
        client.discardDeadLetter(letter.idempotencyKey)
        refresh()
    }
}
