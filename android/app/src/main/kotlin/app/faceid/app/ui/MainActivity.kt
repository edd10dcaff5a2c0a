package app.faceid.app.ui

import android.app.AlertDialog
import android.content.Intent
import android.text.InputType
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.core.KioskCredential
import app.faceid.app.core.KioskPin
import app.faceid.app.location.LocationService
import app.faceid.core.PunchDirection
import app.faceid.core.UserRole
import kotlinx.coroutines.launch

/** Home: check in / out, the other screens, and the dead letters explained. */
class MainActivity : BaseActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        view<Button>(R.id.check_in).setOnClickListener { startActivity(CheckActivity.intent(this, PunchDirection.IN)) }
        view<Button>(R.id.check_out).setOnClickListener { startActivity(CheckActivity.intent(this, PunchDirection.OUT)) }
        view<Button>(R.id.history).setOnClickListener { startActivity(Intent(this, HistoryActivity::class.java)) }
        view<Button>(R.id.locations).setOnClickListener { startActivity(Intent(this, LocationsActivity::class.java)) }
        view<Button>(R.id.enrol).setOnClickListener { startActivity(Intent(this, EnrolActivity::class.java)) }
        view<Button>(R.id.consents).setOnClickListener { startActivity(Intent(this, ConsentActivity::class.java)) }
        view<Button>(R.id.my_data).setOnClickListener { startActivity(Intent(this, MyDataActivity::class.java)) }
        view<Button>(R.id.settings).setOnClickListener { startActivity(Intent(this, SettingsActivity::class.java)) }
        view<Button>(R.id.admin).setOnClickListener { startActivity(Intent(this, AdminActivity::class.java)) }
        view<Button>(R.id.kiosk).setOnClickListener { enterKiosk() }
    }

    /** The operator enters the kiosk's credential (kept from last time) and chooses the exit PIN. */
    private fun enterKiosk() {
        val stored = KioskCredential(app.core.store)
        val credential = EditText(this).apply {
            inputType = InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_PASSWORD
            hint = getString(R.string.kiosk_credential)
            setText(stored.get().orEmpty())
        }
        val pin = EditText(this).apply {
            inputType = InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_VARIATION_PASSWORD
            hint = getString(R.string.kiosk_pin)
        }
        val form = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            addView(credential)
            addView(pin)
        }
        AlertDialog.Builder(this).setView(form).setPositiveButton(android.R.string.ok) { _, _ ->
            if (pin.text.length >= 4 && credential.text.isNotBlank()) {
                stored.set(credential.text.toString())
                KioskPin(this).set(pin.text.toString())
                startActivity(Intent(this, KioskActivity::class.java))
            }
        }.setNegativeButton(android.R.string.cancel, null).show()
    }

    override fun onResume() {
        super.onResume()
        val client = runCatching { app.core.client() }.getOrNull()
        scope.launch {
            val user = runCatching { client?.currentUser() }.getOrNull()
            if (user == null) {
                startActivity(Intent(this@MainActivity, LoginActivity::class.java))
                return@launch
            }
            if (user.mustChangePassword) {
                // An administrator chose this password: nothing else until it is changed.
                startActivity(Intent(this@MainActivity, PasswordActivity::class.java))
                return@launch
            }
            view<TextView>(R.id.greeting).text = "${user.firstName} ${user.lastName}"
            val staff = user.role == UserRole.ADMIN || user.role == UserRole.OPERATOR
            view<View>(R.id.admin).visibility = if (staff) View.VISIBLE else View.GONE
            view<View>(R.id.kiosk).visibility = if (staff) View.VISIBLE else View.GONE
            val dead = client?.deadLetters().orEmpty()
            view<TextView>(R.id.dead_letters).text = if (dead.isEmpty()) "" else
                getString(R.string.status_dead_letters, dead.size) + "\n" + dead.joinToString("\n") { "${it.kind}: ${it.reason}" }
            runCatching { client?.myData()?.restrictions() }.getOrNull()?.let { app.settings.trackingRestricted = it.tracking }
            if (app.settings.trackingEnabled && !app.settings.trackingRestricted) LocationService.start(this@MainActivity)
        }
    }
}
