package app.faceid.app.location

import app.faceid.app.RecordingTracking
import app.faceid.core.TrackingWindow
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.time.Instant

class TrackingScheduleTest {
    private val policy = RecordingTracking.weekdays9to18()

    @Test
    fun `inside and outside the windows in the site's zone`() {
        val s = TrackingSchedule(policy)
        assertTrue(s.isActive(Instant.parse("2026-12-02T06:00:00Z"))) // Wed 09:00 Moscow
        assertFalse(s.isActive(Instant.parse("2026-12-02T05:59:00Z"))) // Wed 08:59
        assertFalse(s.isActive(Instant.parse("2026-12-02T15:00:00Z"))) // Wed 18:00 (end excluded)
        assertFalse(s.isActive(Instant.parse("2026-12-05T08:00:00Z"))) // Saturday
        assertFalse(TrackingSchedule(policy.copy(enabled = false)).isActive(Instant.parse("2026-12-02T07:00:00Z")))
        assertTrue(TrackingSchedule(policy.copy(windows = emptyList())).isActive(Instant.parse("2026-12-05T08:00:00Z")))
    }

    @Test
    fun `the next window start skips the weekend`() {
        val s = TrackingSchedule(policy)
        assertEquals(Instant.parse("2026-12-07T06:00:00Z"), s.nextStart(Instant.parse("2026-12-04T16:00:00Z"))) // Fri evening -> Mon
        assertEquals(Instant.parse("2026-12-02T06:00:00Z"), s.nextStart(Instant.parse("2026-12-02T03:00:00Z"))) // Wed early
        assertNull(TrackingSchedule(policy.copy(enabled = false)).nextStart(Instant.EPOCH))
        val sundayOnly = policy.copy(windows = listOf(TrackingWindow(7u, 600u, 660u)))
        assertEquals(Instant.parse("2026-12-06T07:00:00Z"), TrackingSchedule(sundayOnly).nextStart(Instant.parse("2026-12-02T07:00:00Z")))
    }

    @Test
    fun `the interval is the policy's, at least ten seconds`() {
        assertEquals(60_000L, TrackingSchedule(policy).intervalMs)
        assertEquals(10_000L, TrackingSchedule(policy.copy(intervalS = 1u)).intervalMs)
    }
}
