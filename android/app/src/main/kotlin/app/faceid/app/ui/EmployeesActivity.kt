package app.faceid.app.ui

import android.os.Bundle
import android.view.View
import android.view.ViewGroup
import android.widget.ArrayAdapter
import android.widget.BaseAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.ListView
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.vm.AdminViewModel
import app.faceid.core.DeviceEntry
import kotlinx.coroutines.launch

/**
 * Employee search over the caller's scope; choosing an employee lists the devices they logged in
 * from, each with block / unblock (administrators; an operator is told only they can).
 */
class EmployeesActivity : BaseActivity() {
    private var vm: AdminViewModel? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_employees)
        val client = runCatching { app.core.client() }.getOrNull() ?: return
        val model = AdminViewModel(client.admin()).also { vm = it }
        val query = view<EditText>(R.id.query)
        view<Button>(R.id.search).setOnClickListener { scope.launch { runCatching { model.search(query.text.toString()) } } }
        model.employees.observe { renderEmployees(model) }
        model.devices.observe(::renderDevices)
    }

    private fun renderEmployees(model: AdminViewModel) {
        val found = model.employees.value
        val list = view<ListView>(R.id.employees)
        view<TextView>(R.id.nobody).visibility = if (found != null && found.isEmpty()) View.VISIBLE else View.GONE
        list.adapter = ArrayAdapter(this, android.R.layout.simple_list_item_1, found.orEmpty().map { "${it.lastName} ${it.firstName} · ${it.login}" })
        list.setOnItemClickListener { _, _, position, _ ->
            val employee = found?.getOrNull(position) ?: return@setOnItemClickListener
            scope.launch { runCatching { model.loadDevices(employee) } }
        }
    }

    /** Shows the chosen employee's devices (public for the screen's tests). */
    fun renderDevices(devices: AdminViewModel.Devices) {
        val title = view<TextView>(R.id.devices_title)
        val list = view<ListView>(R.id.devices)
        when (devices) {
            is AdminViewModel.Devices.None -> {
                title.text = ""
                list.adapter = null
            }
            is AdminViewModel.Devices.AdminsOnly -> {
                title.text = getString(R.string.admin_devices_of, name(devices.employee)) + "\n" + getString(R.string.admin_devices_admins_only)
                list.adapter = null
            }
            is AdminViewModel.Devices.Loaded -> {
                title.text = getString(R.string.admin_devices_of, name(devices.employee)) +
                    if (devices.items.isEmpty()) "\n" + getString(R.string.admin_no_devices) else ""
                list.adapter = DeviceAdapter(devices.items)
            }
        }
    }

    private fun name(e: app.faceid.core.EmployeeEntry) = "${e.firstName} ${e.lastName}"

    private inner class DeviceAdapter(private val items: List<DeviceEntry>) : BaseAdapter() {
        override fun getCount() = items.size
        override fun getItem(position: Int) = items[position]
        override fun getItemId(position: Int) = position.toLong()

        override fun getView(position: Int, convertView: View?, parent: ViewGroup): View {
            val row = convertView ?: layoutInflater.inflate(R.layout.item_device, parent, false)
            val device = items[position]
            val state = if (device.blocked) " · " + getString(R.string.device_blocked) else ""
            row.requireViewById<TextView>(R.id.summary).text = "${device.name} (${device.platform}, ${device.appVersion ?: "?"})$state"
            val toggle = row.requireViewById<Button>(R.id.toggle)
            toggle.setText(if (device.blocked) R.string.unblock else R.string.block)
            toggle.setOnClickListener { scope.launch { runCatching { vm?.setBlocked(device, !device.blocked) } } }
            return row
        }
    }
}
