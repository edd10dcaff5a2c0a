package app.faceid.app.vm

import app.faceid.core.FaceIdClient
import app.faceid.core.FaceIdException
import app.faceid.core.User
import app.faceid.core.normalizeServerUrl

/** The server address and login screen. [connect] gives the client for an address. */
class LoginViewModel(private val connect: (String) -> FaceIdClient) {
    sealed class State {
        data object Idle : State()
        data object Busy : State()
        data class Failed(val problem: Problem, val detail: String) : State()
        data class LoggedIn(val user: User, val serverUrl: String) : State()
    }

    enum class Problem { BAD_ADDRESS, WRONG_CREDENTIALS, NETWORK, BLOCKED, OTHER }

    val state = Observable<State>(State.Idle)

    suspend fun login(serverUrl: String, login: String, password: String): State {
        val url = try {
            normalizeServerUrl(serverUrl)
        } catch (e: FaceIdException) {
            return fail(Problem.BAD_ADDRESS, e)
        }
        state.value = State.Busy
        val result = try {
            State.LoggedIn(connect(url).login(login.trim(), password), url)
        } catch (e: FaceIdException.Unauthorized) {
            fail(Problem.WRONG_CREDENTIALS, e)
        } catch (e: FaceIdException.Network) {
            fail(Problem.NETWORK, e)
        } catch (e: FaceIdException.DeviceBlocked) {
            fail(Problem.BLOCKED, e)
        } catch (e: FaceIdException) {
            fail(Problem.OTHER, e)
        }
        state.value = result
        return result
    }

    private fun fail(problem: Problem, e: FaceIdException): State = State.Failed(problem, e.message.orEmpty()).also { state.value = it }
}
