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
import app.faceid.app.core.KioskPin
import app.faceid.app.vm.CheckViewModel
import app.faceid.core.FaceEngine
import app.faceid.core.PunchDirection
import app.faceid.core.PunchVerdict
import kotlinx.coroutines.launch
import java.io.File
import java.util.concurrent.atomic.AtomicBoolean

/**
 * The shared kiosk: full screen in lock task, the front camera, each person's punch sent and
 * answered by the server; a green or red screen with distinct tones, back to ready after a few
 * seconds; only the operator's PIN leaves.
 */
class KioskActivity : BaseActivity() {
    private val tones by lazy { ToneGenerator(AudioManager.STREAM_NOTIFICATION, 100) }
    private val main = Handler(Looper.getMainLooper())
    private var camera: FrontCamera? = null
    private var vm: CheckViewModel? = null
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
                showResult(false)
            }
        }
        val client = runCatching { app.core.client() }.getOrNull() ?: return
        val engine = runCatching { FaceEngine.load(File(filesDir, "models").path) }.getOrNull() ?: return
        vm = CheckViewModel(client, engine)
        ready()
        if (checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            val cam = FrontCamera(this, ::onFrame).also { camera = it }
            view<TextureView>(R.id.preview).let { if (it.isAvailable) cam.open(it.surfaceTexture) }
        }
    }

    private fun ready() {
        val model = vm ?: return
        scope.launch { runCatching { model.start(PunchDirection.IN, withChallenge = false) } }
    }

    private fun onFrame(frame: app.faceid.core.CameraFrame) {
        val model = vm ?: return
        if (!busy.compareAndSet(false, true)) return
        val state = runCatching { model.onFrame(frame) }.getOrNull()
        if (state?.ready != true) {
            busy.set(false)
            return
        }
        runOnUiThread {
            val queued = runCatching { model.finish(null) }.getOrNull()
            if (queued == null) {
                showResult(false)
                return@runOnUiThread
            }
            scope.launch {
                val answer = runCatching { model.deliver(queued) }.getOrNull()
                showResult((answer as? CheckViewModel.State.Verdict)?.event?.verdict == PunchVerdict.VERIFIED)
            }
        }
    }

    /** Green with an acknowledgement tone, or red with an error tone; ready again after a pause. */
    fun showResult(ok: Boolean) {
        view<android.view.View>(R.id.kiosk_root).setBackgroundColor(getColor(if (ok) R.color.kiosk_ok else R.color.kiosk_denied))
        view<TextView>(R.id.kiosk_message).setText(if (ok) R.string.kiosk_ok else R.string.kiosk_denied)
        tones.startTone(if (ok) TONE_OK else TONE_DENIED, 400)
        main.postDelayed({
            view<android.view.View>(R.id.kiosk_root).setBackgroundColor(Color.BLACK)
            view<TextView>(R.id.kiosk_message).setText(R.string.kiosk_ready)
            busy.set(false)
            ready()
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
