package app.faceid.app.vm

import app.faceid.core.AdminConsole
import app.faceid.core.AttendanceEvent
import app.faceid.core.PunchState
import app.faceid.core.ReviewChoice
import app.faceid.core.TodayOverview

/** The admin's and operator's screens over their scope: today, flagged punches to review. */
class AdminViewModel(private val console: AdminConsole) {
    val today = Observable<TodayOverview?>(null)
    val flagged = Observable<List<AttendanceEvent>>(emptyList())

    suspend fun loadToday(siteId: String? = null): TodayOverview = console.today(null, siteId).also { today.value = it }

    /** Punches waiting for a decision, oldest first. */
    suspend fun loadFlagged(employeeId: String? = null): List<AttendanceEvent> =
        console.flaggedPunches(null, null, employeeId, 100u, 0u).items
            .filter { it.status == PunchState.FLAGGED_PENDING }
            .also { flagged.value = it }

    suspend fun approve(eventId: String, comment: String? = null): AttendanceEvent = review(eventId, ReviewChoice.ACCEPT, comment)

    suspend fun reject(eventId: String, comment: String? = null): AttendanceEvent = review(eventId, ReviewChoice.REJECT, comment)

    private suspend fun review(eventId: String, choice: ReviewChoice, comment: String?): AttendanceEvent {
        val review = console.reviewPunch(eventId, choice, comment)
        flagged.value = flagged.value.filterNot { it.id == eventId }
        return review
    }
}
