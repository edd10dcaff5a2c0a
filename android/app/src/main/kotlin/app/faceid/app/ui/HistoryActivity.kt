package app.faceid.app.ui

import android.os.Bundle
import android.view.View
import android.widget.ArrayAdapter
import android.widget.ListView
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.vm.HistoryViewModel
import kotlinx.coroutines.launch
import java.time.ZoneId
import java.time.format.DateTimeFormatter

/** My attendance: the punches the server holds, with their verdicts. */
class HistoryActivity : BaseActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_history)
        val client = runCatching { app.core.client() }.getOrNull() ?: return finish()
        val vm = HistoryViewModel(client)
        val list = view<ListView>(R.id.list)
        val empty = view<TextView>(R.id.empty)
        val format = DateTimeFormatter.ofPattern("dd.MM HH:mm").withZone(ZoneId.systemDefault())
        vm.state.observe { state ->
            when (state) {
                is HistoryViewModel.State.Loading -> empty.visibility = View.GONE
                is HistoryViewModel.State.Offline -> {
                    empty.visibility = View.VISIBLE
                    empty.setText(R.string.error_network)
                }
                is HistoryViewModel.State.SignedOut -> {
                    startActivity(android.content.Intent(this, LoginActivity::class.java))
                    finish()
                }
                is HistoryViewModel.State.Loaded -> {
                    empty.visibility = if (state.punches.isEmpty()) View.VISIBLE else View.GONE
                    list.adapter = ArrayAdapter(
                        this, android.R.layout.simple_list_item_1,
                        state.punches.map { "${format.format(it.occurredAt)}  ${it.direction}  ${it.status ?: it.verdict}" },
                    )
                }
            }
        }
        scope.launch { vm.load() }
    }
}
