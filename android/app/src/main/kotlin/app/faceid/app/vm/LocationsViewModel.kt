package app.faceid.app.vm

import app.faceid.core.FaceIdClient
import app.faceid.core.RecordedLocation
import java.time.Duration
import java.time.Instant

/** My locations: the positions the server stored for me in a period, newest first. */
class LocationsViewModel(private val client: FaceIdClient, private val now: () -> Instant = Instant::now) {
    sealed class State {
        data object Loading : State()
        data class Loaded(val period: Duration, val points: List<RecordedLocation>) : State()
        data class Offline(val detail: String) : State()
        data object SignedOut : State()
        /** An administrator blocked this device. */
        data object Blocked : State()
    }

    val state = Observable<State>(State.Loading)

    /** The last [period] (at most 31 days, the server's limit for one query). */
    suspend fun load(period: Duration = DAY): State {
        state.value = State.Loading
        val to = now()
        val result = when (val r = Read.of { client.locationHistory(to.minus(period), to).sortedByDescending { it.recordedAt } }) {
            is Read.Answer -> State.Loaded(period, r.value)
            is Read.Offline -> State.Offline(r.detail)
            is Read.SignedOut -> State.SignedOut
            is Read.Blocked -> State.Blocked
        }
        state.value = result
        return result
    }

    companion object {
        val DAY: Duration = Duration.ofDays(1)
        val WEEK: Duration = Duration.ofDays(7)
    }
}
