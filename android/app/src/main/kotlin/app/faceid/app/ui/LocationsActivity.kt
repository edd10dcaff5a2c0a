package app.faceid.app.ui

import android.content.Intent
import android.os.Bundle
import android.view.View
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.ListView
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.vm.LocationsViewModel
import app.faceid.core.RecordedLocation
import kotlinx.coroutines.launch
import java.time.Duration
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.Locale

/** My locations: what the server stored of my position (the last 24 hours or 7 days). */
class LocationsActivity : BaseActivity() {
    private val format = DateTimeFormatter.ofPattern("dd.MM HH:mm").withZone(ZoneId.systemDefault())

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_locations)
        val client = runCatching { app.core.client() }.getOrNull() ?: return finish()
        val vm = LocationsViewModel(client)
        vm.state.observe(::render)
        fun load(period: Duration) = scope.launch { vm.load(period) }
        view<Button>(R.id.day).setOnClickListener { load(LocationsViewModel.DAY) }
        view<Button>(R.id.week).setOnClickListener { load(LocationsViewModel.WEEK) }
        load(LocationsViewModel.DAY)
    }

    /** Shows a state (public for the screen's tests). */
    fun render(state: LocationsViewModel.State) {
        val list = view<ListView>(R.id.list)
        val empty = view<TextView>(R.id.empty)
        when (state) {
            is LocationsViewModel.State.Loading -> empty.visibility = View.GONE
            is LocationsViewModel.State.Offline, is LocationsViewModel.State.Blocked -> {
                empty.visibility = View.VISIBLE
                empty.setText(if (state is LocationsViewModel.State.Blocked) R.string.error_blocked else R.string.error_network)
                list.adapter = null
            }
            is LocationsViewModel.State.SignedOut -> {
                startActivity(Intent(this, LoginActivity::class.java))
                finish()
            }
            is LocationsViewModel.State.Loaded -> {
                empty.visibility = if (state.points.isEmpty()) View.VISIBLE else View.GONE
                empty.setText(R.string.locations_empty)
                list.adapter = ArrayAdapter(this, android.R.layout.simple_list_item_1, state.points.map(::line))
            }
        }
    }

    /** `04.05 09:02  55.75012, 37.61034  ±12 m`, with the mock flag when the platform set it. */
    fun line(p: RecordedLocation): String {
        val base = String.format(Locale.ROOT, "%s  %.5f, %.5f  ±%d m", format.format(p.recordedAt), p.lat, p.lon, p.accuracyM.toInt())
        return if (p.mock) "$base  (${getString(R.string.location_mock)})" else base
    }
}
