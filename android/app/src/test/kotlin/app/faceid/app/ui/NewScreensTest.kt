package app.faceid.app.ui

import android.content.Intent
import android.view.View
import android.widget.Button
import android.widget.ListView
import android.widget.ProgressBar
import android.widget.TextView
import app.faceid.app.TestApplication
import app.faceid.app.R
import app.faceid.app.vm.AdminViewModel
import app.faceid.app.vm.ConsentViewModel
import app.faceid.app.vm.EnrolViewModel
import app.faceid.app.vm.HistoryViewModel
import app.faceid.app.vm.LocationsViewModel
import app.faceid.core.ConsentTextInfo
import app.faceid.core.ConsentType
import app.faceid.core.DeadLetterInfo
import app.faceid.core.DeviceEntry
import app.faceid.core.DeviceType
import app.faceid.core.EmployeeEntry
import app.faceid.core.EmploymentStatus
import app.faceid.core.OutboxKind
import app.faceid.core.PlatformKind
import app.faceid.core.QualityHint
import app.faceid.core.RecordedLocation
import app.faceid.core.Timesheet
import app.faceid.core.TimesheetDay
import app.faceid.core.UserRole
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowLooper
import java.time.Instant

/**
 * The screens added for consents with the server's texts, enrolment, my locations, the
 * timesheet and the employee search: each shows its view-model's states in the user's language.
 * The app under test has the real library and a server address where nothing listens, and
 * nobody is logged in: screens that load at start drive their view-model into "signed out".
 */
@RunWith(RobolectricTestRunner::class)
@Config(application = TestApplication::class, sdk = [35])
class NewScreensTest {
    private fun text(activity: android.app.Activity, id: Int) = activity.requireViewById<TextView>(id).text.toString()

    private fun rows(list: ListView): List<String> = (0 until list.adapter.count).map { list.adapter.getItem(it).toString() }

    @Test
    fun `consents show the server's texts and versions, and the built-in summaries when they cannot be loaded`() {
        val consent = Robolectric.buildActivity(ConsentActivity::class.java).setup().get()
        val biometric = ConsentTextInfo(ConsentType.BIOMETRIC, 3u, "We keep a template of your face for 3 years.", Instant.now())
        consent.render(ConsentViewModel.Texts.Loaded(mapOf(ConsentType.BIOMETRIC to biometric)))
        assertEquals(biometric.body, text(consent, R.id.biometric_body))
        assertEquals("Text version 3", text(consent, R.id.biometric_version))
        assertEquals("no location text published: the summary", consent.getString(R.string.consent_location_body), text(consent, R.id.location_body))
        assertEquals(View.GONE, consent.requireViewById<View>(R.id.consent_source).visibility)
        consent.render(ConsentViewModel.Texts.Offline("unreachable"))
        assertEquals(consent.getString(R.string.consent_biometric_body), text(consent, R.id.biometric_body))
        assertEquals("", text(consent, R.id.biometric_version))
        assertEquals(View.VISIBLE, consent.requireViewById<View>(R.id.consent_source).visibility)
    }

    @Test
    @Config(qualifiers = "ru")
    fun `the consent screen loads through its view-model, signed out, the built-in texts stay`() {
        val consent = Robolectric.buildActivity(ConsentActivity::class.java).setup().get()
        ShadowLooper.idleMainLooper()
        assertEquals(consent.getString(R.string.consent_biometric_body), text(consent, R.id.biometric_body))
        assertEquals(View.VISIBLE, consent.requireViewById<View>(R.id.consent_source).visibility)
        assertEquals("Текст с сервера не загружен: показано краткое описание", text(consent, R.id.consent_source))
    }

    @Test
    @Config(qualifiers = "tg")
    fun `enrolment shows the photo count, live hints in the user's language and the server's answer`() {
        val enrol = Robolectric.buildActivity(EnrolActivity::class.java).setup().get()
        enrol.render(EnrolViewModel.State.Capturing(1, 3, listOf(QualityHint("face_too_small", "Move closer")), true))
        assertEquals("Акси 2 аз 3", text(enrol, R.id.prompt))
        assertEquals("Наздиктар оед", text(enrol, R.id.hints))
        val progress = enrol.requireViewById<ProgressBar>(R.id.progress)
        assertEquals(3, progress.max)
        assertEquals(1, progress.progress)
        enrol.render(EnrolViewModel.State.Capturing(2, 3, listOf(QualityHint("some_new_code", "Core's English")), true))
        assertEquals("an unknown code shows the core's text", "Core's English", text(enrol, R.id.hints))
        val letter = DeadLetterInfo("k", OutboxKind.ENROLMENT, Instant.now(), Instant.now(), 1u, 422u, "no_face", "no_face: photo 2 has no face")
        enrol.render(EnrolViewModel.State.Refused(letter))
        assertEquals("Сервер рад кард: no_face: photo 2 has no face", text(enrol, R.id.prompt))
        assertEquals(View.VISIBLE, enrol.requireViewById<Button>(R.id.again).visibility)
        enrol.render(EnrolViewModel.State.Enrolled(3))
        assertEquals("Чеҳраи шумо сабт шуд (аксҳо: 3)", text(enrol, R.id.prompt))
        assertEquals(View.GONE, enrol.requireViewById<Button>(R.id.again).visibility)
    }

    @Test
    fun `my locations lists the points newest first with accuracy and the mock flag`() {
        val screen = Robolectric.buildActivity(LocationsActivity::class.java).setup().get()
        val at = Instant.parse("2026-05-04T06:02:00Z")
        val mock = RecordedLocation("d", at, 55.75012, 37.61034, 12.4, null, null, null, true, false, 80u)
        val real = RecordedLocation("d", at.minusSeconds(60), 55.75, 37.61, 30.0, null, null, null, false, false, null)
        screen.render(LocationsViewModel.State.Loaded(LocationsViewModel.DAY, listOf(mock, real)))
        val list = rows(screen.requireViewById(R.id.list))
        assertEquals(2, list.size)
        assertTrue(list[0], list[0].endsWith("55.75012, 37.61034  ±12 m  (mock location)"))
        assertTrue(list[1], list[1].endsWith("55.75000, 37.61000  ±30 m"))
        assertEquals(View.GONE, screen.requireViewById<View>(R.id.empty).visibility)
        screen.render(LocationsViewModel.State.Loaded(LocationsViewModel.WEEK, emptyList()))
        assertEquals(View.VISIBLE, screen.requireViewById<View>(R.id.empty).visibility)
        assertEquals(screen.getString(R.string.locations_empty), text(screen, R.id.empty))
    }

    @Test
    fun `my locations and history load through their view-models, signed out leads to the login screen`() {
        for (screen in listOf(LocationsActivity::class.java, HistoryActivity::class.java)) {
            val activity = Robolectric.buildActivity(screen).setup().get()
            ShadowLooper.idleMainLooper()
            val next: Intent? = shadowOf(activity).nextStartedActivity
            assertEquals("$screen", LoginActivity::class.java.name, next?.component?.className)
            assertTrue(activity.isFinishing)
        }
    }

    @Test
    @Config(qualifiers = "ru")
    fun `the timesheet shows the month's totals and each day's status in the user's language`() {
        val history = Robolectric.buildActivity(HistoryActivity::class.java).setup().get()
        val day = { date: String, status: String, worked: Long, code: String ->
            TimesheetDay(date, status, code, null, null, worked, 0L, 0L, 0L, null)
        }
        val sheet = Timesheet(
            "2026-05",
            listOf(day("2026-05-04", "late", 468L, "Я"), day("2026-05-05", "absent", 0L, "НН"), day("2026-05-06", "upcoming", 0L, "")),
            1u, 468L, 1u, 12L, 0u, 1u, 0L,
        )
        history.renderSheet(HistoryViewModel.Sheet.Loaded(sheet))
        assertEquals("Табель за 2026-05", text(history, R.id.timesheet_title))
        assertEquals("Отработано дней: 1 · Часов: 7:48 · Опозданий: 1 · Неявок: 1", text(history, R.id.timesheet_summary))
        assertEquals(
            "newest first, upcoming days left out",
            listOf("05.05  неявка  НН", "04.05  опоздание  7:48  Я"),
            rows(history.requireViewById(R.id.days)),
        )
    }

    @Test
    fun `employee devices show block or unblock, and an operator is told only administrators manage them`() {
        val screen = Robolectric.buildActivity(EmployeesActivity::class.java).setup().get()
        val employee = EmployeeEntry("e", "barack", "Barack", "Obama", null, UserRole.USER, null, null, emptyList(), EmploymentStatus.ACTIVE)
        val device = { id: String, blocked: Boolean ->
            DeviceEntry(id, DeviceType.PERSONAL, "Pixel $id", PlatformKind.ANDROID, "0.1.0", blocked, null, "e", null, Instant.now())
        }
        screen.renderDevices(AdminViewModel.Devices.Loaded(employee, listOf(device("1", false), device("2", true))))
        assertEquals("Devices of Barack Obama", text(screen, R.id.devices_title))
        val list = screen.requireViewById<ListView>(R.id.devices)
        val labels = (0 until list.adapter.count).map {
            val row = list.adapter.getView(it, null, list)
            row.requireViewById<TextView>(R.id.summary).text.toString() to row.requireViewById<Button>(R.id.toggle).text.toString()
        }
        assertEquals(listOf("Pixel 1 (ANDROID, 0.1.0)" to "Block", "Pixel 2 (ANDROID, 0.1.0) · blocked" to "Unblock"), labels)
        screen.renderDevices(AdminViewModel.Devices.AdminsOnly(employee))
        assertEquals("Devices of Barack Obama\nOnly administrators manage devices", text(screen, R.id.devices_title))
        assertEquals(null, list.adapter)
    }
}
