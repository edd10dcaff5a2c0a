package app.faceid.app.core

import android.os.Handler
import android.os.Looper
import app.faceid.core.SyncProgressInfo
import app.faceid.core.SyncStateListener
import app.faceid.core.SyncStatus

/**
 * The core calls its sync listener on a background thread; the UI may only be touched on the
 * main thread, so every callback is posted there.
 */
class MainThreadSyncListener(
    private val onState: (SyncStatus) -> Unit,
    private val onProgress: (SyncProgressInfo) -> Unit = {},
    private val handler: Handler = Handler(Looper.getMainLooper()),
) : SyncStateListener {
    override fun onState(state: SyncStatus) {
        handler.post { onState.invoke(state) }
    }

    override fun onProgress(progress: SyncProgressInfo) {
        handler.post { onProgress.invoke(progress) }
    }
}
