package app.faceid.app.core

import android.content.Context
import android.content.SharedPreferences
import java.util.UUID

/**
 * The app's own non-secret settings (tokens live in the core's SecureStore, not here): the
 * server address, whether the employee switched location tracking on (their consent on this
 * device), the device id the server knows this phone by, and the chosen language.
 */
class AppSettings(context: Context) {
    private val prefs: SharedPreferences = context.getSharedPreferences("faceid.settings", Context.MODE_PRIVATE)

    var serverUrl: String?
        get() = prefs.getString(KEY_SERVER, null)
        set(value) = prefs.edit().putString(KEY_SERVER, value).apply()

    /** The employee granted location consent and tracking should run in the policy's windows. */
    var trackingEnabled: Boolean
        get() = prefs.getBoolean(KEY_TRACKING, false)
        set(value) = prefs.edit().putBoolean(KEY_TRACKING, value).apply()

    /**
     * Tracking is restricted on the server (by the employee in My data, or an administrator):
     * the location service does not run, whatever [trackingEnabled] says, until it is lifted.
     */
    var trackingRestricted: Boolean
        get() = prefs.getBoolean(KEY_RESTRICTED, false)
        set(value) = prefs.edit().putBoolean(KEY_RESTRICTED, value).apply()

    /** Asked once whether to exempt the app from battery optimisation. */
    var batteryExemptionAsked: Boolean
        get() = prefs.getBoolean(KEY_BATTERY, false)
        set(value) = prefs.edit().putBoolean(KEY_BATTERY, value).apply()

    var language: String?
        get() = prefs.getString(KEY_LANGUAGE, null)
        set(value) = prefs.edit().putString(KEY_LANGUAGE, value).apply()

    /** Stable per installation: the server's device registry keys on it. */
    val deviceId: String
        @Synchronized get() = prefs.getString(KEY_DEVICE, null) ?: UUID.randomUUID().toString().also {
            prefs.edit().putString(KEY_DEVICE, it).commit()
        }

    private companion object {
        const val KEY_SERVER = "server_url"
        const val KEY_TRACKING = "tracking_enabled"
        const val KEY_RESTRICTED = "tracking_restricted"
        const val KEY_BATTERY = "battery_exemption_asked"
        const val KEY_LANGUAGE = "language"
        const val KEY_DEVICE = "device_id"
    }
}

/** The kiosk's exit PIN, kept as a salted SHA-256 (set by the operator entering kiosk mode). */
class KioskPin(private val context: Context) {
    private val prefs: SharedPreferences get() = context.getSharedPreferences("faceid.settings", Context.MODE_PRIVATE)

    fun set(pin: String) {
        val salt = UUID.randomUUID().toString()
        prefs.edit().putString("kiosk_pin_salt", salt).putString("kiosk_pin_hash", hash(salt, pin)).commit()
    }

    fun isSet(): Boolean = prefs.getString("kiosk_pin_hash", null) != null

    fun matches(pin: String): Boolean {
        val salt = prefs.getString("kiosk_pin_salt", null) ?: return false
        val expected = prefs.getString("kiosk_pin_hash", null) ?: return false
        return java.security.MessageDigest.isEqual(hash(salt, pin).toByteArray(), expected.toByteArray())
    }

    private fun hash(salt: String, pin: String): String =
        java.security.MessageDigest.getInstance("SHA-256").digest((salt + pin).toByteArray())
            .joinToString("") { "%02x".format(it) }
}

/** The kiosk's credential (`fidk_…`, from an administrator), kept in the secure store. */
class KioskCredential(private val store: app.faceid.core.SecureStore) {
    fun set(credential: String) = store.set(KEY, credential.trim().toByteArray(Charsets.UTF_8))

    fun get(): String? = store.get(KEY)?.toString(Charsets.UTF_8)

    private companion object {
        const val KEY = "kiosk_credential"
    }
}
