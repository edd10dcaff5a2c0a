package app.faceid.app.vm

import app.faceid.core.CameraFrame
import app.faceid.core.DeadLetterInfo
import app.faceid.core.FaceCapture
import app.faceid.core.FaceEngine
import app.faceid.core.FaceIdClient
import app.faceid.core.OutboxKind
import app.faceid.core.QualityHint
import app.faceid.core.SyncStatus

/**
 * Enrolment: [PHOTOS] photos taken from the camera, each through the core's capture (the same
 * live quality checks as a check-in: one face, close enough, centred, sharp, lit), its best
 * frame's JPEG kept; then queued in the outbox (offline too) and sent by the sync. Once the
 * server accepted them, the templates are fetched for instant 1:1 answers at check-in.
 */
class EnrolViewModel(private val client: FaceIdClient, private val engine: FaceEngine? = null) {
    sealed class State {
        data object Idle : State()
        /** Taking photo [taken] + 1 of [needed]; [hints] say what to fix in the current frame. */
        data class Capturing(val taken: Int, val needed: Int, val hints: List<QualityHint>, val faceFound: Boolean) : State()
        data object Sending : State()
        data class Queued(val key: String) : State()
        data class Enrolled(val templates: Int) : State()
        data class Refused(val letter: DeadLetterInfo) : State()
        data class Failed(val detail: String) : State()
    }

    val state = Observable<State>(State.Idle)
    private val photos = mutableListOf<ByteArray>()
    private var capture: FaceCapture? = null
    private var needed = PHOTOS

    /** Start taking [count] photos (1–5, the server's limit). */
    fun start(count: Int = PHOTOS) {
        require(count in 1..5) { "1 to 5 photos" }
        val e = engine ?: error("no face engine: enrolment from the camera needs the models")
        needed = count
        photos.clear()
        capture?.close()
        capture = FaceCapture.passive(e)
        state.value = State.Capturing(0, needed, emptyList(), false)
    }

    /**
     * One camera frame (call off the main thread: it runs the detector). When the capture has a
     * good frame, its JPEG becomes the next photo and a new capture starts for the one after.
     * Returns the state to show; publish it on the main thread with [show].
     */
    fun onFrame(frame: CameraFrame): State.Capturing {
        val c = capture ?: error("enrolment not started")
        val feedback = c.pushFrame(frame)
        if (feedback.ready) {
            c.finish()
            photos += c.bestFrameJpeg()
            c.close()
            capture = if (photos.size < needed) FaceCapture.passive(engine!!) else null
        }
        return State.Capturing(photos.size, needed, feedback.hints, feedback.faces > 0u)
    }

    fun show(s: State) {
        state.value = s
    }

    /** All photos taken: the screen calls [enrol] with them. */
    val complete: Boolean get() = photos.size >= needed

    fun photos(): List<ByteArray> = photos.toList()

    /** Queue [photos] (default: the ones taken) and try to send them now. */
    suspend fun enrol(photos: List<ByteArray> = photos()): State {
        state.value = State.Sending
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

    fun close() {
        capture?.close()
        capture = null
    }

    companion object {
        /** Photos per enrolment: enough for a few head positions, within the server's 5. */
        const val PHOTOS = 3
    }
}
