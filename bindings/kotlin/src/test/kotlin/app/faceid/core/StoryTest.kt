package app.faceid.core

import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.nio.file.Files
import java.time.Instant
import java.util.UUID

/**
 * The whole story as the Android app lives it, against the real faceid-server and PostgreSQL
 * the harness started, with the real face models and real photos from ../shared/faces:
 * an administrator sets up a site and an employee; the employee logs in, consents, enrols,
 * checks in through the camera capture (history shows the verified punch), checks out
 * offline (delivered by the next sync, flagged for a mock location); the administrator finds
 * the flagged punch in the app and accepts it, searches the employee and blocks their device.
 */
class StoryTest {
    // The employee's photos: two to enrol, a third one plays the camera at check-in.
    private val enrolPhotos = listOf(
        "face_recognition/barack_obama/obama.jpg",
        "face_recognition/barack_obama/obama_small.jpg",
    )
    private val checkInPhoto = "face_recognition/barack_obama/obama-720p.jpg"

    // The site's geofence: a 150 m circle.
    private val siteLat = 55.75
    private val siteLon = 37.61

    private fun photoBytes(relative: String): ByteArray {
        val file = File(System.getProperty("faceid.faces.dir").orEmpty(), relative)
        assumeTrue(file.isFile) { "SKIPPED: $file is missing (real face photos, ../shared/faces)" }
        return file.readBytes()
    }

    private fun fixAtSite(mock: Boolean = false) = LocationFix(
        recordedAt = Instant.now(),
        lat = siteLat + 0.0002,
        lon = siteLon,
        accuracyM = 10.0,
        speedMs = null,
        bearingDeg = null,
        altitudeM = null,
        mock = mock,
        provider = FixProvider.FUSED,
        batteryPercent = 80u,
    )

    /** Polls a suspend condition, as a screen observing state would. */
    private suspend fun eventually(what: String, condition: suspend () -> Boolean) {
        try {
            withTimeout(20_000) { while (!condition()) delay(100) }
        } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
            throw AssertionError("timed out waiting for: $what", e)
        }
    }

    private class States : SyncStateListener {
        val states = java.util.concurrent.CopyOnWriteArrayList<SyncStatus>()
        override fun onState(state: SyncStatus) {
            states.add(state)
        }
        override fun onProgress(progress: SyncProgressInfo) {}
    }

    @Test
    fun `enrol, check in, offline check out and review, the whole story`(): Unit = runBlocking {
        val server = TestServer.require()
        val engine = FaceTest.engine()
        val photos = enrolPhotos.map(::photoBytes)
        val frame = FaceTest.photoFrame(checkInPhoto)

        // --- The administrator's setup (web admin; plain HTTP). Phones here send no head
        // movement frames, so liveness is passive for this story.
        val web = AdminHttp(server)
        web.send(
            "PUT", "/api/v1/settings/attendance-policy",
            """{"liveness_mode":"passive","max_gps_accuracy_m":100.0,"geofence_required":true,"max_offline_delay_s":86400}""",
            200,
        )
        web.send("POST", "/api/v1/consent-texts", """{"kind":"biometric","body":"We keep your face template."}""", 201)
        val suffix = UUID.randomUUID().toString().take(8)
        val site = idOf(
            web.send(
                "POST", "/api/v1/sites",
                """{"name":"Story site $suffix","time_zone":"Europe/Moscow",
                   "geofence":{"type":"circle","latitude":$siteLat,"longitude":$siteLon,"radius_m":150.0}}""",
                201,
            ),
        )
        val login = "story.$suffix"
        val password = "story-password-$suffix"
        val lastName = "Story$suffix"
        val employeeId = idOf(
            web.send(
                "POST", "/api/v1/employees",
                """{"login":"$login","password":"$password","first_name":"Barack","last_name":"$lastName",
                   "role":"user","site_ids":["$site"]}""",
                201,
            ),
        )

        // --- The employee's phone.
        val store = MapSecureStore()
        val stateDir = Files.createTempDirectory("faceid-story").toString()
        val device = testDevice()
        FaceIdClient(server.url, stateDir, device, store).use { client ->
            val me = client.login(login, password)
            assertEquals(employeeId, me.id)
            assertEquals(listOf(site), me.siteIds)

            // Consent first, then the enrolment photos; both wait in the outbox (offline-safe)
            // and the sync sends consent before the enrolment.
            client.grantConsent(ConsentType.BIOMETRIC)
            assertThrows<FaceIdException.InvalidInput> { client.queueEnrolment(emptyList()) }
            val enrolKey = client.queueEnrolment(photos)
            assertEquals(7, UUID.fromString(enrolKey).version())
            assertEquals(1uL, client.outboxStatus().enrolment)
            val report = client.syncNow()
            assertEquals(SyncStatus.Idle, report.outcome, "sync: $report, dead letters ${client.deadLetters()}")
            assertEquals(2uL, report.progress.sent)
            assertTrue(client.deadLetters().isEmpty(), "refused: ${client.deadLetters()}")
            assertEquals(2u, client.refreshDescriptors(), "both photos became templates")

            // Check in through the camera capture; the background sync delivers the punch.
            val key = client.startCapture(engine, false).use { capture ->
                val feedback = capture.pushFrame(frame)
                assertTrue(feedback.ready, "hints: ${feedback.hints}")
                val summary = capture.finish()
                assertEquals(true, summary.matchesEnrolled, "on-device 1:1 against the cached templates: $summary")
                client.sealPunch(capture, PunchDirection.IN, fixAtSite())
            }
            val states = States()
            client.startSync(states, 3600u).use {
                eventually("the punch is sent") { client.outboxStatus().punch == 0uL }
            }
            eventually("the sync task stopped") { SyncStatus.Stopped in states.states }

            val history = client.attendanceHistory(null, null)
            val punch = history.single { it.kind == EventType.IN }
            assertEquals(PunchVerdict.VERIFIED, punch.verdict, "reasons: ${punch.reasons}")
            assertEquals(PunchState.VERIFIED, punch.status)
            assertEquals(PunchDirection.IN, punch.direction)
            assertEquals(site, punch.siteId)
            assertTrue(punch.hasPhoto)
            assertNotNull(punch.faceDistance)

            // An employee is not an administrator: the admin functions are refused, typed.
            client.admin().use { console ->
                assertThrows<FaceIdException.Unauthorized> { runBlocking { console.flaggedPunches(null, null, null, 50u, 0u) } }
            }
            assertThrows<FaceIdException.InvalidInput> {
                runBlocking { client.attendanceHistory(Instant.now(), Instant.now().minusSeconds(60)) }
            }
        }

        // --- Checking out with no network: the same phone (state directory and Keystore),
        // the server unreachable. The capture and the punch work offline; the sync says so.
        FaceIdClient("http://127.0.0.1:9", stateDir, device, store).use { offline ->
            assertTrue(offline.isLoggedIn(), "the session is restored from the SecureStore")
            offline.startCapture(engine, false).use { capture ->
                assertTrue(capture.pushFrame(frame).ready)
                assertEquals(true, capture.finish().matchesEnrolled, "cached templates work offline")
                // A GPS simulator is on: the server will flag the punch.
                offline.sealPunch(capture, PunchDirection.OUT, fixAtSite(mock = true))
            }
            val report = offline.syncNow()
            assertTrue(report.outcome is SyncStatus.Offline, "outcome ${report.outcome}")
            assertEquals(1uL, offline.outboxStatus().punch, "the punch waits in the outbox")
        }
        // Back online: the next sync delivers it.
        val flaggedId = FaceIdClient(server.url, stateDir, device, store).use { client ->
            val report = client.syncNow()
            assertEquals(1uL, report.progress.sent)
            assertEquals(0uL, client.outboxStatus().punch)
            val out = client.attendanceHistory(null, null).single { it.kind == EventType.OUT }
            assertEquals(PunchVerdict.FLAGGED, out.verdict)
            assertTrue("mock_location" in out.reasons, "reasons: ${out.reasons}")
            assertEquals(PunchState.FLAGGED_PENDING, out.status)
            out.id
        }

        // --- The administrator, in the app.
        newClient(server.url, MapSecureStore()).use { adminApp ->
            adminApp.login(server.login, server.password)
            adminApp.admin().use { console ->
                val flagged = console.flaggedPunches(null, null, employeeId, 50u, 0u)
                assertEquals(1uL, flagged.total)
                val pending = flagged.items.single()
                assertEquals(flaggedId, pending.id)
                assertEquals(PunchState.FLAGGED_PENDING, pending.status)

                val review = console.reviewPunch(pending.id, ReviewChoice.ACCEPT, "GPS simulator left on; seen on camera")
                assertEquals(EventType.REVIEW, review.kind)
                assertEquals(ReviewChoice.ACCEPT, review.decision)
                assertEquals(pending.id, review.refersTo)
                assertEquals(
                    PunchState.FLAGGED_ACCEPTED,
                    console.flaggedPunches(null, null, employeeId, 50u, 0u).items.single().status,
                )
                // Reviewed once: a second decision is refused with the server's code.
                val again = assertThrows<FaceIdException.InvalidInput> {
                    runBlocking { console.reviewPunch(review.id, ReviewChoice.REJECT, null) }
                }
                assertTrue(again.reason.contains("not_flagged"), again.reason)

                val found = console.employees(EmployeeSearch(text = lastName), 50u, 0u)
                assertEquals(1uL, found.total)
                assertEquals(employeeId, found.items.single().id)
                assertEquals(EmploymentStatus.ACTIVE, found.items.single().status)
                assertEquals(0uL, console.employees(EmployeeSearch(text = "nobody-$suffix"), 50u, 0u).total)
                assertThrows<FaceIdException.InvalidInput> {
                    runBlocking { console.employees(EmployeeSearch(), 0u, 0u) }
                }

                val today = console.today(null, site)
                assertTrue(today.totals.employees >= 1uL, "today: $today")

                // The employee's phone is blocked, then unblocked.
                val phone = console.devices(null, employeeId, 50u, 0u).items.single()
                assertEquals(device.id, phone.id)
                assertEquals(DeviceType.PERSONAL, phone.kind)
                assertTrue(console.blockDevice(phone.id).blocked)
                FaceIdClient(server.url, stateDir, device, store).use { blocked ->
                    val e = assertThrows<FaceIdException.Unauthorized> {
                        runBlocking { blocked.attendanceHistory(null, null) }
                    }
                    assertTrue(e.reason.contains("device_blocked"), e.reason)
                }
                assertFalse(console.unblockDevice(phone.id).blocked)
                assertThrows<FaceIdException.InvalidInput> { runBlocking { console.blockDevice("not-a-uuid") } }
            }
        }
    }
}
