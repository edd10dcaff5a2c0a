package app.faceid.app.vm

import app.faceid.core.AttendanceEvent
import app.faceid.core.EventType
import app.faceid.core.FaceIdClient
import app.faceid.core.Timesheet
import java.time.Instant

/**
 * My attendance: the server's events (punches only, newest first) and my timesheet of a month
 * (days with statuses and hours, and the month's totals, as the server computes them).
 */
class HistoryViewModel(private val client: FaceIdClient) {
    sealed class State {
        data object Loading : State()
        data class Loaded(val punches: List<AttendanceEvent>) : State()
        data class Offline(val detail: String) : State()
        /** Nobody is logged in (or the server ended the session): the login screen is next. */
        data object SignedOut : State()
        /** An administrator blocked this device: nothing is answered until they unblock it. */
        data object Blocked : State()
    }

    val state = Observable<State>(State.Loading)

    sealed class Sheet {
        data object Loading : Sheet()
        data class Loaded(val timesheet: Timesheet) : Sheet()
        data class Unavailable(val detail: String) : Sheet()
    }

    val timesheet = Observable<Sheet>(Sheet.Loading)

    /** The month `YYYY-MM` (null: the current one, in the server's time zone). */
    suspend fun loadTimesheet(month: String? = null): Sheet {
        timesheet.value = Sheet.Loading
        val result = when (val r = Read.of { client.timesheet(month) }) {
            is Read.Answer -> Sheet.Loaded(r.value)
            is Read.Offline -> Sheet.Unavailable(r.detail)
            is Read.SignedOut, is Read.Blocked -> Sheet.Unavailable(r.toString())
        }
        timesheet.value = result
        return result
    }

    suspend fun load(from: Instant? = null, to: Instant? = null): State {
        state.value = State.Loading
        val read = Read.of {
            client.attendanceHistory(from, to)
                .filter { it.kind == EventType.IN || it.kind == EventType.OUT }
                .sortedByDescending { it.occurredAt }
        }
        val result = when (read) {
            is Read.Answer -> State.Loaded(read.value)
            is Read.Offline -> State.Offline(read.detail)
            is Read.SignedOut -> State.SignedOut
            is Read.Blocked -> State.Blocked
        }
        state.value = result
        return result
    }
}
