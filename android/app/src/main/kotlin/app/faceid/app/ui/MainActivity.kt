package app.faceid.app.ui

import android.app.AlertDialog
import android.content.Intent
import android.text.InputType
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import app.faceid.app.R
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
        view<Button>(R.id.consents).setOnClickListener { startActivity(Intent(this, ConsentActivity::class.java)) }
        view<Button>(R.id.settings).setOnClickListener { startActivity(Intent(this, SettingsActivity::class.java)) }
        view<Button>(R.id.admin).setOnClickListener { startActivity(Intent(this, AdminActivity::class.java)) }
        view<Button>(R.id.kiosk).setOnClickListener { enterKiosk() }
    }

    /** The operator chooses the exit PIN, then the kiosk starts. */
    private fun enterKiosk() {
        val pin = EditText(this).apply {
            inputType = InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_VARIATION_PASSWORD
            hint = getString(R.string.kiosk_pin)
        }
        AlertDialog.Builder(this).setView(pin).setPositiveButton(android.R.string.ok) { _, _ ->
            if (pin.text.length >= 4) {
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
            view<TextView>(R.id.greeting).text = "${user.firstName} ${user.lastName}"
            val staff = user.role == UserRole.ADMIN || user.role == UserRole.OPERATOR
            view<View>(R.id.admin).visibility = if (staff) View.VISIBLE else View.GONE
            view<View>(R.id.kiosk).visibility = if (staff) View.VISIBLE else View.GONE
            val dead = client?.deadLetters().orEmpty()
            view<TextView>(R.id.dead_letters).text = if (dead.isEmpty()) "" else
                getString(R.string.status_dead_letters, dead.size) + "\n" + dead.joinToString("\n") { "${it.kind}: ${it.reason}" }
            if (app.settings.trackingEnabled) LocationService.start(this@MainActivity)
        }
    }
}
