package app.faceid.app.ui

import android.content.Intent
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.os.Bundle
import android.view.View
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.ImageView
import android.widget.Spinner
import android.widget.Switch
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.core.ExportProvider
import app.faceid.app.location.LocationService
import app.faceid.app.vm.MyDataViewModel
import app.faceid.core.ErasureKind
import app.faceid.core.RestrictionInfo
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import java.io.ByteArrayOutputStream
import java.time.Instant
import java.time.LocalDateTime
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.util.Locale

/**
 * My data: the profile photo (choose / remove), restricting biometrics or tracking (with the state shown), downloading everything
 * the server holds (shared as a ZIP), and erasure and correction requests with their state.
 */
class MyDataActivity : BaseActivity() {
    private var vm: MyDataViewModel? = null
    private var rendering = false

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_my_data)
        view<Spinner>(R.id.erasure_scope).adapter = ArrayAdapter(
            this, android.R.layout.simple_spinner_dropdown_item,
            ERASURE_SCOPES.map { getString(scopeName(it)) },
        )
        view<Spinner>(R.id.correction_kind).adapter = ArrayAdapter(
            this, android.R.layout.simple_spinner_dropdown_item,
            listOf(R.string.correction_missing_in, R.string.correction_missing_out, R.string.correction_first_name, R.string.correction_last_name).map(::getString),
        )
        val client = runCatching { app.core.client() }.getOrNull() ?: return
        val model = MyDataViewModel(client.myData(), ExportProvider.exportDir(this)) { restricted ->
            app.settings.trackingRestricted = restricted
            if (restricted) stopService(Intent(this, LocationService::class.java))
            else if (app.settings.trackingEnabled) LocationService.start(this)
        }.also { vm = it }
        model.restrictions.observe { r -> if (r != null) renderRestrictions(r) }
        model.requests.observe { renderRequests(it) }
        model.export.observe { renderExport(it) }
        model.problem.observe { view<TextView>(R.id.problem).text = it.orEmpty() }
        model.photo.observe(::renderPhoto)
        view<Button>(R.id.photo_choose).setOnClickListener {
            startActivityForResult(Intent(Intent.ACTION_GET_CONTENT).setType("image/*"), REQUEST_PHOTO)
        }
        view<Button>(R.id.photo_remove).setOnClickListener { scope.launch { model.deletePhoto() } }
        view<Switch>(R.id.restrict_biometrics).setOnCheckedChangeListener { _, on -> if (!rendering) scope.launch { model.restrictBiometrics(on) } }
        view<Switch>(R.id.restrict_tracking).setOnCheckedChangeListener { _, on -> if (!rendering) scope.launch { model.restrictTracking(on) } }
        view<Button>(R.id.export_start).setOnClickListener {
            scope.launch {
                model.startExport(app.settings.language ?: Locale.getDefault().language)
                while (model.export.value is MyDataViewModel.Export.Preparing) {
                    delay(EXPORT_POLL_MS)
                    model.pollExport()
                }
            }
        }
        view<Button>(R.id.erasure_request).setOnClickListener {
            val chosen = ERASURE_SCOPES[view<Spinner>(R.id.erasure_scope).selectedItemPosition]
            scope.launch { model.requestErasure(chosen, null) }
        }
        view<Button>(R.id.correction_request).setOnClickListener { requestCorrection(model) }
        scope.launch { model.load() }
    }

    private fun requestCorrection(model: MyDataViewModel) {
        val kind = view<Spinner>(R.id.correction_kind).selectedItemPosition
        val value = view<EditText>(R.id.correction_value).text.toString().trim()
        val comment = view<EditText>(R.id.correction_comment).text.toString()
        scope.launch {
            when (kind) {
                0, 1 -> {
                    val at = parseLocal(value) ?: return@launch run { model.problem.value = getString(R.string.correction_bad_time) }
                    model.requestPunchCorrection(null, if (kind == 0) "in" else "out", at, comment)
                }
                else -> model.requestNameCorrection(if (kind == 2) "first_name" else "last_name", value, comment)
            }
        }
    }

    @Deprecated("Deprecated in Java")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        @Suppress("DEPRECATION")
        super.onActivityResult(requestCode, resultCode, data)
        val uri = data?.data
        val model = vm
        if (requestCode != REQUEST_PHOTO || resultCode != RESULT_OK || uri == null || model == null) return
        // Any image the phone can decode (HEIC too), sent as a JPEG of at most 1024 px.
        val jpeg = runCatching {
            val decoded = contentResolver.openInputStream(uri)!!.use { BitmapFactory.decodeStream(it) }!!
            val scale = minOf(1f, 1024f / maxOf(decoded.width, decoded.height))
            val sized = Bitmap.createScaledBitmap(decoded, maxOf(1, (decoded.width * scale).toInt()), maxOf(1, (decoded.height * scale).toInt()), true)
            ByteArrayOutputStream().also { sized.compress(Bitmap.CompressFormat.JPEG, 90, it) }.toByteArray()
        }.getOrNull() ?: return run { model.problem.value = getString(R.string.photo_unreadable) }
        scope.launch { model.setPhoto(jpeg) }
    }

    /** Shows the profile photo, or none. */
    fun renderPhoto(jpeg: ByteArray?) {
        val bitmap = jpeg?.let { BitmapFactory.decodeByteArray(it, 0, it.size) }
        view<ImageView>(R.id.photo).setImageBitmap(bitmap)
        view<View>(R.id.photo_remove).visibility = if (jpeg != null) View.VISIBLE else View.GONE
    }

    /** Shows the restrictions in force (tests and screenshots call it with sample data). */
    fun renderRestrictions(r: RestrictionInfo) {
        rendering = true
        view<Switch>(R.id.restrict_biometrics).isChecked = r.biometrics
        view<Switch>(R.id.restrict_tracking).isChecked = r.tracking
        rendering = false
        val lines = mutableListOf<String>()
        if (r.biometrics) lines += getString(if (r.biometricsByAdmin) R.string.restricted_by_admin else R.string.restricted_by_you, getString(R.string.restrict_biometrics), day(r.biometricsSince))
        if (r.tracking) lines += getString(if (r.trackingByAdmin) R.string.restricted_by_admin else R.string.restricted_by_you, getString(R.string.restrict_tracking), day(r.trackingSince))
        view<TextView>(R.id.restriction_state).text = if (lines.isEmpty()) getString(R.string.restricted_none) else lines.joinToString("\n")
    }

    fun renderRequests(requests: MyDataViewModel.Requests) {
        val lines = requests.erasures.map { e ->
            val kept = e.kept.joinToString("") { "\n  " + getString(R.string.erasure_kept, it.what, it.count, it.why) }
            val refused = e.refusalReason?.let { "\n  $it" }.orEmpty()
            getString(R.string.erasure_line, getString(scopeName(e.scope)), day(e.requestedAt), state(e.state)) + refused + kept
        } + requests.corrections.map { c ->
            val what = c.field?.let { "$it → ${c.value.orEmpty()}" } ?: "${c.punchKind.orEmpty()} ${c.at?.let(::time).orEmpty()}"
            getString(R.string.correction_line, what, day(c.createdAt), state(c.state)) + (c.decisionComment?.let { "\n  $it" }.orEmpty())
        }
        view<TextView>(R.id.requests).text = if (lines.isEmpty()) getString(R.string.requests_none) else lines.joinToString("\n")
    }

    fun renderExport(export: MyDataViewModel.Export) {
        val share = view<Button>(R.id.export_share)
        share.visibility = if (export is MyDataViewModel.Export.Ready) View.VISIBLE else View.GONE
        view<TextView>(R.id.export_state).text = when (export) {
            is MyDataViewModel.Export.None -> ""
            is MyDataViewModel.Export.Preparing -> getString(R.string.export_preparing)
            is MyDataViewModel.Export.Ready -> getString(R.string.export_ready, export.file.name, export.bytes / 1024)
            is MyDataViewModel.Export.Failed -> getString(R.string.error_other, export.detail)
        }
        if (export is MyDataViewModel.Export.Ready) share.setOnClickListener {
            val send = Intent(Intent.ACTION_SEND).setType("application/zip")
                .putExtra(Intent.EXTRA_STREAM, ExportProvider.uri(this, export.file))
                .addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
            startActivity(Intent.createChooser(send, getString(R.string.export_share)))
        }
    }

    private fun state(s: String): String = when (s) {
        "pending" -> getString(R.string.request_pending)
        "approved" -> getString(R.string.request_approved)
        "done" -> getString(R.string.request_done)
        "refused", "rejected" -> getString(R.string.request_refused)
        "accepted" -> getString(R.string.request_accepted)
        else -> s
    }

    private fun day(t: Instant?): String = t?.atZone(ZoneId.systemDefault())?.toLocalDate()?.toString().orEmpty()

    private fun time(t: Instant): String = t.atZone(ZoneId.systemDefault()).format(TIME)

    companion object {
        private const val EXPORT_POLL_MS = 3000L
        private const val REQUEST_PHOTO = 30
        private val TIME: DateTimeFormatter = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")
        val ERASURE_SCOPES = listOf(ErasureKind.BIOMETRICS, ErasureKind.LOCATIONS, ErasureKind.PHOTOS, ErasureKind.EVERYTHING)

        fun scopeName(k: ErasureKind): Int = when (k) {
            ErasureKind.BIOMETRICS -> R.string.erasure_biometrics
            ErasureKind.LOCATIONS -> R.string.erasure_locations
            ErasureKind.PHOTOS -> R.string.erasure_photos
            ErasureKind.EVERYTHING -> R.string.erasure_everything
        }

        /** `yyyy-MM-dd HH:mm` in the phone's zone, or null. */
        fun parseLocal(text: String): Instant? =
            runCatching { LocalDateTime.parse(text.trim(), TIME).atZone(ZoneId.systemDefault()).toInstant() }.getOrNull()
    }
}
