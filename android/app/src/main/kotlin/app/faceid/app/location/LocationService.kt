package app.faceid.app.location

import android.Manifest
import android.app.AlarmManager
import android.app.Notification
import android.app.PendingIntent
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.content.pm.ServiceInfo
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.BatteryManager
import android.os.Build
import android.os.IBinder
import android.os.Looper
import app.faceid.app.FaceIdApplication
import app.faceid.app.R
import app.faceid.app.ui.MainActivity
import app.faceid.core.FaceIdException
import app.faceid.core.FixDecision
import app.faceid.core.FixDropReason
import app.faceid.core.FixProvider
import app.faceid.core.LocationFix
import java.time.Clock
import java.time.Instant

/**
 * The foreground service of type `location`: while the employee's tracking policy is on and the
 * clock is inside one of its windows, GPS and network fixes go through the core's recorder into
 * the outbox. Outside the windows it stops and sets an alarm for the next one; without the
 * employee's consent (or when the recorder says so) it stops.
 */
class LocationService : Service(), LocationListener {
    private var listening = false

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        // Foreground first: Android kills a service started with startForegroundService that
        // does not call startForeground within seconds, whatever it decides next.
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            startForeground(NOTIFICATION_ID, notification(), ServiceInfo.FOREGROUND_SERVICE_TYPE_LOCATION)
        } else {
            startForeground(NOTIFICATION_ID, notification())
        }
        val app = FaceIdApplication.of(this)
        // Withdrawn consent and restricted tracking stop it alike.
        val policy = if (app.settings.trackingEnabled && !app.settings.trackingRestricted) app.tracking.policy() else null
        if (policy == null || !policy.enabled) {
            stop()
            return START_NOT_STICKY
        }
        val schedule = TrackingSchedule(policy)
        val now = clock.instant()
        if (!schedule.isActive(now)) {
            schedule.nextStart(now)?.let { scheduleStart(this, it) }
            stop()
            return START_NOT_STICKY
        }
        startUpdates(schedule.intervalMs)
        return START_STICKY
    }

    private fun startUpdates(intervalMs: Long) {
        if (listening) return
        if (checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) != PackageManager.PERMISSION_GRANTED &&
            checkSelfPermission(Manifest.permission.ACCESS_COARSE_LOCATION) != PackageManager.PERMISSION_GRANTED
        ) {
            stop()
            return
        }
        val manager = getSystemService(LocationManager::class.java) ?: return stop()
        for (provider in listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER)) {
            if (manager.allProviders.contains(provider)) {
                manager.requestLocationUpdates(provider, intervalMs, 0f, this, Looper.getMainLooper())
                listening = true
            }
        }
    }

    override fun onLocationChanged(location: Location) {
        val app = FaceIdApplication.of(this)
        val decision = try {
            app.tracking.record(toFix(location, batteryPercent()))
        } catch (e: FaceIdException) {
            android.util.Log.w(TAG, "fix not recorded: ${e.message}")
            return
        }
        if (decision is FixDecision.Dropped) {
            when (val reason = decision.reason) {
                is FixDropReason.NoConsent, is FixDropReason.TrackingDisabled -> stop()
                is FixDropReason.OutsideWorkingHours -> {
                    app.tracking.policy()?.let { p -> TrackingSchedule(p).nextStart(clock.instant())?.let { scheduleStart(this, it) } }
                    stop()
                }
                else -> android.util.Log.i(TAG, "fix dropped: $reason")
            }
        }
    }

    override fun onDestroy() {
        if (listening) getSystemService(LocationManager::class.java)?.removeUpdates(this)
        listening = false
        super.onDestroy()
    }

    private fun stop() {
        stopForeground(STOP_FOREGROUND_REMOVE)
        stopSelf()
    }

    private fun batteryPercent(): UByte? {
        val level = getSystemService(BatteryManager::class.java)?.getIntProperty(BatteryManager.BATTERY_PROPERTY_CAPACITY)
        return level?.takeIf { it in 0..100 }?.toUByte()
    }

    private fun notification(): Notification {
        val open = PendingIntent.getActivity(
            this, 0, Intent(this, MainActivity::class.java), PendingIntent.FLAG_IMMUTABLE,
        )
        return Notification.Builder(this, FaceIdApplication.CHANNEL_TRACKING)
            .setContentTitle(getString(R.string.tracking_notification_title))
            .setContentText(getString(R.string.tracking_notification_text))
            .setSmallIcon(R.drawable.ic_tracking)
            .setOngoing(true)
            .setContentIntent(open)
            .build()
    }

    companion object {
        const val NOTIFICATION_ID = 1001
        private const val TAG = "LocationService"

        /** The clock the working-hours decisions use (tests set a fixed one). */
        @Volatile var clock: Clock = Clock.systemUTC()

        fun toFix(location: Location, batteryPercent: UByte?): LocationFix = LocationFix(
            recordedAt = Instant.ofEpochMilli(location.time),
            lat = location.latitude,
            lon = location.longitude,
            accuracyM = if (location.hasAccuracy()) location.accuracy.toDouble() else 9999.0,
            speedMs = if (location.hasSpeed()) location.speed.toDouble() else null,
            bearingDeg = if (location.hasBearing()) location.bearing.toDouble() else null,
            altitudeM = if (location.hasAltitude()) location.altitude else null,
            mock = isMock(location),
            provider = when (location.provider) {
                LocationManager.GPS_PROVIDER -> FixProvider.GPS
                LocationManager.NETWORK_PROVIDER -> FixProvider.NETWORK
                else -> FixProvider.FUSED
            },
            batteryPercent = batteryPercent,
        )

        @Suppress("DEPRECATION")
        fun isMock(location: Location): Boolean =
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) location.isMock else location.isFromMockProvider

        /** Starts the service in the foreground (from a receiver, an alarm or the app). */
        fun start(context: Context) {
            context.startForegroundService(Intent(context, LocationService::class.java))
        }

        /** An alarm that starts the service at the next window: exact where allowed. */
        fun scheduleStart(context: Context, at: Instant) {
            val alarms = context.getSystemService(AlarmManager::class.java) ?: return
            val intent = PendingIntent.getBroadcast(
                context, 0, Intent(context, WindowAlarmReceiver::class.java),
                PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
            )
            if (Build.VERSION.SDK_INT < Build.VERSION_CODES.S || alarms.canScheduleExactAlarms()) {
                alarms.setExactAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, at.toEpochMilli(), intent)
            } else {
                alarms.setAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, at.toEpochMilli(), intent)
            }
        }
    }
}
