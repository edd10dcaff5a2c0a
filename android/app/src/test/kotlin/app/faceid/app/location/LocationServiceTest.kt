package app.faceid.app.location

import android.Manifest
import android.app.AlarmManager
import android.content.Context
import android.location.Location
import android.location.LocationManager
import android.os.Looper
import app.faceid.app.FaceIdApplication
import app.faceid.app.R
import app.faceid.app.RecordingTracking
import app.faceid.app.TestApplication
import app.faceid.core.FixDecision
import app.faceid.core.FixDropReason
import app.faceid.core.FixProvider
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.time.Clock
import java.time.Instant
import java.time.ZoneOffset

@RunWith(RobolectricTestRunner::class)
@Config(application = TestApplication::class, sdk = [35])
class LocationServiceTest {
    private val app: FaceIdApplication get() = RuntimeEnvironment.getApplication() as FaceIdApplication
    private val tracking = RecordingTracking()

    // Wednesday 2026-12-02 10:00 in Moscow (07:00 UTC): inside the window.
    private val inside = Instant.parse("2026-12-02T07:00:00Z")
    // The same Wednesday at 20:00 in Moscow: after hours; the next window is Thursday 09:00.
    private val evening = Instant.parse("2026-12-02T17:00:00Z")

    @Before
    fun setUp() {
        app.tracking = tracking
        app.settings.trackingEnabled = true
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
    }

    @After
    fun tearDown() {
        LocationService.clock = Clock.systemUTC()
    }

    private fun at(instant: Instant) {
        LocationService.clock = Clock.fixed(instant, ZoneOffset.UTC)
    }

    private fun startService(): LocationService =
        Robolectric.buildService(LocationService::class.java).create().startCommand(0, 1).get()

    private fun gpsFix(lat: Double, accuracy: Float, mock: Boolean = false, at: Instant = inside) = Location(LocationManager.GPS_PROVIDER).apply {
        latitude = lat
        longitude = 37.61
        this.accuracy = accuracy
        time = at.toEpochMilli()
        elapsedRealtimeNanos = android.os.SystemClock.elapsedRealtimeNanos()
        isMock = mock
    }

    @Test
    fun `starts in the foreground with the tracking notification`() {
        at(inside)
        val service = startService()
        val shadow = shadowOf(service)
        val notification = shadow.lastForegroundNotification
        assertNotNull("a foreground notification", notification)
        assertEquals(LocationService.NOTIFICATION_ID, shadow.lastForegroundNotificationId)
        assertEquals(app.getString(R.string.tracking_notification_title), notification.extras.getString("android.title"))
        assertEquals(FaceIdApplication.CHANNEL_TRACKING, notification.channelId)
        assertTrue("ongoing", notification.flags and android.app.Notification.FLAG_ONGOING_EVENT != 0)
        assertFalse(shadow.isStoppedBySelf)
    }

    @Test
    fun `a simulated GPS fix goes to the recorder with its accuracy and mock flag`() {
        at(inside)
        startService()
        val locations = shadowOf(app.getSystemService(LocationManager::class.java))
        locations.simulateLocation(gpsFix(55.7501, 12f))
        // The policy's interval (60 s) passes before the next fix.
        shadowOf(Looper.getMainLooper()).idleFor(java.time.Duration.ofSeconds(61))
        locations.simulateLocation(gpsFix(55.7502, 30f, mock = true, at = inside.plusSeconds(61)))
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals(2, tracking.recorded.size)
        val (first, second) = tracking.recorded
        assertEquals(55.7501, first.lat, 1e-9)
        assertEquals(12.0, first.accuracyM, 1e-6)
        assertEquals(FixProvider.GPS, first.provider)
        assertFalse(first.mock)
        assertTrue("the platform's mock flag is passed on", second.mock)
    }

    @Test
    fun `outside working hours it records nothing, stops and sets an alarm for the next window`() {
        at(evening)
        val service = startService()
        shadowOf(app.getSystemService(LocationManager::class.java)).simulateLocation(gpsFix(55.75, 10f))
        shadowOf(Looper.getMainLooper()).idle()
        assertTrue(tracking.recorded.isEmpty())
        assertTrue(shadowOf(service).isStoppedBySelf)
        val alarm = shadowOf(app.getSystemService(AlarmManager::class.java)).peekNextScheduledAlarm()
        assertNotNull("an alarm for the next window", alarm)
        // Thursday 09:00 Moscow = 06:00 UTC.
        assertEquals(Instant.parse("2026-12-03T06:00:00Z").toEpochMilli(), alarm!!.triggerAtMs)
    }

    @Test
    fun `stops when the recorder says location consent was withdrawn`() {
        at(inside)
        val service = startService()
        assertFalse(shadowOf(service).isStoppedBySelf)
        tracking.answer = FixDecision.Dropped(FixDropReason.NoConsent)
        shadowOf(app.getSystemService(LocationManager::class.java)).simulateLocation(gpsFix(55.75, 10f))
        shadowOf(Looper.getMainLooper()).idle()
        assertTrue(shadowOf(service).isStoppedBySelf)
    }

    @Test
    fun `does not run when the employee has not switched tracking on or the policy is off`() {
        at(inside)
        app.settings.trackingEnabled = false
        assertTrue(shadowOf(startService()).isStoppedBySelf)
        app.settings.trackingEnabled = true
        tracking.policy = tracking.policy!!.copy(enabled = false)
        assertTrue(shadowOf(startService()).isStoppedBySelf)
        tracking.policy = null // logged out
        assertTrue(shadowOf(startService()).isStoppedBySelf)
    }

    @Test
    fun `does not run while tracking is restricted, as with a withdrawn consent`() {
        at(inside)
        app.settings.trackingRestricted = true
        try {
            assertTrue(shadowOf(startService()).isStoppedBySelf)
            assertTrue(tracking.recorded.isEmpty())
        } finally {
            app.settings.trackingRestricted = false
        }
        assertFalse(shadowOf(startService()).isStoppedBySelf)
    }

    @Test
    fun `BOOT_COMPLETED restarts the service only when tracking is enabled`() {
        val context: Context = app
        app.settings.trackingEnabled = false
        BootReceiver().onReceive(context, android.content.Intent(android.content.Intent.ACTION_BOOT_COMPLETED))
        assertNull(shadowOf(app).nextStartedService)
        app.settings.trackingEnabled = true
        BootReceiver().onReceive(context, android.content.Intent(android.content.Intent.ACTION_BOOT_COMPLETED))
        assertEquals(LocationService::class.java.name, shadowOf(app).nextStartedService?.component?.className)
    }

    @Test
    fun `the boot receiver is declared in the manifest for BOOT_COMPLETED`() {
        app.settings.trackingEnabled = true
        val intent = android.content.Intent(android.content.Intent.ACTION_BOOT_COMPLETED).setPackage(app.packageName)
        val receivers = app.packageManager.queryBroadcastReceivers(intent, 0)
        assertTrue(receivers.any { it.activityInfo.name == BootReceiver::class.java.name })
    }
}
