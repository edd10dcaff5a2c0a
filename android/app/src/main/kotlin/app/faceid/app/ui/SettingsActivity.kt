package app.faceid.app.ui

import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.view.View
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.LinearLayout
import android.widget.Spinner
import android.widget.Switch
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.location.LocationService
import app.faceid.app.vm.TelegramViewModel
import app.faceid.core.TelegramSwitches
import kotlinx.coroutines.launch
import java.util.Locale

/** Language, tracking on this device, the server, sign out. */
class SettingsActivity : BaseActivity() {
    private var switchChanged: (TelegramSwitches) -> Unit = {}
    private var rendering = false

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
        runCatching { app.core.client() }.getOrNull()?.let { client ->
            val telegram = TelegramViewModel(client.myData())
            telegram.state.observe(::renderTelegram)
            view<Button>(R.id.telegram_link).setOnClickListener {
                scope.launch {
                    val url = telegram.startLinking(app.settings.language ?: Locale.getDefault().language) ?: return@launch
                    runCatching { startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(url))) }
                }
            }
            view<Button>(R.id.telegram_unlink).setOnClickListener { scope.launch { telegram.unlink() } }
            switchChanged = { s -> scope.launch { telegram.setSwitches(s) } }
            scope.launch { telegram.load() }
        }
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

    /** Shows the Telegram link (tests and screenshots call it with sample data). */
    fun renderTelegram(state: TelegramViewModel.State) {
        val section = view<View>(R.id.telegram_section)
        if (state !is TelegramViewModel.State.Shown) {
            section.visibility = View.GONE
            return
        }
        section.visibility = View.VISIBLE
        val link = state.link
        val status = when {
            !link.linked -> getString(R.string.telegram_not_linked)
            link.status == "active" -> getString(R.string.telegram_linked, link.telegramUsername?.let { "@$it" }.orEmpty())
            else -> getString(R.string.telegram_broken, link.statusReason ?: link.status.orEmpty())
        }
        view<TextView>(R.id.telegram_state).text = listOfNotNull(status, state.problem).joinToString("\n")
        view<View>(R.id.telegram_link).visibility = if (link.linked && link.status == "active") View.GONE else View.VISIBLE
        view<View>(R.id.telegram_unlink).visibility = if (link.linked) View.VISIBLE else View.GONE
        val box = view<LinearLayout>(R.id.telegram_switches)
        box.removeAllViews()
        val current = link.switches ?: return
        rendering = true
        for ((label, on, set) in switchRows(current)) {
            box.addView(Switch(this).apply {
                setText(label)
                isChecked = on
                setOnCheckedChangeListener { _, value -> if (!rendering) switchChanged(set(value)) }
            })
        }
        rendering = false
    }

    private fun switchRows(s: TelegramSwitches): List<Triple<Int, Boolean, (Boolean) -> TelegramSwitches>> = listOf(
        Triple(R.string.telegram_punches, s.punches) { v -> s.copy(punches = v) },
        Triple(R.string.telegram_flagged, s.flagged) { v -> s.copy(flagged = v) },
        Triple(R.string.telegram_checkout, s.checkout) { v -> s.copy(checkout = v) },
        Triple(R.string.telegram_reviews, s.reviews) { v -> s.copy(reviews = v) },
        Triple(R.string.telegram_late, s.late) { v -> s.copy(late = v) },
        Triple(R.string.telegram_absent, s.absent) { v -> s.copy(absent = v) },
        Triple(R.string.telegram_summary, s.summary) { v -> s.copy(summary = v) },
    )
}
