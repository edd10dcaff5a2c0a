package app.faceid.app.ui

import android.Manifest
import android.app.Activity
import android.media.ToneGenerator
import android.widget.Button
import android.widget.ProgressBar
import android.widget.TextView
import app.faceid.app.FaceIdApplication
import app.faceid.app.R
import app.faceid.app.RecordingTracking
import app.faceid.app.TestApplication
import app.faceid.app.core.KioskPin
import app.faceid.app.vm.CheckViewModel
import app.faceid.app.vm.KioskViewModel
import app.faceid.core.ChallengeStep
import app.faceid.core.HeadTurn
import app.faceid.core.QualityHint
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowToneGenerator

@RunWith(RobolectricTestRunner::class)
@Config(application = TestApplication::class, sdk = [35])
class ScreensTest {
    private val app: FaceIdApplication get() = RuntimeEnvironment.getApplication() as FaceIdApplication

    private val screens: List<Class<out Activity>> = listOf(
        MainActivity::class.java, LoginActivity::class.java, ConsentActivity::class.java, CheckActivity::class.java,
        HistoryActivity::class.java, SettingsActivity::class.java, AdminActivity::class.java, KioskActivity::class.java,
        EnrolActivity::class.java, LocationsActivity::class.java, EmployeesActivity::class.java,
        PasswordActivity::class.java, MyDataActivity::class.java,
    )

    /** The check-in button's label per language: what a user of that language reads. */
    private val checkIn = mapOf("en" to "Check in", "ru" to "Отметить приход", "tg" to "Қайди омадан")

    /** Every screen is built (created, started, resumed) and shows this language's strings. */
    private fun inflateAll(language: String) {
        for (screen in screens) {
            val activity = Robolectric.buildActivity(screen).setup().get()
            assertNotNull("$screen in $language has a content view", activity.window.decorView.findViewById(android.R.id.content))
            assertEquals("$screen: $language strings", checkIn.getValue(language), activity.getString(R.string.check_in))
        }
        val main = Robolectric.buildActivity(MainActivity::class.java).setup().get()
        assertEquals(checkIn.getValue(language), main.requireViewById<Button>(R.id.check_in).text.toString())
    }

    @Test
    @Config(qualifiers = "en")
    fun `every screen inflates in English`() = inflateAll("en")

    @Test
    @Config(qualifiers = "ru")
    fun `every screen inflates in Russian`() = inflateAll("ru")

    @Test
    @Config(qualifiers = "tg")
    fun `every screen inflates in Tajik`() = inflateAll("tg")

    @Test
    fun `the check screen prompts the challenge from the core's progress`() {
        val activity = Robolectric.buildActivity(CheckActivity::class.java).setup().get()
        activity.render(CheckViewModel.State.Capturing(ChallengeStep.Perform(HeadTurn.TURN_LEFT), 1, 3, listOf(QualityHint("too_dark", "Too dark")), false))
        assertEquals("Turn your head left", activity.requireViewById<TextView>(R.id.prompt).text.toString())
        val progress = activity.requireViewById<ProgressBar>(R.id.challenge_progress)
        assertEquals(3, progress.max)
        assertEquals(1, progress.progress)
        assertEquals("the hint in the app's language", "Too dark: find more light", activity.requireViewById<TextView>(R.id.hints).text.toString())
        activity.render(CheckViewModel.State.Capturing(ChallengeStep.ReturnToCentre(HeadTurn.LOOK_UP), 2, 3, emptyList(), false))
        assertEquals("Look straight again", activity.requireViewById<TextView>(R.id.prompt).text.toString())
        assertEquals(2, progress.progress)
    }

    private fun locked(activity: Activity): Boolean =
        activity.getSystemService(android.app.ActivityManager::class.java)!!.lockTaskModeState != android.app.ActivityManager.LOCK_TASK_MODE_NONE

    @Test
    fun `kiosk runs in lock task, answers with distinct tones and leaves only with the PIN`() {
        KioskPin(app).set("4321")
        ShadowToneGenerator.reset()
        val controller = Robolectric.buildActivity(KioskActivity::class.java).setup()
        val kiosk = controller.get()
        assertTrue("lock task", locked(kiosk))
        assertEquals(
            "without a kiosk credential the operator is told so",
            kiosk.getString(R.string.kiosk_no_credential), kiosk.requireViewById<TextView>(R.id.kiosk_message).text.toString(),
        )
        val result = kiosk.requireViewById<android.view.View>(R.id.kiosk_result)
        fun colour() = (result.background as android.graphics.drawable.ColorDrawable).color
        kiosk.show(KioskViewModel.State.Welcome("Barack Obama", "id"))
        assertEquals("Welcome, Barack Obama", kiosk.requireViewById<TextView>(R.id.kiosk_message).text.toString())
        assertEquals("green over the camera preview", kiosk.getColor(R.color.kiosk_ok), colour())
        org.robolectric.shadows.ShadowLooper.idleMainLooper(KioskActivity.RESET_MS, java.util.concurrent.TimeUnit.MILLISECONDS)
        assertEquals("ready again: the preview shows", android.graphics.Color.TRANSPARENT, colour())
        assertEquals("Look at the camera", kiosk.requireViewById<TextView>(R.id.kiosk_message).text.toString())
        kiosk.show(KioskViewModel.State.Unknown("above_threshold"))
        assertEquals("Not recognised", kiosk.requireViewById<TextView>(R.id.kiosk_message).text.toString())
        assertEquals("red", kiosk.getColor(R.color.kiosk_denied), colour())
        assertEquals(
            listOf(KioskActivity.TONE_OK, KioskActivity.TONE_DENIED),
            ShadowToneGenerator.getPlayedTones().map { it.type() },
        )
        assertTrue(KioskActivity.TONE_OK != KioskActivity.TONE_DENIED && KioskActivity.TONE_OK == ToneGenerator.TONE_PROP_ACK)
        kiosk.requireViewById<android.widget.EditText>(R.id.pin).setText("0000")
        kiosk.requireViewById<Button>(R.id.exit).performClick()
        assertTrue("a wrong PIN does not leave", locked(kiosk))
        assertFalse(kiosk.isFinishing)
        kiosk.requireViewById<android.widget.EditText>(R.id.pin).setText("4321")
        kiosk.requireViewById<Button>(R.id.exit).performClick()
        assertFalse("the PIN leaves lock task", locked(kiosk))
        assertTrue(kiosk.isFinishing)
    }

    @Test
    fun `background location is asked only after foreground location and only when the policy is on`() {
        val tracking = RecordingTracking()
        app.tracking = tracking
        val consent = Robolectric.buildActivity(ConsentActivity::class.java).setup().get()
        consent.askNextPermission()
        assertEquals(
            listOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION),
            shadowOf(consent).lastRequestedPermission.requestedPermissions.toList(),
        )
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
        consent.askNextPermission()
        assertEquals(listOf(Manifest.permission.ACCESS_BACKGROUND_LOCATION), shadowOf(consent).lastRequestedPermission.requestedPermissions.toList())

        // Policy off: nothing more is asked.
        tracking.policy = tracking.policy!!.copy(enabled = false)
        val other = Robolectric.buildActivity(ConsentActivity::class.java).setup().get()
        other.askNextPermission()
        assertEquals(null, shadowOf(other).lastRequestedPermission)
    }
}
