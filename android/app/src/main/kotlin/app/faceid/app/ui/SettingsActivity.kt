package app.faceid.app.ui

import android.content.Intent
import android.os.Bundle
import android.view.View
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.Spinner
import android.widget.Switch
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.location.LocationService
import kotlinx.coroutines.launch
import java.util.Locale

/** Language, tracking on this device, the server, sign out. */
class SettingsActivity : BaseActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_settings)
        val spinner = view<Spinner>(R.id.language)
        val names = LANGUAGES.map { Locale.forLanguageTag(it).let { l -> l.getDisplayLanguage(l) } }
        spinner.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, names)
        spinner.setSelection(maxOf(0, LANGUAGES.indexOf(app.settings.language ?: Locale.getDefault().language)))
        spinner.onItemSelectedListener = object : AdapterView.OnItemSelectedListener {
            override fun onItemSelected(parent: AdapterView<*>?, view: View?, position: Int, id: Long) {
                val chosen = LANGUAGES[position]
                if (chosen != app.settings.language) {
                    app.settings.language = chosen
                    recreate()
                }
            }

            override fun onNothingSelected(parent: AdapterView<*>?) {}
        }
        val tracking = view<Switch>(R.id.tracking)
        tracking.isChecked = app.settings.trackingEnabled
        tracking.setOnCheckedChangeListener { _, on ->
            app.settings.trackingEnabled = on
            if (on) LocationService.start(this) else stopService(Intent(this, LocationService::class.java))
        }
        view<TextView>(R.id.server).text = app.settings.serverUrl
        view<Button>(R.id.sign_out).setOnClickListener {
            scope.launch {
                runCatching { app.core.client()?.logout() }
                app.settings.trackingEnabled = false
                stopService(Intent(this@SettingsActivity, LocationService::class.java))
                startActivity(Intent(this@SettingsActivity, LoginActivity::class.java))
                finish()
            }
        }
    }
}
