package app.faceid.app.core

import android.os.Build
import app.faceid.core.DeviceDescription
import app.faceid.core.DeviceKey
import app.faceid.core.DevicePlatform
import app.faceid.core.FaceIdClient
import app.faceid.core.FaceIdException
import app.faceid.core.SecureStore
import app.faceid.core.SyncTaskHandle
import java.io.File

/**
 * The one FaceIdClient of the app process, for the server address in the settings, and its
 * background sync task. Created on first use; replaced when the address changes.
 */
class CoreHolder(
    private val settings: AppSettings,
    private val stateDir: File,
    /** The Keystore-backed store the core keeps its tokens in (the kiosk credential too). */
    val store: SecureStore,
    private val appVersion: String,
    /** The Keystore key pair every login and refresh proves this device with. */
    private val deviceKey: DeviceKey? = null,
) {
    private var client: FaceIdClient? = null
    private var clientUrl: String? = null
    private var sync: SyncTaskHandle? = null

    /** The client for the configured server, or null before an address was entered. */
    @Synchronized
    fun client(): FaceIdClient? {
        val url = settings.serverUrl ?: return null
        if (client != null && clientUrl == url) return client
        close()
        val device = DeviceDescription(settings.deviceId, "${Build.MANUFACTURER} ${Build.MODEL}", DevicePlatform.ANDROID, appVersion)
        client = FaceIdClient(url, stateDir.path, device, store, deviceKey)
        clientUrl = url
        return client
    }

    /**
     * Starts the background sync with [listener] (states posted to the main thread); false when
     * nobody is logged in (the core refuses a sync without a session).
     */
    @Synchronized
    fun startSync(listener: MainThreadSyncListener, periodS: UInt = 300u): Boolean {
        val c = client() ?: return false
        sync?.close()
        sync = null
        sync = try {
            c.startSync(listener, periodS)
        } catch (e: FaceIdException.SessionExpired) {
            return false
        } catch (e: FaceIdException.Unauthorized) {
            return false
        }
        return true
    }

    /** The network came back: queued work is due now and a pass starts. */
    @Synchronized
    fun networkAvailable() {
        val task = sync
        if (task != null) task.networkAvailable() else client?.networkAvailable()
    }

    @Synchronized
    fun close() {
        sync?.close()
        sync = null
        client?.close()
        client = null
        clientUrl = null
    }
}
