package app.faceid.app.ui

import android.Manifest
import android.content.pm.PackageManager
import android.os.Bundle
import android.os.SystemClock
import android.view.TextureView
import android.view.View
import android.widget.Button
import android.widget.ProgressBar
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.camera.FrontCamera
import app.faceid.app.vm.EnrolViewModel
import app.faceid.core.FaceEngine
import kotlinx.coroutines.launch
import java.io.File
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Enrolment from the camera: a few photos, each taken when the core's live quality checks pass
 * (hints say what to fix meanwhile), a pause between photos so they differ; then queued and
 * sent, with the server's answer (enrolled, refused with its reason, or queued offline).
 */
class EnrolActivity : BaseActivity() {
    private var vm: EnrolViewModel? = null
    private var camera: FrontCamera? = null
    private val analysing = AtomicBoolean(false)
    private val sending = AtomicBoolean(false)
    @Volatile private var pauseUntil = 0L

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_enrol)
        view<Button>(R.id.again).setOnClickListener { restart() }
        val client = runCatching { app.core.client() }.getOrNull() ?: return finish()
        val engine = try {
            FaceEngine.load(File(filesDir, "models").path)
        } catch (e: Exception) {
            render(EnrolViewModel.State.Failed(e.message.orEmpty()))
            return
        }
        val model = EnrolViewModel(client, engine).also { vm = it }
        model.state.observe(::render)
        model.start()
        if (checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera()
        } else {
            requestPermissions(arrayOf(Manifest.permission.CAMERA), REQUEST_CAMERA)
        }
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        super.onRequestPermissionsResult(requestCode, permissions, grantResults)
        if (requestCode == REQUEST_CAMERA && grantResults.firstOrNull() == PackageManager.PERMISSION_GRANTED) startCamera()
    }

    private fun startCamera() {
        FrontCamera(this, ::onFrame).also { camera = it }.attach(view<TextureView>(R.id.preview))
    }

    private fun restart() {
        val model = vm ?: return
        sending.set(false)
        model.start()
    }

    /** On the camera thread: one frame at a time through the detector. */
    private fun onFrame(frame: app.faceid.core.CameraFrame) {
        val model = vm ?: return
        // All photos taken: the next frames wait for the answer (or "start again").
        if (sending.get() || model.complete || SystemClock.uptimeMillis() < pauseUntil) return
        if (!analysing.compareAndSet(false, true)) return
        try {
            val before = (model.state.value as? EnrolViewModel.State.Capturing)?.taken ?: return
            val state = runCatching { model.onFrame(frame) }
                .getOrElse { EnrolViewModel.State.Failed(it.message.orEmpty()) }
            if (state is EnrolViewModel.State.Capturing && state.taken > before) pauseUntil = SystemClock.uptimeMillis() + PAUSE_MS
            runOnUiThread {
                model.show(state)
                if (model.complete && sending.compareAndSet(false, true)) {
                    scope.launch {
                        runCatching { model.enrol() }
                            .onFailure { model.show(EnrolViewModel.State.Failed(it.message.orEmpty())) }
                    }
                }
            }
        } finally {
            analysing.set(false)
        }
    }

    /** Shows a state of the enrolment (public for the screen's tests). */
    fun render(state: EnrolViewModel.State) {
        val prompt = view<TextView>(R.id.prompt)
        val hints = view<TextView>(R.id.hints)
        val progress = view<ProgressBar>(R.id.progress)
        val again = view<Button>(R.id.again)
        again.visibility = View.GONE
        when (state) {
            is EnrolViewModel.State.Idle -> prompt.setText(R.string.prompt_look)
            is EnrolViewModel.State.Capturing -> {
                prompt.text = getString(R.string.enrol_progress, minOf(state.taken + 1, state.needed), state.needed)
                progress.max = state.needed
                progress.progress = state.taken
                hints.text = if (state.hints.isEmpty() && state.faceFound) getString(R.string.prompt_done) else Prompts.hints(this, state.hints)
            }
            is EnrolViewModel.State.Sending -> {
                prompt.setText(R.string.enrol_sending)
                hints.text = ""
                progress.progress = progress.max
            }
            is EnrolViewModel.State.Queued -> prompt.setText(R.string.enrol_queued)
            is EnrolViewModel.State.Enrolled -> prompt.text = getString(R.string.enrol_done, state.templates)
            is EnrolViewModel.State.Refused -> {
                prompt.text = getString(R.string.enrol_refused, state.letter.reason)
                again.visibility = View.VISIBLE
            }
            is EnrolViewModel.State.Failed -> {
                prompt.text = getString(R.string.error_other, state.detail)
                again.visibility = View.VISIBLE
            }
        }
    }

    override fun onDestroy() {
        camera?.close()
        vm?.close()
        super.onDestroy()
    }

    companion object {
        private const val REQUEST_CAMERA = 30
        /** Between photos: time to move the head a little, so the photos differ. */
        private const val PAUSE_MS = 1200L
    }
}
