package app.faceid.app.vm

import app.faceid.core.AttendanceEvent
import app.faceid.core.EventType
import app.faceid.core.FaceIdClient
import app.faceid.core.FaceIdException
import java.time.Instant

/** My attendance history: the server's events, punches only, newest first. */
class HistoryViewModel(private val client: FaceIdClient) {
    sealed class State {
        data object Loading : State()
        data class Loaded(val punches: List<AttendanceEvent>) : State()
        data class Offline(val detail: String) : State()
        /** Nobody is logged in (or the server ended the session): the login screen is next. */
        data object SignedOut : State()
    }

    val state = Observable<State>(State.Loading)

    suspend fun load(from: Instant? = null, to: Instant? = null): State {
        state.value = State.Loading
        val result = try {
            State.Loaded(
                client.attendanceHistory(from, to)
                    .filter { it.kind == EventType.IN || it.kind == EventType.OUT }
                    .sortedByDescending { it.occurredAt },
            )
        } catch (e: FaceIdException.Network) {
            State.Offline(e.message.orEmpty())
        } catch (e: FaceIdException.SessionExpired) {
            State.SignedOut
        } catch (e: FaceIdException.Unauthorized) {
            State.SignedOut
        }
        state.value = result
        return result
    }
}
