package app.faceid.app.ui

import android.Manifest
import android.content.pm.PackageManager
import android.os.Build
import android.os.Bundle
import android.widget.Button
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.location.LocationService
import app.faceid.app.vm.ConsentViewModel
import app.faceid.app.vm.PermissionPlan
import app.faceid.core.ConsentTextInfo
import app.faceid.core.ConsentType
import kotlinx.coroutines.launch

/**
 * Grant / withdraw the consents, with the server's current texts. Location consent switches tracking on for this device and
 * walks the permission plan (foreground location, then background only when the policy is on).
 */
class ConsentActivity : BaseActivity() {
    private var vm: ConsentViewModel? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_consent)
        val client = runCatching { app.core.client() }.getOrNull() ?: return finish()
        val prefs = getSharedPreferences("faceid.consents", MODE_PRIVATE)
        val granted = ConsentType.entries.associateWith { prefs.getBoolean(it.name, false) }.toMutableMap()
        val model = ConsentViewModel(client, granted) { on ->
            app.settings.trackingEnabled = on
            if (on) askNextPermission() else stopService(android.content.Intent(this, LocationService::class.java))
        }
        vm = model
        bind(model, ConsentType.BIOMETRIC, R.id.biometric_state, R.id.biometric_toggle)
        bind(model, ConsentType.LOCATION, R.id.location_state, R.id.location_toggle)
        model.texts.observe(::render)
        scope.launch { model.load() }
        model.state.observe { map ->
            val edit = prefs.edit()
            map.forEach { (k, v) -> edit.putBoolean(k.name, v) }
            edit.apply()
        }
    }

    private fun bind(model: ConsentViewModel, kind: ConsentType, stateId: Int, buttonId: Int) {
        val label = view<TextView>(stateId)
        val button = view<Button>(buttonId)
        model.state.observe { map ->
            val on = map[kind] == true
            label.setText(if (on) R.string.granted else R.string.not_granted)
            button.setText(if (on) R.string.withdraw else R.string.grant)
            button.setOnClickListener { model.set(kind, !on) }
        }
    }

    /** The server's texts, or the built-in summaries when they cannot be loaded (public for the tests). */
    fun render(texts: ConsentViewModel.Texts) {
        val loaded = (texts as? ConsentViewModel.Texts.Loaded)?.byKind.orEmpty()
        show(loaded[ConsentType.BIOMETRIC], R.id.biometric_body, R.id.biometric_version, R.string.consent_biometric_body)
        show(loaded[ConsentType.LOCATION], R.id.location_body, R.id.location_version, R.string.consent_location_body)
        view<TextView>(R.id.consent_source).visibility =
            if (texts is ConsentViewModel.Texts.Offline) android.view.View.VISIBLE else android.view.View.GONE
    }

    private fun show(text: ConsentTextInfo?, bodyId: Int, versionId: Int, builtIn: Int) {
        view<TextView>(bodyId).text = text?.body ?: getString(builtIn)
        view<TextView>(versionId).text = text?.let { getString(R.string.consent_version, it.version.toInt()) } ?: ""
    }

    /** The next location permission to ask for, if any; tracking starts once it may. */
    fun askNextPermission() {
        val policyOn = runCatching { app.tracking.policy()?.enabled == true }.getOrDefault(false)
        val fine = checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) == PackageManager.PERMISSION_GRANTED
        val background = Build.VERSION.SDK_INT < 29 ||
            checkSelfPermission(Manifest.permission.ACCESS_BACKGROUND_LOCATION) == PackageManager.PERMISSION_GRANTED
        when (PermissionPlan.next(fine, background, policyOn, Build.VERSION.SDK_INT)) {
            PermissionPlan.Ask.FOREGROUND -> requestPermissions(
                arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION), REQUEST_FOREGROUND,
            )
            PermissionPlan.Ask.BACKGROUND -> requestPermissions(arrayOf(Manifest.permission.ACCESS_BACKGROUND_LOCATION), REQUEST_BACKGROUND)
            PermissionPlan.Ask.NOTHING -> if (policyOn) {
                BatteryExemption.askOnce(this, app.settings)
                LocationService.start(this)
            }
        }
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        super.onRequestPermissionsResult(requestCode, permissions, grantResults)
        val granted = grantResults.isNotEmpty() && grantResults.all { it == PackageManager.PERMISSION_GRANTED }
        if (granted && (requestCode == REQUEST_FOREGROUND || requestCode == REQUEST_BACKGROUND)) askNextPermission()
    }

    companion object {
        const val REQUEST_FOREGROUND = 10
        const val REQUEST_BACKGROUND = 11
    }
}
