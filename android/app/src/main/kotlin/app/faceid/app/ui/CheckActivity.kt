package app.faceid.app.ui

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Bundle
import android.os.Looper
import android.view.TextureView
import android.widget.ProgressBar
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.camera.FrontCamera
import app.faceid.app.location.LocationService
import app.faceid.app.vm.CheckViewModel
import app.faceid.core.FaceEngine
import app.faceid.core.LocationFix
import app.faceid.core.PunchDirection
import app.faceid.core.PunchVerdict
import kotlinx.coroutines.launch
import java.io.File
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Check-in / check-out: Camera2 preview, frames to the core's capture, the challenge prompted
 * with its progress, the GPS fix with its accuracy and mock flag; the local answer at once,
 * then the server's verdict or "queued".
 */
class CheckActivity : BaseActivity(), LocationListener {
    private var vm: CheckViewModel? = null
    private var camera: FrontCamera? = null
    private var fix: LocationFix? = null
    private val analysing = AtomicBoolean(false)
    private val finished = AtomicBoolean(false)

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_check)
        val direction = PunchDirection.valueOf(intent.getStringExtra(EXTRA_DIRECTION) ?: PunchDirection.IN.name)
        title = getString(if (direction == PunchDirection.IN) R.string.check_in else R.string.check_out)
        val client = runCatching { app.core.client() }.getOrNull() ?: return finish()
        val engine = try {
            FaceEngine.load(File(filesDir, "models").path)
        } catch (e: Exception) {
            result(getString(R.string.error_other, e.message.orEmpty()))
            return
        }
        scope.launch { runCatching { client.myData().restrictions() }.getOrNull()?.let(::showRestriction) }
        val model = CheckViewModel(client, engine).also { vm = it }
        model.state.observe(::render)
        scope.launch {
            runCatching { model.start(direction, withChallenge = true) }
                .onFailure { result(getString(R.string.error_other, it.message.orEmpty())) }
        }
        val missing = listOf(Manifest.permission.CAMERA, Manifest.permission.ACCESS_FINE_LOCATION)
            .filter { checkSelfPermission(it) != PackageManager.PERMISSION_GRANTED }
        if (missing.isEmpty()) startSensors() else requestPermissions(missing.toTypedArray(), REQUEST_SENSORS)
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        super.onRequestPermissionsResult(requestCode, permissions, grantResults)
        if (requestCode == REQUEST_SENSORS) startSensors()
    }

    @SuppressLint("MissingPermission")
    private fun startSensors() {
        if (checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) == PackageManager.PERMISSION_GRANTED) {
            getSystemService(LocationManager::class.java)?.let { m ->
                if (m.allProviders.contains(LocationManager.GPS_PROVIDER)) {
                    m.requestLocationUpdates(LocationManager.GPS_PROVIDER, 1000L, 0f, this, Looper.getMainLooper())
                }
            }
        }
        if (checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) return
        FrontCamera(this, ::onFrame).also { camera = it }.attach(view<TextureView>(R.id.preview))
    }

    /** On the camera thread: one frame at a time through the detector. */
    private fun onFrame(frame: app.faceid.core.CameraFrame) {
        val model = vm ?: return
        if (finished.get() || !analysing.compareAndSet(false, true)) return
        try {
            val state = runCatching { model.onFrame(frame) }.getOrNull() ?: return
            runOnUiThread {
                model.show(state)
                if (state.ready && finished.compareAndSet(false, true)) complete(model)
            }
        } finally {
            analysing.set(false)
        }
    }

    private fun complete(model: CheckViewModel) {
        val queued = runCatching { model.finish(fix) }.getOrNull() ?: return
        scope.launch { runCatching { model.deliver(queued) } }
    }

    override fun onLocationChanged(location: Location) {
        val f = LocationService.toFix(location, null).also { fix = it }
        view<TextView>(R.id.gps).text =
            if (f.mock) getString(R.string.gps_mock) else getString(R.string.gps_accuracy, f.accuracyM.toInt())
    }

    /** Shows a state of the check (public for the screen's tests). */
    fun render(state: CheckViewModel.State) {
        val prompt = view<TextView>(R.id.prompt)
        val progress = view<ProgressBar>(R.id.challenge_progress)
        when (state) {
            is CheckViewModel.State.Starting -> prompt.setText(R.string.prompt_look)
            is CheckViewModel.State.Capturing -> {
                prompt.setText(Prompts.forStep(state.step))
                progress.max = maxOf(1, state.total)
                progress.progress = state.completed
                view<TextView>(R.id.hints).text = Prompts.hints(this, state.hints)
            }
            is CheckViewModel.State.Answered -> result(local(state.summary))
            is CheckViewModel.State.Queued -> result(local(state.summary) + "\n" + getString(R.string.queued))
            is CheckViewModel.State.Verdict -> result(
                local(state.summary) + "\n" + getString(
                    when (state.event.verdict) {
                        PunchVerdict.VERIFIED -> R.string.verdict_verified
                        PunchVerdict.FLAGGED -> R.string.verdict_flagged
                        PunchVerdict.REJECTED -> R.string.verdict_rejected
                    },
                ),
            )
            is CheckViewModel.State.Failed -> result(getString(R.string.error_other, state.detail))
        }
    }

    /** Face check-in is restricted on the server: says so, since when and by whom, instead of prompting. */
    fun showRestriction(r: app.faceid.core.RestrictionInfo) {
        if (!r.biometrics) return
        val since = r.biometricsSince?.atZone(java.time.ZoneId.systemDefault())?.toLocalDate()?.toString().orEmpty()
        view<TextView>(R.id.prompt).text = getString(R.string.check_restricted)
        result(getString(if (r.biometricsByAdmin) R.string.restricted_by_admin else R.string.restricted_by_you, getString(R.string.restrict_biometrics), since))
    }

    private fun local(summary: app.faceid.core.CaptureSummary): String =
        getString(if (summary.matchesEnrolled == false) R.string.local_no_match else R.string.local_match)

    private fun result(text: String) {
        view<TextView>(R.id.result).text = text
    }

    override fun onDestroy() {
        getSystemService(LocationManager::class.java)?.removeUpdates(this)
        camera?.close()
        vm?.close()
        super.onDestroy()
    }

    companion object {
        private const val EXTRA_DIRECTION = "direction"
        private const val REQUEST_SENSORS = 20

        fun intent(context: Context, direction: PunchDirection): Intent =
            Intent(context, CheckActivity::class.java).putExtra(EXTRA_DIRECTION, direction.name)
    }
}
