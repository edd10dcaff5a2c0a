package app.faceid.app.ui

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Color
import android.media.AudioManager
import android.media.ToneGenerator
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.view.TextureView
import android.view.WindowManager
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.camera.FrontCamera
import app.faceid.app.core.KioskCredential
import app.faceid.app.core.KioskPin
import app.faceid.app.vm.KioskViewModel
import app.faceid.core.FaceEngine
import app.faceid.core.KioskTerminal
import kotlinx.coroutines.launch
import java.io.File
import java.util.concurrent.atomic.AtomicBoolean

/**
 * The shared kiosk: full screen in lock task, the front camera, each person identified 1:N by
 * the server (with the kiosk's own credential) and their punch recorded; a green or red screen
 * with distinct tones, back to ready after a few seconds; only the operator's PIN leaves.
 */
class KioskActivity : BaseActivity() {
    private val tones by lazy { ToneGenerator(AudioManager.STREAM_NOTIFICATION, 100) }
    private val main = Handler(Looper.getMainLooper())
    private var camera: FrontCamera? = null
    private var vm: KioskViewModel? = null
    private val busy = AtomicBoolean(false)

    override fun onCreate(savedInstanceState: Bundle?) {
        setTheme(R.style.KioskTheme)
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_kiosk)
        window.addFlags(WindowManager.LayoutParams.FLAG_KEEP_SCREEN_ON)
        startLockTask()
        val pin = KioskPin(this)
        view<Button>(R.id.exit).setOnClickListener {
            val entered = view<EditText>(R.id.pin)
            if (pin.matches(entered.text.toString())) {
                stopLockTask()
                finish()
            } else {
                entered.text.clear()
                show(KioskViewModel.State.Unknown("wrong PIN"))
            }
        }
        val url = app.settings.serverUrl
        val credential = KioskCredential(app.core.store).get()
        val terminal = runCatching { KioskTerminal(url.orEmpty(), credential.orEmpty()) }.getOrNull()
        if (terminal == null) {
            view<TextView>(R.id.kiosk_message).setText(R.string.kiosk_no_credential)
            return
        }
        val engine = runCatching { FaceEngine.load(File(filesDir, "models").path) }.getOrElse {
            view<TextView>(R.id.kiosk_message).text = getString(R.string.error_other, it.message.orEmpty())
            return
        }
        vm = KioskViewModel(terminal, engine).also { it.ready() }
        if (checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            FrontCamera(this, ::onFrame).also { camera = it }.attach(view<TextureView>(R.id.preview))
        }
    }

    /** On the camera thread: frames until the capture has a good one, then the server's answer. */
    private fun onFrame(frame: app.faceid.core.CameraFrame) {
        val model = vm ?: return
        if (!busy.compareAndSet(false, true)) return
        val ready = runCatching { model.onFrame(frame) }.getOrDefault(false)
        if (!ready) {
            busy.set(false)
            return
        }
        runOnUiThread { scope.launch { show(model.identify()) } }
    }

    /**
     * Green with an acknowledgement tone for someone recognised, red with an error tone
     * otherwise; ready again after a pause (public for the screen's tests).
     */
    fun show(result: KioskViewModel.State) {
        val ok = result is KioskViewModel.State.Welcome
        view<android.view.View>(R.id.kiosk_result).setBackgroundColor(getColor(if (ok) R.color.kiosk_ok else R.color.kiosk_denied))
        view<TextView>(R.id.kiosk_message).text = when (result) {
            is KioskViewModel.State.Welcome -> result.name?.let { getString(R.string.kiosk_ok_name, it) } ?: getString(R.string.kiosk_ok)
            is KioskViewModel.State.Failed -> getString(if (result.network) R.string.error_network else R.string.kiosk_denied)
            else -> getString(R.string.kiosk_denied)
        }
        tones.startTone(if (ok) TONE_OK else TONE_DENIED, 400)
        main.removeCallbacksAndMessages(null)
        main.postDelayed({
            view<android.view.View>(R.id.kiosk_result).setBackgroundColor(Color.TRANSPARENT)
            view<TextView>(R.id.kiosk_message).setText(R.string.kiosk_ready)
            vm?.ready()
            busy.set(false)
        }, RESET_MS)
    }

    @Deprecated("Deprecated in Java")
    override fun onBackPressed() {
        // Only the PIN leaves the kiosk.
    }

    override fun onDestroy() {
        main.removeCallbacksAndMessages(null)
        camera?.close()
        vm?.close()
        tones.release()
        super.onDestroy()
    }

    companion object {
        const val TONE_OK = ToneGenerator.TONE_PROP_ACK
        const val TONE_DENIED = ToneGenerator.TONE_SUP_ERROR
        const val RESET_MS = 3000L
    }
}
