package app.faceid.app.ui

import android.content.Intent
import android.graphics.Bitmap
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.Switch
import android.widget.TextView
import app.faceid.app.R
import app.faceid.app.TestApplication
import app.faceid.app.core.ExportProvider
import app.faceid.app.vm.AdminViewModel
import app.faceid.app.vm.MyDataViewModel
import app.faceid.app.vm.TelegramViewModel
import app.faceid.core.CorrectionInfo
import app.faceid.core.ErasureInfo
import app.faceid.core.ErasureKind
import app.faceid.core.KeptInfo
import app.faceid.core.RestrictionInfo
import app.faceid.core.TelegramInfo
import app.faceid.core.TelegramSwitches
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.io.ByteArrayOutputStream
import java.io.File
import java.time.Instant

/**
 * The screens of issue 19's remainder and issue 23 in the app: the forced password change, My
 * data (restrictions, the export shared through the app's provider, requests), the Telegram
 * link in the settings, the check screen when biometrics are restricted, the evidence photo and
 * the kiosk credential's QR code (drawn in ScreenshotTest's native-graphics sandbox: a second
 * sandbox before the story would load the library's callbacks in another class loader).
 */
@RunWith(RobolectricTestRunner::class)
@Config(application = TestApplication::class, sdk = [35])
class MyDataScreensTest {
    private fun text(activity: android.app.Activity, id: Int) = activity.requireViewById<TextView>(id).text.toString()

    private fun idle() = shadowOf(android.os.Looper.getMainLooper()).idle()

    @Test
    @Config(qualifiers = "ru")
    fun `the password screen refuses different or short new passwords before asking, and back does not go around it`() {
        val screen = Robolectric.buildActivity(PasswordActivity::class.java).setup().get()
        screen.requireViewById<EditText>(R.id.current_password).setText("admin-chose-it")
        screen.requireViewById<EditText>(R.id.new_password).setText("my-own-secret")
        screen.requireViewById<EditText>(R.id.repeat_password).setText("my-own-secreT")
        screen.requireViewById<Button>(R.id.change_password).performClick()
        idle()
        assertEquals("Новые пароли не совпадают", text(screen, R.id.error))
        screen.requireViewById<EditText>(R.id.new_password).setText("short")
        screen.requireViewById<EditText>(R.id.repeat_password).setText("short")
        screen.requireViewById<Button>(R.id.change_password).performClick()
        idle()
        assertEquals("Не короче 8 символов", text(screen, R.id.error))
        @Suppress("DEPRECATION")
        screen.onBackPressed()
        assertFalse("back does not go around the change", screen.isFinishing)
    }

    @Test
    fun `my data shows the photo, who restricted what since when, the requests with what was kept, and the export to share`() {
        val screen = Robolectric.buildActivity(MyDataActivity::class.java).setup().get()
        val since = Instant.parse("2026-12-01T09:00:00Z")
        screen.renderRestrictions(RestrictionInfo(true, true, since, since, true, false))
        assertTrue(screen.requireViewById<Switch>(R.id.restrict_biometrics).isChecked)
        assertTrue(screen.requireViewById<Switch>(R.id.restrict_tracking).isChecked)
        assertEquals(
            "Face check-in: restricted by your administrator since 2026-12-01\nLocation tracking: restricted by you since 2026-12-01",
            text(screen, R.id.restriction_state),
        )
        screen.renderRestrictions(RestrictionInfo(false, false, null, null, false, false))
        assertEquals("Nothing is restricted", text(screen, R.id.restriction_state))

        val png = ByteArrayOutputStream().also { Bitmap.createBitmap(8, 8, Bitmap.Config.ARGB_8888).compress(Bitmap.CompressFormat.PNG, 100, it) }.toByteArray()
        screen.renderPhoto(png)
        assertNotNull(screen.requireViewById<ImageView>(R.id.photo).drawable)
        assertEquals(View.VISIBLE, screen.requireViewById<View>(R.id.photo_remove).visibility)
        screen.renderPhoto(null)
        assertEquals(View.GONE, screen.requireViewById<View>(R.id.photo_remove).visibility)

        val erasure = ErasureInfo("e", ErasureKind.EVERYTHING, "done", since, since, null, listOf(KeptInfo("attendance events", 12, "labour law: 5 years")))
        val correction = CorrectionInfo("c", "field", null, null, null, "last_name", "Obama", "spelled wrong", "pending", null, since)
        screen.renderRequests(MyDataViewModel.Requests(listOf(erasure), listOf(correction)))
        assertEquals(
            "Erasure of Everything allowed, 2026-12-01: done\n  kept: attendance events (12): labour law: 5 years\n" +
                "Correction last_name → Obama, 2026-12-01: waiting",
            text(screen, R.id.requests),
        )

        val share = screen.requireViewById<Button>(R.id.export_share)
        screen.renderExport(MyDataViewModel.Export.Preparing("x"))
        assertEquals(View.GONE, share.visibility)
        assertEquals("Being prepared…", text(screen, R.id.export_state))
        val dir = ExportProvider.exportDir(screen).apply { mkdirs() }
        val zip = File(dir, "faceid-export-x.zip").apply { writeBytes(ByteArray(3 * 1024) { 'P'.code.toByte() }) }
        screen.renderExport(MyDataViewModel.Export.Ready(zip, zip.length()))
        assertEquals("Ready: faceid-export-x.zip (3 KB)", text(screen, R.id.export_state))
        assertEquals(View.VISIBLE, share.visibility)
        share.performClick()
        val chooser = shadowOf(screen).nextStartedActivity
        assertEquals(Intent.ACTION_CHOOSER, chooser.action)
        @Suppress("DEPRECATION")
        val send = chooser.getParcelableExtra<Intent>(Intent.EXTRA_INTENT)!!
        @Suppress("DEPRECATION")
        val uri = send.getParcelableExtra<android.net.Uri>(Intent.EXTRA_STREAM)!!
        assertEquals("content://${screen.packageName}.exports/faceid-export-x.zip", uri.toString())
        assertTrue(send.flags and Intent.FLAG_GRANT_READ_URI_PERMISSION != 0)
        // The app's provider names the file with its size, and nothing outside the exports
        // directory. (Reading through a ParcelFileDescriptor needs --add-opens under Robolectric.)
        val provider = Robolectric.setupContentProvider(ExportProvider::class.java, "${screen.packageName}.exports")
        provider.query(uri, null, null, null, null).use { c ->
            assertTrue(c.moveToFirst())
            assertEquals("faceid-export-x.zip", c.getString(0))
            assertEquals(3L * 1024, c.getLong(1))
        }
        assertEquals("application/zip", provider.getType(uri))
        val outside = runCatching { provider.query(android.net.Uri.parse("content://${screen.packageName}.exports/..%2Fshared_prefs"), null, null, null, null) }
        assertTrue("refused: $outside", outside.exceptionOrNull() is java.io.FileNotFoundException)
    }

    @Test
    @Config(qualifiers = "tg")
    fun `the check screen says face check-in is restricted and by whom`() {
        val screen = Robolectric.buildActivity(CheckActivity::class.java).setup().get()
        screen.showRestriction(RestrictionInfo(true, false, Instant.parse("2026-12-01T09:00:00Z"), null, true, false))
        assertEquals("Қайд бо чеҳра маҳдуд шудааст", text(screen, R.id.prompt))
        assertEquals("Қайд бо чеҳра: аз ҷониби маъмур аз 2026-12-01 маҳдуд шудааст", text(screen, R.id.result))
    }

    @Test
    fun `settings show the Telegram link with its switches, and nothing when the server has no bot`() {
        val screen = Robolectric.buildActivity(SettingsActivity::class.java).setup().get()
        val section = screen.requireViewById<View>(R.id.telegram_section)
        screen.renderTelegram(TelegramViewModel.State.Unavailable)
        assertEquals(View.GONE, section.visibility)
        val switches = TelegramSwitches(punches = true, flagged = true, reviews = false, late = false, absent = false, checkout = true, summary = false)
        screen.renderTelegram(TelegramViewModel.State.Shown(TelegramInfo("acme_bot", true, "active", null, "ann", switches)))
        assertEquals(View.VISIBLE, section.visibility)
        assertEquals("Linked @ann", text(screen, R.id.telegram_state))
        assertEquals(View.GONE, screen.requireViewById<View>(R.id.telegram_link).visibility)
        assertEquals(View.VISIBLE, screen.requireViewById<View>(R.id.telegram_unlink).visibility)
        val box = screen.requireViewById<LinearLayout>(R.id.telegram_switches)
        assertEquals(7, box.childCount)
        val punches = box.getChildAt(0) as Switch
        assertEquals("Receipts of my punches", punches.text.toString())
        assertTrue(punches.isChecked)
        assertFalse((box.getChildAt(6) as Switch).isChecked)
        screen.renderTelegram(TelegramViewModel.State.Shown(TelegramInfo("acme_bot", false, null, null, null, null)))
        assertEquals("Not linked", text(screen, R.id.telegram_state))
        assertEquals(View.VISIBLE, screen.requireViewById<View>(R.id.telegram_link).visibility)
        assertEquals(View.GONE, screen.requireViewById<View>(R.id.telegram_unlink).visibility)
        assertEquals(0, box.childCount)
    }

    @Test
    fun `a flagged punch shows its evidence photo, or why there is none`() {
        val screen = Robolectric.buildActivity(AdminActivity::class.java).setup().get()
        val image = ImageView(screen)
        val state = TextView(screen)
        val png = ByteArrayOutputStream().also { Bitmap.createBitmap(40, 30, Bitmap.Config.ARGB_8888).compress(Bitmap.CompressFormat.PNG, 100, it) }.toByteArray()
        screen.showPhoto(image, state, AdminViewModel.Photo.Shown(png))
        assertEquals(View.VISIBLE, image.visibility)
        assertEquals("", state.text.toString())
        screen.showPhoto(image, state, AdminViewModel.Photo.Missing("photo_erased: the evidence photo was erased"))
        assertEquals(View.GONE, image.visibility)
        assertEquals("No photo photo_erased: the evidence photo was erased", state.text.toString())
    }
}
