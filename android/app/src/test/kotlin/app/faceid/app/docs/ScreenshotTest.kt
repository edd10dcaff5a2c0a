package app.faceid.app.docs

import android.app.Activity
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.widget.ImageView
import app.faceid.app.R
import app.faceid.app.ui.QrImage
import io.nayuki.qrcodegen.QrCode
import android.view.View
import app.faceid.app.TestApplication
import app.faceid.app.ui.ConsentActivity
import app.faceid.app.ui.EnrolActivity
import app.faceid.app.ui.HistoryActivity
import app.faceid.app.ui.KioskActivity
import app.faceid.app.ui.LoginActivity
import app.faceid.app.ui.MainActivity
import app.faceid.app.ui.AdminActivity
import app.faceid.app.ui.MyDataActivity
import app.faceid.app.ui.PasswordActivity
import app.faceid.app.ui.SettingsActivity
import app.faceid.app.vm.MyDataViewModel
import app.faceid.app.vm.TelegramViewModel
import app.faceid.core.CorrectionInfo
import app.faceid.core.DeviceEntry
import app.faceid.core.DeviceType
import app.faceid.core.ErasureInfo
import app.faceid.core.ErasureKind
import app.faceid.core.KioskSetup
import app.faceid.core.PlatformKind
import app.faceid.core.RestrictionInfo
import app.faceid.core.TelegramInfo
import app.faceid.core.TelegramSwitches
import app.faceid.app.vm.ConsentViewModel
import app.faceid.app.vm.EnrolViewModel
import app.faceid.app.vm.HistoryViewModel
import app.faceid.app.vm.KioskViewModel
import app.faceid.core.ConsentTextInfo
import app.faceid.core.ConsentType
import app.faceid.core.QualityHint
import app.faceid.core.Timesheet
import app.faceid.core.TimesheetDay
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import org.robolectric.shadows.ShadowLooper
import java.io.File
import java.time.Instant

/**
 * Screenshots of the main screens, drawn by Robolectric's native graphics (the real Android
 * rendering code, Skia, on the JVM) into PNGs in `faceid.screenshots.dir` (target/screenshots;
 * android/docs/ keeps copies for the README). Each must have drawn something: text and
 * widgets make many distinct colours, a blank or failed rendering has one or two.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(application = TestApplication::class, sdk = [35], qualifiers = "w360dp-h640dp-mdpi")
class ScreenshotTest {
    private val dir = File(System.getProperty("faceid.screenshots.dir") ?: "target/screenshots").apply { mkdirs() }

    private fun <T : Activity> shoot(name: String, screen: Class<T>, prepare: (T) -> Unit = {}) {
        val activity = Robolectric.buildActivity(screen).setup().get()
        ShadowLooper.idleMainLooper()
        prepare(activity)
        draw(name, activity.window.decorView)
    }

    private fun draw(name: String, root: View) {
        root.measure(View.MeasureSpec.makeMeasureSpec(360, View.MeasureSpec.EXACTLY), View.MeasureSpec.makeMeasureSpec(640, View.MeasureSpec.EXACTLY))
        root.layout(0, 0, 360, 640)
        val bitmap = Bitmap.createBitmap(360, 640, Bitmap.Config.ARGB_8888)
        root.draw(Canvas(bitmap))
        val colours = HashSet<Int>()
        for (y in 0 until bitmap.height step 2) for (x in 0 until bitmap.width step 2) colours += bitmap.getPixel(x, y)
        assertTrue("$name drew ${colours.size} colours", colours.size > 8)
        File(dir, "$name.png").outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
    }

    @Test
    fun `main screens`() {
        shoot("login", LoginActivity::class.java)
        shoot("main", MainActivity::class.java)
        shoot("consents", ConsentActivity::class.java) {
            it.render(
                ConsentViewModel.Texts.Loaded(
                    mapOf(
                        ConsentType.BIOMETRIC to ConsentTextInfo(ConsentType.BIOMETRIC, 2u, "ACME keeps a template of your face, not the photo, to confirm that it is you who checks in. You can withdraw at any time; the template is then deleted.", Instant.now()),
                        ConsentType.LOCATION to ConsentTextInfo(ConsentType.LOCATION, 1u, "ACME records your position when you check in and, during working hours only, every few minutes.", Instant.now()),
                    ),
                ),
            )
        }
        shoot("enrol", EnrolActivity::class.java) {
            it.render(EnrolViewModel.State.Capturing(1, 3, listOf(QualityHint("face_too_small", "Move closer")), true))
        }
        shoot("history", HistoryActivity::class.java) {
            val day = { date: String, status: String, firstIn: String?, lastOut: String?, worked: Long, code: String ->
                TimesheetDay(date, status, code, firstIn?.let(Instant::parse), lastOut?.let(Instant::parse), worked, 0L, 0L, 0L, null)
            }
            it.renderSheet(
                HistoryViewModel.Sheet.Loaded(
                    Timesheet(
                        "2026-05",
                        listOf(
                            day("2026-05-04", "present", "2026-05-04T05:58:00Z", "2026-05-04T15:03:00Z", 545L, "Я"),
                            day("2026-05-05", "late", "2026-05-05T06:12:00Z", "2026-05-05T15:01:00Z", 529L, "Я"),
                            day("2026-05-06", "in_progress", "2026-05-06T05:55:00Z", null, 0L, ""),
                        ),
                        2u, 1074L, 1u, 12L, 0u, 0u, 0L,
                    ),
                ),
            )
        }
        shoot("kiosk", KioskActivity::class.java) { it.show(KioskViewModel.State.Welcome("Barack Obama", "e")) }
        shoot("password", PasswordActivity::class.java)
        val since = Instant.parse("2026-12-01T09:00:00Z")
        shoot("mydata", MyDataActivity::class.java) {
            it.renderRestrictions(RestrictionInfo(false, true, null, since, false, false))
            it.renderExport(MyDataViewModel.Export.Ready(java.io.File("faceid-export-0196.zip"), 48_213L))
            it.renderRequests(
                MyDataViewModel.Requests(
                    listOf(ErasureInfo("e", ErasureKind.LOCATIONS, "pending", since, null, null, emptyList())),
                    listOf(CorrectionInfo("c", "punch", null, "in", Instant.parse("2026-11-30T06:02:00Z"), null, null, "I forgot", "accepted", null, since)),
                ),
            )
        }
        shoot("settings", SettingsActivity::class.java) {
            it.renderTelegram(
                TelegramViewModel.State.Shown(
                    TelegramInfo("acme_bot", true, "active", null, "barack", TelegramSwitches(true, true, false, false, false, true, false)),
                ),
            )
        }
        val admin = Robolectric.buildActivity(AdminActivity::class.java).setup().get()
        val kiosk = DeviceEntry("d", DeviceType.KIOSK, "Entrance A", PlatformKind.KIOSK, null, false, null, null, null, Instant.now())
        val dialog = admin.showKioskCredential(KioskSetup(kiosk, "fidk_3q9yJx0W2mZb8dKfT1vNcLs5hRuEaGo7"))
        ShadowLooper.idleMainLooper()
        draw("kiosk-qr", dialog.window!!.decorView)
    }

    @Test
    fun `a new kiosk's credential is drawn as a QR code, module for module, in the dialog`() {
        val credential = "fidk_0123456789abcdefghijklmnopqrstuvwxyz"
        val bitmap = QrImage.of(credential, scale = 4, border = 4)
        val qr = QrCode.encodeText(credential, QrCode.Ecc.MEDIUM)
        assertEquals((qr.size + 8) * 4, bitmap.width)
        for (y in -4 until qr.size + 4) for (x in -4 until qr.size + 4) {
            val expected = if (qr.getModule(x, y)) Color.BLACK else Color.WHITE
            assertEquals("module $x,$y", expected, bitmap.getPixel((x + 4) * 4 + 2, (y + 4) * 4 + 2))
        }
        val screen = Robolectric.buildActivity(AdminActivity::class.java).setup().get()
        val device = DeviceEntry("d", DeviceType.KIOSK, "Entrance", PlatformKind.KIOSK, null, false, null, null, null, Instant.now())
        val dialog = screen.showKioskCredential(KioskSetup(device, credential))
        assertNotNull(dialog.requireViewById<ImageView>(R.id.kiosk_qr).drawable)
    }
}
