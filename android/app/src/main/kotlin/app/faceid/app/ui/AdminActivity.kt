package app.faceid.app.ui

import android.os.Bundle
import android.view.View
import android.view.ViewGroup
import android.widget.BaseAdapter
import android.widget.Button
import android.widget.ListView
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.vm.AdminViewModel
import app.faceid.core.AttendanceEvent
import kotlinx.coroutines.launch

/** Today (in / late / absent / flagged), the flagged punches to approve or reject, and the way to the employees. */
class AdminActivity : BaseActivity() {
    private var vm: AdminViewModel? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_admin)
        view<Button>(R.id.employees).setOnClickListener { startActivity(android.content.Intent(this, EmployeesActivity::class.java)) }
        val client = runCatching { app.core.client() }.getOrNull() ?: return
        val model = AdminViewModel(client.admin()).also { vm = it }
        model.today.observe { t ->
            val totals = t?.totals
            view<TextView>(R.id.count_in).text = getString(R.string.admin_in, totals?.inNow?.size ?: 0)
            view<TextView>(R.id.count_late).text = getString(R.string.admin_late, totals?.late?.size ?: 0)
            view<TextView>(R.id.count_absent).text = getString(R.string.admin_absent, totals?.missing?.size ?: 0)
            view<TextView>(R.id.count_flagged).text = getString(R.string.admin_flagged, totals?.pendingReview?.size ?: 0)
        }
        val list = view<ListView>(R.id.flagged)
        model.flagged.observe { items -> list.adapter = FlaggedAdapter(items, model) }
        scope.launch {
            runCatching { model.loadToday() }
            runCatching { model.loadFlagged() }
        }
    }

    private inner class FlaggedAdapter(private val items: List<AttendanceEvent>, private val model: AdminViewModel) : BaseAdapter() {
        override fun getCount() = items.size
        override fun getItem(position: Int) = items[position]
        override fun getItemId(position: Int) = position.toLong()

        override fun getView(position: Int, convertView: View?, parent: ViewGroup): View {
            val view = convertView ?: layoutInflater.inflate(R.layout.item_flagged, parent, false)
            val event = items[position]
            view.requireViewById<TextView>(R.id.summary).text =
                "${event.occurredAt} ${event.direction} ${event.reasons.joinToString(", ")}"
            view.requireViewById<Button>(R.id.approve).setOnClickListener { scope.launch { runCatching { model.approve(event.id) } } }
            view.requireViewById<Button>(R.id.reject).setOnClickListener { scope.launch { runCatching { model.reject(event.id) } } }
            return view
        }
    }
}
