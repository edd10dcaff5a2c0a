package app.faceid.app.vm

import app.faceid.core.CameraFrame
import app.faceid.core.FaceCapture
import app.faceid.core.FaceEngine
import app.faceid.core.FaceIdException
import app.faceid.core.KioskTerminal

/**
 * The kiosk: camera frames go to a passive capture (the same quality checks as a check-in);
 * once it has a good frame, the server identifies the person 1:N among the site's employees and
 * records their punch. Then ready again for the next person.
 */
class KioskViewModel(private val terminal: KioskTerminal, private val engine: FaceEngine) {
    sealed class State {
        data object Ready : State()
        data object Identifying : State()
        /** Recognised; the punch is recorded (its verdict may still be a flag for review). */
        data class Welcome(val name: String?, val employeeId: String?) : State()
        /** Nobody of the site matches ([reason]: `above_threshold`, `ambiguous`, `empty_gallery`, or the frame's problem). */
        data class Unknown(val reason: String) : State()
        data class Failed(val detail: String, val network: Boolean) : State()
    }

    val state = Observable<State>(State.Ready)
    private var capture: FaceCapture? = null

    /** A fresh capture for the next person. */
    fun ready() {
        capture?.close()
        capture = FaceCapture.passive(engine)
        state.value = State.Ready
    }

    /** One camera frame (off the main thread: it runs the detector); true once a good frame is in. */
    fun onFrame(frame: CameraFrame): Boolean {
        val c = capture ?: return false
        return c.pushFrame(frame).ready
    }

    /** Identify the person of the current capture through the server. */
    suspend fun identify(): State {
        val c = capture ?: error("no capture: call ready() first")
        capture = null
        state.value = State.Identifying
        val next = try {
            c.finish()
            val answer = terminal.identify(c, null)
            if (answer.recognised) State.Welcome(answer.employeeName, answer.employeeId) else State.Unknown(answer.reason ?: "unknown")
        } catch (e: FaceIdException.Face) {
            State.Unknown(e.message.orEmpty())
        } catch (e: FaceIdException.InvalidInput) {
            // The server refused the frame (no usable face after all).
            State.Unknown(e.message.orEmpty())
        } catch (e: FaceIdException.Network) {
            State.Failed(e.message.orEmpty(), network = true)
        } catch (e: FaceIdException) {
            State.Failed(e.message.orEmpty(), network = false)
        } finally {
            c.close()
        }
        state.value = next
        return next
    }

    fun close() {
        capture?.close()
        capture = null
    }
}
