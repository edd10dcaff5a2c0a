package app.faceid.app.vm

import app.faceid.core.FaceIdClient
import app.faceid.core.FaceIdException

/**
 * The change-password screen. An administrator set the password (a new account or a reset,
 * the user's `mustChangePassword`): the app shows this screen and nothing else until the
 * server accepts the new one. Checks what it can before asking: the two entries match and
 * the new password has the server's minimum length.
 */
class PasswordViewModel(private val client: FaceIdClient) {
    sealed class State {
        data object Idle : State()
        data object Busy : State()
        data class Failed(val problem: Problem, val detail: String = "") : State()
        data object Changed : State()
    }

    enum class Problem { MISMATCH, TOO_SHORT, SAME, WRONG_CURRENT, NETWORK, OTHER }

    val state = Observable<State>(State.Idle)

    suspend fun change(current: String, new: String, repeat: String): State {
        val refused = when {
            new != repeat -> Problem.MISMATCH
            new.length < MIN_LENGTH -> Problem.TOO_SHORT
            new == current -> Problem.SAME
            else -> null
        }
        if (refused != null) return State.Failed(refused).also { state.value = it }
        state.value = State.Busy
        val next = try {
            client.changePassword(current, new)
            State.Changed
        } catch (e: FaceIdException.Unauthorized) {
            State.Failed(Problem.WRONG_CURRENT, e.message.orEmpty())
        } catch (e: FaceIdException.Network) {
            State.Failed(Problem.NETWORK, e.message.orEmpty())
        } catch (e: FaceIdException) {
            State.Failed(Problem.OTHER, e.message.orEmpty())
        }
        state.value = next
        return next
    }

    companion object {
        /** The server's minimum (`backend/src/password.rs`). */
        const val MIN_LENGTH = 8
    }
}
