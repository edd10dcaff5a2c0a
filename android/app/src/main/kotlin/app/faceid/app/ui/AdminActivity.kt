package app.faceid.app.ui

import android.os.Bundle
import android.view.View
import android.view.ViewGroup
import android.widget.BaseAdapter
import android.graphics.BitmapFactory
import android.app.AlertDialog
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ImageView
import android.widget.ListView
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.vm.AdminViewModel
import app.faceid.core.AttendanceEvent
import app.faceid.core.KioskSetup
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
        view<Button>(R.id.kiosk_create).setOnClickListener { askKioskName(model) }
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
            val photo = view.requireViewById<ImageView>(R.id.evidence)
            val photoState = view.requireViewById<TextView>(R.id.evidence_state)
            view.requireViewById<Button>(R.id.photo).setOnClickListener {
                scope.launch {
                    val shown = runCatching { model.evidencePhoto(event.id) }.getOrElse { AdminViewModel.Photo.Missing(it.message.orEmpty()) }
                    showPhoto(photo, photoState, shown)
                }
            }
            view.requireViewById<Button>(R.id.approve).setOnClickListener { scope.launch { runCatching { model.approve(event.id) } } }
            view.requireViewById<Button>(R.id.reject).setOnClickListener { scope.launch { runCatching { model.reject(event.id) } } }
            return view
        }
    }

    /** Shows a flagged punch's evidence photo, or why there is none (public for the tests). */
    fun showPhoto(image: ImageView, state: TextView, photo: AdminViewModel.Photo) {
        val bitmap = (photo as? AdminViewModel.Photo.Shown)?.let { BitmapFactory.decodeByteArray(it.bytes, 0, it.bytes.size) }
        image.setImageBitmap(bitmap)
        image.visibility = if (bitmap != null) View.VISIBLE else View.GONE
        state.text = when {
            bitmap != null -> ""
            photo is AdminViewModel.Photo.Missing -> getString(R.string.evidence_missing, photo.detail)
            else -> getString(R.string.evidence_missing, "")
        }
    }

    private fun askKioskName(model: AdminViewModel) {
        val name = EditText(this).apply { hint = getString(R.string.kiosk_name) }
        AlertDialog.Builder(this).setTitle(R.string.kiosk_create).setView(name).setPositiveButton(android.R.string.ok) { _, _ ->
            scope.launch {
                runCatching { model.createKiosk(name.text.toString(), null) }
                    .onSuccess { showKioskCredential(it) }
                    .onFailure { view<TextView>(R.id.count_in).text = getString(R.string.error_other, it.message.orEmpty()) }
            }
        }.setNegativeButton(android.R.string.cancel, null).show()
    }

    /** The new kiosk's credential as a QR code and as text: shown only this once. */
    fun showKioskCredential(setup: KioskSetup): AlertDialog {
        val form = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(32, 16, 32, 0)
            addView(TextView(context).apply { setText(R.string.kiosk_created) })
            addView(ImageView(context).apply {
                id = R.id.kiosk_qr
                setImageBitmap(QrImage.of(setup.credential))
                adjustViewBounds = true
            })
            addView(TextView(context).apply {
                text = setup.credential
                setTextIsSelectable(true)
            })
        }
        return AlertDialog.Builder(this).setTitle(setup.device.name).setView(form)
            .setPositiveButton(android.R.string.ok, null).show()
    }
}
