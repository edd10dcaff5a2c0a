package app.faceid.core

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.first
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
import java.net.ServerSocket
import java.nio.file.Files
import java.time.Instant
import java.util.UUID
import java.util.concurrent.atomic.AtomicInteger

/**
 * The whole story as the Android app lives it, against the real faceid-server and PostgreSQL
 * the harness started, with the real face models and real photos from ../shared/faces:
 * the administrator creates a site and an employee; the employee logs in on their phone,
 * consents, enrols, checks in through the camera capture (history shows the verified punch),
 * checks out with no network from outside the site (delivered by the next sync, flagged);
 * the administrator, in the app, sees them in today's attendance, accepts the flagged punch,
 * finds them by name, and blocks and unblocks their phone.
 */
class StoryTest {
    // The employee's photos: two to enrol, a third one plays the camera: a 1280x720 frame
    // with a ~150 px face, which stays above the server's 80 px minimum in the evidence.
    private val enrolPhotos = listOf(
        "face_recognition/barack_obama/obama.jpg",
        "face_recognition/barack_obama/obama_small.jpg",
    )
    private val cameraPhoto = "face_recognition/barack_obama/obama-720p.jpg"

    // The site: a 150 m circle. Home is ~3 km away.
    private val siteLat = 55.75
    private val siteLon = 37.61
    private val homeLat = 55.777

    private fun photoBytes(relative: String): ByteArray {
        val file = File(System.getProperty("faceid.faces.dir").orEmpty(), relative)
        assumeTrue(file.isFile) { "SKIPPED: $file is missing (real face photos, ../shared/faces)" }
        return file.readBytes()
    }

    private fun fix(lat: Double) = LocationFix(
        recordedAt = Instant.now(),
        lat = lat,
        lon = siteLon,
        accuracyM = 10.0,
        speedMs = null,
        bearingDeg = null,
        altitudeM = null,
        mock = false,
        provider = FixProvider.FUSED,
        batteryPercent = 80u,
    )

    private fun greyFrame(): CameraFrame {
        val w = 640
        val h = 480
        val bytes = ByteArray(w * h * 4) { if (it % 4 == 3) 0xFF.toByte() else 90 }
        return CameraFrame(bytes, w.toUInt(), h.toUInt(), (w * 4).toUInt(), FrameFormat.RGBA8, 0u, System.currentTimeMillis().toULong())
    }

    /** A loopback URL where nothing listens: the phone with no network. */
    private fun unreachableUrl(): String = ServerSocket(0).use { "http://127.0.0.1:${it.localPort}" }

    /**
     * The sync task's states as a Flow, the way a ViewModel observes them: collecting starts
     * the task, and the collector going away (here `first {}`) closes the handle, which stops it.
     */
    private fun FaceIdClient.syncStates(periodS: UInt): Flow<SyncStatus> = callbackFlow {
        val handle = startSync(
            object : SyncStateListener {
                override fun onState(state: SyncStatus) {
                    trySend(state)
                }
                override fun onProgress(progress: SyncProgressInfo) {}
            },
            periodS,
        )
        awaitClose { handle.close() }
    }

    @Test
    fun `enrol, check in, offline check out, review, search and block, the whole story`(): Unit = runBlocking {
        val server = TestServer.require()
        val engine = FaceTest.engine()
        val photos = enrolPhotos.map(::photoBytes)
        val frame = FaceTest.photoFrame(cameraPhoto)

        // --- The administrator's setup (the web admin; plain HTTP). Phones here send no head
        // movement frames, so liveness is passive; a punch outside the site is flagged for
        // review rather than refused.
        val web = AdminHttp(server)
        web.send(
            "PUT", "/api/v1/settings/attendance-policy",
            """{"liveness_mode":"passive","max_gps_accuracy_m":100.0,"geofence_required":false,"max_offline_delay_s":86400}""",
            200,
        )
        web.send("POST", "/api/v1/consent-texts", """{"kind":"biometric","body":"We keep your face template."}""", 201)
        web.send("POST", "/api/v1/consent-texts", """{"kind":"location","body":"We record where you punch."}""", 201)
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
                   "role":"user","site_ids":["$site"],"must_change_password":false}""",
                201,
            ),
        )

        // The administrator's own phone, open for the whole story.
        newClient(server.url, MapSecureStore()).use { adminApp ->
            adminApp.login(server.login, server.password)
            adminApp.admin().use { console ->
                // --- The employee's phone: its state directory and Keystore outlive app restarts.
                val store = MapSecureStore()
                val stateDir = Files.createTempDirectory("faceid-story").toString()
                val device = testDevice()
                FaceIdClient(server.url, stateDir, device, store).use { phone ->
                    val me = phone.login(login, password)
                    assertEquals(employeeId, me.id)
                    assertEquals(UserRole.USER, me.role)
                    assertEquals(listOf(site), me.siteIds)

                    // Consents, then the enrolment photos: all wait in the outbox (offline-safe)
                    // and the sync sends the consents before the enrolment.
                    phone.grantConsent(ConsentType.BIOMETRIC)
                    phone.grantConsent(ConsentType.LOCATION)
                    assertEquals(2uL, phone.outboxStatus().consent)
                    assertThrows<FaceIdException.InvalidInput> { phone.queueEnrolment(emptyList()) }
                    val enrolKey = phone.queueEnrolment(photos)
                    assertEquals(7, UUID.fromString(enrolKey).version(), "a UUIDv7 idempotency key")
                    assertEquals(1uL, phone.outboxStatus().enrolment)
                    val report = phone.syncNow()
                    assertEquals(SyncStatus.Idle, report.outcome, "sync: $report, dead letters ${phone.deadLetters()}")
                    assertEquals(3uL, report.progress.sent)
                    assertTrue(phone.deadLetters().isEmpty(), "refused: ${phone.deadLetters()}")
                    assertEquals(2u, phone.refreshDescriptors(), "both photos became templates")

                    // Check in through the camera capture, then let the background sync deliver it.
                    phone.startCapture(engine, false).use { capture ->
                        // The camera starts before the face is in view.
                        val empty = capture.pushFrame(greyFrame())
                        assertFalse(empty.ready)
                        assertEquals("no_face", empty.hints.first().code)
                        val feedback = capture.pushFrame(frame)
                        assertEquals(1u, feedback.faces)
                        assertTrue(feedback.ready, "hints: ${feedback.hints}")
                        val summary = capture.finish()
                        assertEquals(true, summary.matchesEnrolled, "on-device 1:1 against the cached templates: $summary")
                        phone.sealPunch(capture, PunchDirection.IN, fix(siteLat + 0.0002))
                    }
                    assertEquals(1uL, phone.outboxStatus().punch)
                    withTimeout(30_000) {
                        phone.syncStates(3600u).first { it == SyncStatus.Idle && phone.outboxStatus().punch == 0uL }
                    }

                    val checkIn = phone.attendanceHistory(null, null).single { it.kind == EventType.IN }
                    assertTrue(checkIn.reasons.isEmpty(), "reasons: ${checkIn.reasons}")
                    assertEquals(PunchVerdict.VERIFIED, checkIn.verdict)
                    assertEquals(PunchState.VERIFIED, checkIn.status)
                    assertEquals(PunchDirection.IN, checkIn.direction)
                    assertEquals(site, checkIn.siteId)
                    assertEquals(device.id, checkIn.deviceId)
                    assertTrue(checkIn.hasPhoto)
                    assertNotNull(checkIn.faceDistance)

                    // An employee is not an administrator: the admin functions are refused, typed.
                    phone.admin().use { mine ->
                        assertThrows<FaceIdException.Unauthorized> {
                            runBlocking { mine.flaggedPunches(null, null, null, 50u, 0u) }
                        }
                    }
                }

                // The administrator's app: the employee is in now.
                val inNow = console.today(null, site).totals.inNow.map { it.employeeId }
                assertTrue(employeeId in inNow, "in now: $inNow")

                // --- Checking out from home with no network: the same phone (state directory and
                // Keystore), the server unreachable. Capture and punch work offline; sync says so.
                FaceIdClient(unreachableUrl(), stateDir, device, store).use { offline ->
                    assertTrue(offline.isLoggedIn(), "the session is restored from the SecureStore")
                    offline.startCapture(engine, false).use { capture ->
                        assertTrue(capture.pushFrame(frame).ready)
                        assertEquals(true, capture.finish().matchesEnrolled, "cached templates work offline")
                        offline.sealPunch(capture, PunchDirection.OUT, fix(homeLat))
                    }
                    val report = offline.syncNow()
                    assertTrue(report.outcome is SyncStatus.Offline, "outcome ${report.outcome}")
                    assertEquals(1uL, offline.outboxStatus().punch, "the punch waits in the outbox")
                    assertThrows<FaceIdException.Network> { runBlocking { offline.attendanceHistory(null, null) } }
                }

                // Back online: the next sync delivers it, and the employee's history shows it.
                val expiredCalls = AtomicInteger()
                FaceIdClient(server.url, stateDir, device, store).use { phone ->
                    phone.setSessionExpiredListener(object : SessionExpiredListener {
                        override fun onSessionExpired(employeeId: String) {
                            expiredCalls.incrementAndGet()
                        }
                    })
                    // The offline attempt scheduled a retry (backoff). The app's connectivity
                    // callback reports the network back, so the punch is due at once (unless its
                    // first short backoff already ran out) and the next pass sends it.
                    assertEquals(1uL, phone.outboxStatus().punch)
                    assertTrue(phone.networkAvailable() <= 1uL)
                    val back = phone.syncNow()
                    assertEquals(SyncStatus.Idle, back.outcome, "outcome $back")
                    assertEquals(1uL, back.progress.sent)
                    assertEquals(0uL, phone.outboxStatus().punch)
                    assertTrue(phone.deadLetters().isEmpty(), "refused: ${phone.deadLetters()}")
                    val checkOut = phone.attendanceHistory(null, null).single { it.kind == EventType.OUT }
                    assertEquals(PunchVerdict.FLAGGED, checkOut.verdict)
                    assertTrue("outside_geofence" in checkOut.reasons, "reasons: ${checkOut.reasons}")
                    assertEquals(PunchState.FLAGGED_PENDING, checkOut.status)
                    assertEquals(device.id, checkOut.deviceId)

                    // --- The administrator reviews it in the app.
                    val waiting = console.today(null, site).totals.pendingReview.map { it.employeeId }
                    assertTrue(employeeId in waiting, "pending review: $waiting")
                    val flagged = console.flaggedPunches(null, null, employeeId, 50u, 0u)
                    assertEquals(1uL, flagged.total)
                    val pending = flagged.items.single()
                    assertEquals(checkOut.id, pending.id)
                    assertEquals(PunchState.FLAGGED_PENDING, pending.status)

                    val review = console.reviewPunch(pending.id, ReviewChoice.ACCEPT, "Left from the client's office")
                    assertEquals(EventType.REVIEW, review.kind)
                    assertEquals(ReviewChoice.ACCEPT, review.decision)
                    assertEquals(pending.id, review.refersTo)
                    assertEquals(
                        PunchState.FLAGGED_ACCEPTED,
                        console.flaggedPunches(null, null, employeeId, 50u, 0u).items.single().status,
                    )
                    // Decided once: a second decision is refused with the server's code.
                    val again = assertThrows<FaceIdException.InvalidInput> {
                        runBlocking { console.reviewPunch(review.id, ReviewChoice.REJECT, null) }
                    }
                    assertTrue(again.reason.contains("not_flagged"), again.reason)
                    val after = console.today(null, site).totals
                    assertFalse(employeeId in after.pendingReview.map { it.employeeId }, "still pending: $after")
                    assertFalse(employeeId in after.inNow.map { it.employeeId }, "checked out, still in: $after")
                    // The employee sees the decision.
                    assertEquals(
                        PunchState.FLAGGED_ACCEPTED,
                        phone.attendanceHistory(null, null).single { it.kind == EventType.OUT }.status,
                    )

                    // Employee search by name.
                    val found = console.employees(EmployeeSearch(text = lastName), 50u, 0u)
                    assertEquals(1uL, found.total)
                    val entry = found.items.single()
                    assertEquals(employeeId, entry.id)
                    assertEquals(login, entry.login)
                    assertEquals(EmploymentStatus.ACTIVE, entry.status)
                    assertEquals(0uL, console.employees(EmployeeSearch(text = "nobody-$suffix"), 50u, 0u).total)

                    // The phone is blocked: its next call fails with DeviceBlocked (not a session
                    // loss: the session stays, the login screen would not help). Unblocked, it works.
                    val phoneEntry = console.devices(null, employeeId, 50u, 0u).items.single()
                    assertEquals(device.id, phoneEntry.id)
                    assertEquals(DeviceType.PERSONAL, phoneEntry.kind)
                    assertTrue(console.blockDevice(phoneEntry.id).blocked)
                    assertEquals(listOf(phoneEntry.id), console.devices(true, employeeId, 50u, 0u).items.map { it.id })
                    val blocked = assertThrows<FaceIdException.DeviceBlocked> {
                        runBlocking { phone.attendanceHistory(null, null) }
                    }
                    assertTrue(blocked.reason.contains("device_blocked"), blocked.reason)
                    assertTrue(phone.isLoggedIn())
                    assertEquals(0, expiredCalls.get(), "a blocked device is not an ended session")

                    // A punch made while blocked is not lost: it waits in the outbox (no dead
                    // letter) and goes once the device is unblocked.
                    phone.startCapture(engine, false).use { capture ->
                        assertTrue(capture.pushFrame(frame).ready)
                        capture.finish()
                        phone.sealPunch(capture, PunchDirection.IN, fix(siteLat))
                    }
                    val held = phone.syncNow()
                    assertTrue(held.outcome is SyncStatus.WaitingUntil, "outcome ${held.outcome}")
                    assertTrue(phone.deadLetters().isEmpty(), "dead letters: ${phone.deadLetters()}")
                    assertEquals(1uL, phone.outboxStatus().punch)

                    assertFalse(console.unblockDevice(phoneEntry.id).blocked)
                    withTimeout(30_000) {
                        while (phone.outboxStatus().punch > 0uL) {
                            phone.syncNow()
                            delay(250)
                        }
                    }
                    val punches = phone.attendanceHistory(null, null).filter { it.kind == EventType.IN || it.kind == EventType.OUT }
                    assertEquals(listOf(PunchDirection.IN, PunchDirection.OUT, PunchDirection.IN), punches.map { it.direction })
                    assertThrows<FaceIdException.InvalidInput> { runBlocking { console.blockDevice("not-a-uuid") } }
                }
            }
        }
    }
}
