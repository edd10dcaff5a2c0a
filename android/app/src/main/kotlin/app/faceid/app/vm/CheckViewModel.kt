package app.faceid.app.vm

import app.faceid.core.AttendanceEvent
import app.faceid.core.CameraFrame
import app.faceid.core.CaptureSummary
import app.faceid.core.ChallengeStep
import app.faceid.core.EventType
import app.faceid.core.FaceCapture
import app.faceid.core.FaceEngine
import app.faceid.core.FaceIdClient
import app.faceid.core.FaceIdException
import app.faceid.core.LocationFix
import app.faceid.core.PunchDirection
import app.faceid.core.QualityHint
import app.faceid.core.SyncStatus

/**
 * Check-in / check-out: camera frames go to the core's capture session, which answers with the
 * challenge step to prompt and quality hints; once ready, the capture is finished (the local
 * answer: does the face match the enrolled templates), sealed as a punch with the GPS fix, and
 * sent; the server's verdict follows, or "queued" when offline.
 */
class CheckViewModel(private val client: FaceIdClient, private val engine: FaceEngine) {
    sealed class State {
        data object Starting : State()
        data class Capturing(
            val step: ChallengeStep?,
            val completed: Int,
            val total: Int,
            val hints: List<QualityHint>,
            val ready: Boolean,
        ) : State()
        data class Answered(val summary: CaptureSummary) : State()
        data class Queued(val summary: CaptureSummary, val key: String) : State()
        data class Verdict(val summary: CaptureSummary, val event: AttendanceEvent) : State()
        data class Failed(val detail: String) : State()
    }

    val state = Observable<State>(State.Starting)
    private var capture: FaceCapture? = null
    private var direction = PunchDirection.IN
    private var total = 0

    /** Starts a capture; with no network the challenge (issued by the server) is left out. */
    suspend fun start(direction: PunchDirection, withChallenge: Boolean) {
        this.direction = direction
        capture?.close()
        val started = try {
            client.startCapture(engine, withChallenge)
        } catch (e: FaceIdException.Network) {
            if (!withChallenge) throw e
            client.startCapture(engine, false)
        }
        capture = started
        total = started.challenge()?.actions?.size ?: 0
        state.value = State.Capturing(if (total > 0) ChallengeStep.Start else null, 0, total, emptyList(), false)
    }

    /** One camera frame (call off the main thread: it runs the detector); returns the new state. */
    fun onFrame(frame: CameraFrame): State.Capturing {
        val c = capture ?: error("no capture started")
        val feedback = c.pushFrame(frame)
        return State.Capturing(feedback.challenge, feedback.completedActions.toInt(), total, feedback.hints, feedback.ready)
    }

    /** Publish a frame's state (on the main thread). */
    fun show(capturing: State.Capturing) {
        state.value = capturing
    }

    /** Finish: the local answer at once, then the punch is sealed in the outbox with [fix]. */
    fun finish(fix: LocationFix?): State.Queued {
        val c = capture ?: error("no capture started")
        val summary = try {
            c.finish()
        } catch (e: FaceIdException.Face) {
            state.value = State.Failed(e.message.orEmpty())
            throw e
        }
        state.value = State.Answered(summary)
        val key = client.sealPunch(c, direction, fix)
        c.close()
        capture = null
        return State.Queued(summary, key).also { state.value = it }
    }

    /** Try to send now: the server's verdict, or still queued when it cannot be reached. */
    suspend fun deliver(queued: State.Queued): State {
        val report = client.syncNow()
        // Refused for good (biometrics restricted, ...): the server's reason.
        val refused = client.deadLetters().firstOrNull { it.idempotencyKey == queued.key }
        val next = if (refused != null) {
            State.Failed(refused.reason)
        } else if (report.outcome is SyncStatus.Offline || client.outboxStatus().punch > 0uL) {
            queued
        } else {
            val kind = if (direction == PunchDirection.IN) EventType.IN else EventType.OUT
            client.attendanceHistory(null, null).filter { it.kind == kind }.maxByOrNull { it.receivedAt }
                ?.let { State.Verdict(queued.summary, it) } ?: queued
        }
        state.value = next
        return next
    }

    fun close() {
        capture?.close()
        capture = null
    }
}
