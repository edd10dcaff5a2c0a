package app.faceid.app.location

import app.faceid.core.TrackingPolicyInfo
import java.time.Instant
import java.time.ZoneId
import java.time.ZonedDateTime

/**
 * When the location service should run under the employee's tracking policy: inside one of its
 * windows (local time of the site's zone; weekday 1 = Monday … 7 = Sunday). The core's recorder
 * enforces the same policy on every fix; the app needs it to stop outside the windows and to
 * schedule the alarm for the next one.
 */
class TrackingSchedule(private val policy: TrackingPolicyInfo, private val fallbackZone: ZoneId = ZoneId.systemDefault()) {
    private val zone: ZoneId = policy.timeZone?.let { runCatching { ZoneId.of(it) }.getOrNull() } ?: fallbackZone

    /** Tracking is on and [now] is inside a window (no windows: all day, every day). */
    fun isActive(now: Instant): Boolean {
        if (!policy.enabled) return false
        if (policy.windows.isEmpty()) return true
        val local = now.atZone(zone)
        val minute = local.hour * 60 + local.minute
        return policy.windows.any {
            it.weekday.toInt() == local.dayOfWeek.value && minute >= it.startMinute.toInt() && minute < it.endMinute.toInt()
        }
    }

    /** The start of the next window after [now] (within a week), or null when tracking is off. */
    fun nextStart(now: Instant): Instant? {
        if (!policy.enabled || policy.windows.isEmpty()) return null
        val local = now.atZone(zone)
        return (0..7).flatMap { dayOffset ->
            val day = local.toLocalDate().plusDays(dayOffset.toLong())
            policy.windows.filter { it.weekday.toInt() == day.dayOfWeek.value }.map {
                ZonedDateTime.of(day.atStartOfDay(), zone).plusMinutes(it.startMinute.toLong()).toInstant()
            }
        }.filter { it.isAfter(now) }.minOrNull()
    }

    /** The fix interval in milliseconds (at least 10 s, whatever the server says). */
    val intervalMs: Long get() = maxOf(10L, policy.intervalS.toLong()) * 1000L
}
