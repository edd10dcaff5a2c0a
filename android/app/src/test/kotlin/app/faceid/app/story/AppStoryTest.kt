package app.faceid.app.story

import app.faceid.app.vm.AdminViewModel
import app.faceid.app.vm.CheckViewModel
import app.faceid.app.vm.ConsentViewModel
import app.faceid.app.vm.EnrolViewModel
import app.faceid.app.vm.HistoryViewModel
import app.faceid.app.vm.KioskViewModel
import app.faceid.app.vm.LocationsViewModel
import app.faceid.app.vm.LoginViewModel
import app.faceid.app.vm.MyDataViewModel
import app.faceid.app.vm.PasswordViewModel
import app.faceid.app.vm.Read
import app.faceid.app.vm.TelegramViewModel
import app.faceid.app.vm.StatusViewModel
import app.faceid.core.ConsentType
import app.faceid.core.DeviceDescription
import app.faceid.core.DevicePlatform
import app.faceid.core.ErasureKind
import app.faceid.core.FaceEngine
import app.faceid.core.FaceIdClient
import app.faceid.core.FixProvider
import app.faceid.core.KioskTerminal
import app.faceid.core.LocationFix
import app.faceid.core.PunchDirection
import app.faceid.core.PunchState
import app.faceid.core.PunchVerdict
import app.faceid.core.ReviewChoice
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import java.net.ServerSocket
import java.nio.file.Files
import java.time.Instant
import java.util.UUID

/**
 * The employee's and the administrator's story through the app's own view-models, against the
 * real library and the real server: login and the forced password change, consents with the server's texts, enrolment from
 * real photos played as camera frames, check-in with a real photo as the camera frame
 * (verified), check-out offline (queued, the indicator counts it, sent once the network is
 * back), history, timesheet and locations, the admin approving the flagged punch and blocking
 * / unblocking the phone, My data (restrictions, export, requests, profile photo), and a kiosk
 * created by the admin identifying the employee 1:N (and not a stranger).
 *
 * It runs in Robolectric's sandbox only because the Android flavour of the bindings reads
 * `Build.VERSION` (to pick its cleaner); nothing of Android is simulated for the story.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], application = app.faceid.app.TestApplication::class)
class AppStoryTest {
    private val siteLat = 55.75
    private val siteLon = 37.61

    private fun fix(lat: Double) = LocationFix(Instant.now(), lat, siteLon, 10.0, null, null, null, false, FixProvider.GPS, 80u)

    @Test
    fun `login, consent, enrol, check in, offline check out, history, admin approval`(): Unit = runBlocking {
        val server = StoryServer.require()
        val engine = FaceEngine.load(StoryServer.modelDir())
        val frame = StoryServer.frame("face_recognition/barack_obama/obama-720p.jpg")
        val photoFrames = listOf("face_recognition/barack_obama/obama.jpg", "face_recognition/barack_obama/obama-480p.jpg")
            .map { StoryServer.frame(it) }

        server.admin("PUT", "/api/v1/settings/attendance-policy",
            """{"liveness_mode":"passive","max_gps_accuracy_m":100.0,"geofence_required":false,"max_offline_delay_s":86400}""", 200)
        server.admin("POST", "/api/v1/consent-texts", """{"kind":"biometric","body":"We keep your face template."}""", 201)
        server.admin("POST", "/api/v1/consent-texts", """{"kind":"location","body":"We record where you punch."}""", 201)
        val suffix = UUID.randomUUID().toString().take(8)
        val site = StoryServer.idOf(server.admin("POST", "/api/v1/sites",
            """{"name":"App site $suffix","time_zone":"Europe/Moscow","geofence":{"type":"circle","latitude":$siteLat,"longitude":$siteLon,"radius_m":150.0}}""", 201))
        val login = "app.$suffix"
        val password = "app-password-$suffix"
        val employeeId = StoryServer.idOf(server.admin("POST", "/api/v1/employees",
            """{"login":"$login","password":"$password","first_name":"Barack","last_name":"App$suffix","role":"user","site_ids":["$site"]}""", 201))

        // The phone: its files directory and Keystore outlive the app's restarts.
        val stateDir = Files.createTempDirectory("faceid-app-story").toString()
        val store = MemoryStore()
        val device = DeviceDescription(UUID.randomUUID().toString(), "Story phone", DevicePlatform.ANDROID, "0.1.0")
        val clients = mutableListOf<FaceIdClient>()
        fun phone(url: String) = FaceIdClient(url, stateDir, device, store).also { clients += it }

        try {
            // Login screen: a typo'd address is refused before any network; then the real login.
            val loginVm = LoginViewModel(::phone)
            assertTrue(loginVm.login("not a url at all", login, password) is LoginViewModel.State.Failed)
            val wrong = loginVm.login(server.url, login, "wrong-password")
            assertEquals("$wrong", LoginViewModel.Problem.WRONG_CREDENTIALS, (wrong as LoginViewModel.State.Failed).problem)
            val loggedIn = loginVm.login(server.url, login, password) as LoginViewModel.State.LoggedIn
            assertEquals(employeeId, loggedIn.user.id)
            val online = clients.last()

            // An administrator chose the password: the app's only screen is the change of it.
            assertTrue("must change the password", loggedIn.user.mustChangePassword)
            val newPassword = "my-own-password-$suffix"
            val change = PasswordViewModel(online)
            assertEquals(PasswordViewModel.Problem.MISMATCH, (change.change(password, newPassword, "typo") as PasswordViewModel.State.Failed).problem)
            assertEquals(PasswordViewModel.Problem.WRONG_CURRENT, (change.change("wrong-password", newPassword, newPassword) as PasswordViewModel.State.Failed).problem)
            assertEquals(PasswordViewModel.State.Changed, change.change(password, newPassword, newPassword))
            assertEquals(false, online.currentUser()?.mustChangePassword)

            // Consents: the server's current texts, both granted (for the version shown); the
            // location one switches tracking on for the device.
            var tracking = false
            val consents = ConsentViewModel(online, mutableMapOf()) { tracking = it }
            val texts = consents.load() as ConsentViewModel.Texts.Loaded
            assertEquals("We keep your face template.", texts.byKind.getValue(ConsentType.BIOMETRIC).body)
            assertEquals("We record where you punch.", texts.byKind.getValue(ConsentType.LOCATION).body)
            assertEquals("nothing granted yet", emptySet<ConsentType>(), consents.state.value.filterValues { it }.keys)
            consents.set(ConsentType.BIOMETRIC, true)
            consents.set(ConsentType.LOCATION, true)
            assertTrue(tracking)
            val status = StatusViewModel(online)
            status.refresh()
            assertEquals("two consents wait in the outbox", 2L, status.state.value.queued)

            // Enrolment from the camera: each photo is a capture's best frame once the live
            // quality checks pass; the sync sends the consents first, then the photos.
            val enrolment = EnrolViewModel(online, engine)
            enrolment.start(2)
            for (photo in photoFrames) {
                val taking = enrolment.onFrame(photo)
                assertTrue("hints: ${taking.hints}", taking.faceFound)
            }
            assertTrue(enrolment.complete)
            assertEquals(EnrolViewModel.State.Enrolled(2), enrolment.enrol())
            // The consents reached the ledger; reloading shows them granted.
            consents.load()
            assertEquals(true, consents.state.value[ConsentType.BIOMETRIC])
            assertEquals(true, consents.state.value[ConsentType.LOCATION])

            // Check-in: the photo plays the camera; local answer, then the server's verdict.
            val checkIn = CheckViewModel(online, engine)
            checkIn.start(PunchDirection.IN, withChallenge = false)
            val capturing = checkIn.onFrame(frame)
            assertTrue("hints: ${capturing.hints}", capturing.ready)
            val queuedIn = checkIn.finish(fix(siteLat + 0.0002))
            assertEquals(true, queuedIn.summary.matchesEnrolled)
            val verdict = checkIn.deliver(queuedIn)
            assertTrue("verdict: $verdict", verdict is CheckViewModel.State.Verdict)
            assertEquals(PunchVerdict.VERIFIED, (verdict as CheckViewModel.State.Verdict).event.verdict)

            // Check-out from home with no network: queued, and the indicator says so.
            val unreachable = ServerSocket(0).use { "http://127.0.0.1:${it.localPort}" }
            online.close()
            val offline = phone(unreachable)
            val checkOut = CheckViewModel(offline, engine)
            checkOut.start(PunchDirection.OUT, withChallenge = true) // falls back: no challenge offline
            assertTrue(checkOut.onFrame(frame).ready)
            val queuedOut = checkOut.finish(fix(55.777))
            assertEquals(true, queuedOut.summary.matchesEnrolled)
            assertEquals("still queued offline", queuedOut, checkOut.deliver(queuedOut))
            val offlineStatus = StatusViewModel(offline)
            offlineStatus.refresh()
            assertEquals(1L, offlineStatus.state.value.queued)
            offline.close()

            // Network back: the connectivity callback's networkAvailable(), then the sync sends it.
            val back = phone(server.url)
            back.networkAvailable()
            back.syncNow()
            val backStatus = StatusViewModel(back)
            backStatus.refresh()
            assertEquals(0L, backStatus.state.value.queued)
            assertTrue(backStatus.state.value.deadLetters.isEmpty())

            // History shows both punches, newest first; the check-out is flagged (outside the site).
            val history = HistoryViewModel(back).load() as HistoryViewModel.State.Loaded
            assertEquals(listOf(PunchDirection.OUT, PunchDirection.IN), history.punches.map { it.direction })
            assertEquals(PunchState.FLAGGED_PENDING, history.punches.first().status)

            // The administrator's app approves it.
            val adminStore = MemoryStore()
            val adminPhone = FaceIdClient(server.url, Files.createTempDirectory("faceid-admin").toString(),
                DeviceDescription(UUID.randomUUID().toString(), "Admin phone", DevicePlatform.ANDROID, "0.1.0"), adminStore).also { clients += it }
            adminPhone.login(server.login, server.password)
            adminPhone.admin().use { console ->
                val admin = AdminViewModel(console)
                assertTrue(employeeId in admin.loadToday(site).totals.pendingReview.map { it.employeeId })
                val flagged = admin.loadFlagged(employeeId).single()
                assertEquals(history.punches.first().id, flagged.id)
                // The evidence photo of the flagged punch: the frame the phone took.
                val photo = admin.evidencePhoto(flagged.id) as AdminViewModel.Photo.Shown
                assertEquals("a JPEG", 0xFF.toByte(), photo.bytes[0])
                assertEquals(ReviewChoice.ACCEPT, admin.approve(flagged.id, "From a client's office").decision)
                assertTrue(admin.flagged.value.isEmpty())
            }
            val after = HistoryViewModel(back).load() as HistoryViewModel.State.Loaded
            assertEquals(PunchState.FLAGGED_ACCEPTED, after.punches.first().status)

            // My timesheet of this month and my locations, as the server has them.
            val sheet = (HistoryViewModel(back).loadTimesheet() as HistoryViewModel.Sheet.Loaded).timesheet
            assertTrue(sheet.month, Regex("""\d{4}-\d{2}""").matches(sheet.month))
            assertTrue("a month of days: ${sheet.days.size}", sheet.days.size in 28..31)
            assertTrue(sheet.days.all { it.date.startsWith(sheet.month) })
            assertTrue("my locations answer", LocationsViewModel(back).load() is LocationsViewModel.State.Loaded)

            // My data: restricting tracking stops the location service (as a withdrawn consent
            // does); with biometrics restricted a face check-in is refused with the server's
            // reason; both lifted. An export downloaded as a ZIP; an erasure and a correction
            // request with their state; no Telegram bot on this server: the section is hidden.
            var trackingRestricted: Boolean? = null
            val exportDir = Files.createTempDirectory("faceid-exports").toFile()
            val myData = MyDataViewModel(back.myData(), exportDir) { trackingRestricted = it }
            assertTrue(myData.load() is Read.Answer)
            assertEquals(false, trackingRestricted)
            assertTrue(myData.restrictTracking(true))
            assertEquals(true, trackingRestricted)
            assertTrue(myData.restrictions.value!!.tracking)
            assertFalse("set by the employee", myData.restrictions.value!!.trackingByAdmin)
            assertTrue(myData.restrictBiometrics(true))
            val restrictedCheck = CheckViewModel(back, engine)
            restrictedCheck.start(PunchDirection.IN, withChallenge = false)
            assertTrue(restrictedCheck.onFrame(frame).ready)
            val refused = restrictedCheck.deliver(restrictedCheck.finish(fix(siteLat)))
            assertTrue("refused: $refused", refused is CheckViewModel.State.Failed && refused.detail.contains("restricted"))
            back.deadLetters().forEach { back.discardDeadLetter(it.idempotencyKey) }
            assertTrue(myData.restrictBiometrics(false))
            assertTrue(myData.restrictTracking(false))
            assertEquals(false, trackingRestricted)

            assertTrue(myData.startExport("en") is MyDataViewModel.Export.Preparing)
            var polls = 0
            while (myData.pollExport() is MyDataViewModel.Export.Preparing && polls++ < 240) delay(250)
            val ready = myData.export.value as MyDataViewModel.Export.Ready
            val zip = ready.file.readBytes()
            assertEquals(ready.bytes, zip.size.toLong())
            assertEquals("a ZIP", "PK", String(zip, 0, 2, Charsets.US_ASCII))
            assertEquals(exportDir, ready.file.parentFile)

            assertTrue(myData.requestErasure(ErasureKind.LOCATIONS, "Moving to another job"))
            assertTrue(myData.requestNameCorrection("last_name", "Obama", "My last name is spelled wrong"))
            myData.load()
            assertEquals(listOf(ErasureKind.LOCATIONS to "pending"), myData.requests.value.erasures.map { it.scope to it.state })
            assertEquals(listOf("last_name" to "pending"), myData.requests.value.corrections.map { it.field to it.state })
            assertEquals(TelegramViewModel.State.Unavailable, TelegramViewModel(back.myData()).load())

            // The profile photo: uploaded, the server's re-encoded JPEG shown, the user's
            // photoUpdatedAt set; removed again.
            assertEquals(null, myData.photo.value)
            assertTrue(myData.setPhoto(StoryServer.photo("face_recognition/barack_obama/obama.jpg").readBytes()))
            assertEquals("the server's JPEG", 0xFF.toByte(), myData.photo.value!![0])
            assertTrue(back.currentUser()!!.photoUpdatedAt != null)
            assertTrue(myData.deletePhoto())
            assertEquals(null, myData.photo.value)
            assertEquals(null, back.currentUser()!!.photoUpdatedAt)

            // The administrator finds the employee and blocks the phone: its next call is
            // refused; unblocked, it works again.
            adminPhone.admin().use { console ->
                val admin = AdminViewModel(console)
                val found = admin.search("App$suffix").single()
                assertEquals(employeeId, found.id)
                val devices = admin.loadDevices(found) as AdminViewModel.Devices.Loaded
                val phone = devices.items.single { it.id == device.id }
                assertEquals("Story phone", phone.name)
                assertTrue(admin.setBlocked(phone, true).blocked)
                assertTrue((admin.devices.value as AdminViewModel.Devices.Loaded).items.single { it.id == device.id }.blocked)
                assertEquals(HistoryViewModel.State.Blocked, HistoryViewModel(back).load())
                assertEquals(false, admin.setBlocked(phone, false).blocked)
                assertTrue(HistoryViewModel(back).load() is HistoryViewModel.State.Loaded)
            }

            // The kiosk at the site entrance, with its own credential: the employee is
            // recognised 1:N on a photo not used for enrolment; a stranger is not.
            val credential = adminPhone.admin().use { AdminViewModel(it).createKiosk("Entrance $suffix", site) }.credential
            assertTrue(credential.startsWith("fidk_"))
            KioskTerminal(server.url, credential).use { terminal ->
                val kiosk = KioskViewModel(terminal, engine)
                kiosk.ready()
                assertTrue(kiosk.onFrame(StoryServer.frame("face_recognition/barack_obama/obama-720p.jpg")))
                assertEquals(KioskViewModel.State.Welcome("Barack App$suffix", employeeId), kiosk.identify())
                kiosk.ready()
                assertTrue(kiosk.onFrame(StoryServer.frame("face_recognition/kit_harington/john1.jpeg")))
                val stranger = kiosk.identify()
                assertTrue("stranger: $stranger", stranger is KioskViewModel.State.Unknown)
                kiosk.close()
            }
        } finally {
            clients.forEach { it.close() }
        }
    }
}
