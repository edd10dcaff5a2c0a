package app.faceid.app

import android.app.Application
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import app.faceid.app.core.AppSettings
import app.faceid.app.core.CoreHolder
import app.faceid.app.core.CoreTracking
import app.faceid.app.core.ModelInstaller
import app.faceid.app.core.NetworkMonitor
import app.faceid.app.core.Tracking
import app.faceid.app.security.KeystoreDeviceKey
import app.faceid.app.security.KeystoreSecureStore
import app.faceid.core.DeviceKey
import app.faceid.core.SecureStore

/** The process: settings, the core, the notification channel and the connectivity callback. */
open class FaceIdApplication : Application() {
    lateinit var settings: AppSettings
        private set
    lateinit var core: CoreHolder
        private set

    /** What the location service records through (the core's recorder). */
    var tracking: Tracking = CoreTracking { core.client() }

    /** How the core stores its secrets (the Keystore; replaceable where there is none). */
    open fun secureStore(): SecureStore = KeystoreSecureStore(this)

    /** The key pair this installation proves itself with (the Keystore; replaceable where there is none). */
    open fun deviceKey(): DeviceKey = KeystoreDeviceKey()

    private lateinit var network: NetworkMonitor

    override fun onCreate() {
        super.onCreate()
        settings = AppSettings(this)
        if (settings.serverUrl == null) settings.serverUrl = getString(R.string.default_server_url)
        val version = packageManager.getPackageInfo(packageName, 0).versionName ?: "0"
        core = CoreHolder(settings, filesDir, secureStore(), version, deviceKey())
        createChannels(this)
        network = NetworkMonitor(this) { core.networkAvailable() }
        network.start()
        installModels()
    }

    /** The face models shipped in the APK, into files/models (verified; skipped when there), off the main thread. */
    open fun installModels() {
        Thread({
            val r = ModelInstaller.of(this).install()
            if (r.failed.isNotEmpty()) android.util.Log.e("FaceID", "models not installed: ${r.failed}")
        }, "faceid-models").start()
    }

    companion object {
        const val CHANNEL_TRACKING = "tracking"

        fun createChannels(context: Context) {
            val manager = context.getSystemService(NotificationManager::class.java) ?: return
            val channel = NotificationChannel(
                CHANNEL_TRACKING,
                context.getString(R.string.channel_tracking),
                NotificationManager.IMPORTANCE_LOW,
            ).apply { description = context.getString(R.string.channel_tracking_description) }
            manager.createNotificationChannel(channel)
        }

        fun of(context: Context): FaceIdApplication = context.applicationContext as FaceIdApplication
    }
}
