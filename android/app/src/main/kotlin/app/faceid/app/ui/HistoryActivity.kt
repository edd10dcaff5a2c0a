package app.faceid.app.ui

import android.os.Bundle
import android.view.View
import android.widget.ArrayAdapter
import android.widget.ListView
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.vm.HistoryViewModel
import app.faceid.core.TimesheetDay
import kotlinx.coroutines.launch
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.Locale

/** My attendance: this month's timesheet and the punches the server holds, with their verdicts. */
class HistoryActivity : BaseActivity() {
    private val format = DateTimeFormatter.ofPattern("dd.MM HH:mm").withZone(ZoneId.systemDefault())
    private val time = DateTimeFormatter.ofPattern("HH:mm").withZone(ZoneId.systemDefault())

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_history)
        val client = runCatching { app.core.client() }.getOrNull() ?: return finish()
        val vm = HistoryViewModel(client)
        vm.state.observe(::render)
        vm.timesheet.observe(::renderSheet)
        scope.launch {
            vm.load()
            vm.loadTimesheet()
        }
    }

    /** Shows the punches (public for the screen's tests). */
    fun render(state: HistoryViewModel.State) {
        val list = view<ListView>(R.id.list)
        val empty = view<TextView>(R.id.empty)
        when (state) {
            is HistoryViewModel.State.Loading -> empty.visibility = View.GONE
            is HistoryViewModel.State.Offline -> {
                empty.visibility = View.VISIBLE
                empty.setText(R.string.error_network)
            }
            is HistoryViewModel.State.Blocked -> {
                empty.visibility = View.VISIBLE
                empty.setText(R.string.error_blocked)
                list.adapter = null
            }
            is HistoryViewModel.State.SignedOut -> {
                startActivity(android.content.Intent(this, LoginActivity::class.java))
                finish()
            }
            is HistoryViewModel.State.Loaded -> {
                empty.visibility = if (state.punches.isEmpty()) View.VISIBLE else View.GONE
                empty.setText(R.string.history_empty)
                list.adapter = ArrayAdapter(
                    this, android.R.layout.simple_list_item_1,
                    state.punches.map { "${format.format(it.occurredAt)}  ${it.direction}  ${it.status ?: it.verdict}" },
                )
            }
        }
    }

    /** Shows the month (public for the screen's tests). */
    fun renderSheet(sheet: HistoryViewModel.Sheet) {
        val title = view<TextView>(R.id.timesheet_title)
        val summary = view<TextView>(R.id.timesheet_summary)
        val days = view<ListView>(R.id.days)
        when (sheet) {
            is HistoryViewModel.Sheet.Loading -> summary.text = ""
            is HistoryViewModel.Sheet.Unavailable -> {
                title.text = getString(R.string.timesheet, "")
                summary.setText(R.string.error_network)
                days.adapter = null
            }
            is HistoryViewModel.Sheet.Loaded -> {
                val t = sheet.timesheet
                title.text = getString(R.string.timesheet, t.month)
                summary.text = getString(
                    R.string.timesheet_summary, t.daysWorked.toInt(), hours(t.workedMinutes), t.lateCount.toInt(), t.absences.toInt(),
                )
                // Today and the days before it, newest first: upcoming days say nothing yet.
                val shown = t.days.filter { it.status != "upcoming" }.reversed()
                days.adapter = ArrayAdapter(this, android.R.layout.simple_list_item_1, shown.map(::dayLine))
            }
        }
    }

    /** `04.05  late  09:12–18:03  8:51  Я`. */
    fun dayLine(d: TimesheetDay): String {
        val date = d.date.substring(8, 10) + "." + d.date.substring(5, 7)
        val span = listOfNotNull(d.firstIn?.let(time::format), d.lastOut?.let(time::format)).joinToString("–")
        val worked = if (d.workedMinutes > 0) hours(d.workedMinutes) else ""
        return listOf(date, Prompts.dayStatus(this, d.status), span, worked, d.t13Code).filter { it.isNotEmpty() }.joinToString("  ")
    }

    private fun hours(minutes: Long): String = String.format(Locale.ROOT, "%d:%02d", minutes / 60, minutes % 60)
}
