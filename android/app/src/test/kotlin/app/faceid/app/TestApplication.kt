package app.faceid.app

import app.faceid.app.core.Tracking
import app.faceid.app.security.KeystoreDeviceKey
import app.faceid.app.security.KeystoreSecureStore
import app.faceid.core.DeviceKey
import app.faceid.core.FixDecision
import app.faceid.core.LocationFix
import app.faceid.core.SecureStore
import app.faceid.core.TrackingPolicyInfo
import app.faceid.core.TrackingWindow
import javax.crypto.KeyGenerator

/**
 * The app under Robolectric: Robolectric has no AndroidKeyStore provider, so the secure store
 * seals with a software AES key (same cipher code) and the device key is a software P-256 pair
 * (same signing code); the server address is a loopback port
 * where nothing listens (the phone offline).
 */
class TestApplication : FaceIdApplication() {
    override fun secureStore(): SecureStore = KeystoreSecureStore(
        getSharedPreferences("faceid.secure", MODE_PRIVATE),
    ) { KeyGenerator.getInstance("AES").apply { init(256) }.generateKey() }

    /** The tests' APK has no models (ModelInstallerTest covers the installer). */
    override fun installModels() {}

    override fun deviceKey(): DeviceKey = KeystoreDeviceKey(KeystoreDeviceKey::softwarePair)

    override fun onCreate() {
        getSharedPreferences("faceid.settings", MODE_PRIVATE).edit().putString("server_url", "http://127.0.0.1:9").commit()
        super.onCreate()
    }
}

/**
 * The location service's view of the core in Robolectric tests: a fixed policy and the
 * recorder's answer; the fixes handed over are kept to assert on. (The core's own recorder
 * and policy are tested in Rust and in the JVM story against the real library.)
 */
class RecordingTracking(
    var policy: TrackingPolicyInfo? = weekdays9to18(),
    var answer: FixDecision = FixDecision.Recorded(mock = false, jump = false),
) : Tracking {
    val recorded = mutableListOf<LocationFix>()

    override fun policy(): TrackingPolicyInfo? = policy

    override fun record(fix: LocationFix): FixDecision {
        recorded += fix
        return answer
    }

    companion object {
        /** Monday to Friday, 09:00–18:00 in Moscow, a fix every 60 s. */
        fun weekdays9to18() = TrackingPolicyInfo(
            enabled = true,
            intervalS = 60u,
            maxAccuracyM = 100.0,
            timeZone = "Europe/Moscow",
            windows = (1..5).map { TrackingWindow(it.toUByte(), (9 * 60).toUShort(), (18 * 60).toUShort()) },
        )
    }
}
