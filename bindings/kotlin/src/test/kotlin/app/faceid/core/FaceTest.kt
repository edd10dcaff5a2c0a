package app.faceid.core

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.time.Instant
import javax.imageio.ImageIO

/**
 * The camera capture as an app drives it: real photos from ../shared/faces play the camera
 * (converted to the RGBA frames CameraX delivers) through the real models.
 */
class FaceTest {
    companion object {
        private val engine: FaceEngine by lazy { FaceEngine.load(modelDir().path) }

        private fun modelDir(): File {
            val dir = File(System.getProperty("faceid.model.dir").orEmpty())
            assumeTrue(File(dir, "face_detection_yunet_2026may.onnx").isFile) {
                "face models not installed in $dir: run models/fetch.sh --mirror ../shared/models"
            }
            return dir
        }

        /** A photo as an un-mirrored RGBA camera frame. */
        fun photoFrame(relative: String, capturedAtMs: Long = System.currentTimeMillis()): CameraFrame {
            val file = File(System.getProperty("faceid.faces.dir").orEmpty(), relative)
            assumeTrue(file.isFile) { "SKIPPED: $file is missing (real face photos, ../shared/faces)" }
            val img = ImageIO.read(file)
            val bytes = ByteArray(img.width * img.height * 4)
            var i = 0
            for (y in 0 until img.height) {
                for (x in 0 until img.width) {
                    val argb = img.getRGB(x, y)
                    bytes[i++] = (argb shr 16).toByte()
                    bytes[i++] = (argb shr 8).toByte()
                    bytes[i++] = argb.toByte()
                    bytes[i++] = 0xFF.toByte()
                }
            }
            return CameraFrame(
                bytes = bytes,
                width = img.width.toUInt(),
                height = img.height.toUInt(),
                stride = (img.width * 4).toUInt(),
                format = FrameFormat.RGBA8,
                rotationDegrees = 0u,
                capturedAtMs = capturedAtMs.toULong(),
            )
        }

        fun engine(): FaceEngine = engine
        const val FACE = "openface/john_lennon/lennon-2.jpg"
    }

    @Test
    fun `a clear face is ready and finishes with passive liveness`() {
        val frame = photoFrame(FACE)
        FaceCapture.passive(engine).use { capture ->
            assertNull(capture.challenge())
            val feedback = capture.pushFrame(frame)
            assertEquals(1u, feedback.faces)
            assertNotNull(feedback.face)
            assertTrue(feedback.qualityOk, "hints: ${feedback.hints}")
            assertTrue(feedback.ready)
            val summary = capture.finish()
            assertEquals(engine.descriptorModel(), summary.descriptorModel)
            val score = summary.passiveScore!!
            assertTrue(score in 0f..1f, "score $score")
            assertNull(summary.challengePassed)
            // A capture is finished once.
            assertThrows<FaceIdException.InvalidInput> { capture.finish() }
        }
    }

    @Test
    fun `an empty frame asks to look at the camera and cannot finish`() {
        val w = 320
        val h = 240
        val grey = ByteArray(w * h * 4) { if (it % 4 == 3) 0xFF.toByte() else 90 }
        val frame = CameraFrame(grey, w.toUInt(), h.toUInt(), (w * 4).toUInt(), FrameFormat.RGBA8, 0u, 1uL)
        FaceCapture.passive(engine).use { capture ->
            val feedback = capture.pushFrame(frame)
            assertEquals(0u, feedback.faces)
            assertFalse(feedback.ready)
            assertEquals("no_face", feedback.hints.first().code)
            val e = assertThrows<FaceIdException.Face> { capture.finish() }
            assertTrue(e.reason.contains("no_face"), e.reason)
        }
    }

    @Test
    fun `a short buffer and a bad rotation are InvalidInput`() {
        val frame = photoFrame(FACE)
        FaceCapture.passive(engine).use { capture ->
            assertThrows<FaceIdException.InvalidInput> {
                capture.pushFrame(frame.copy(bytes = frame.bytes.copyOf(frame.bytes.size - 1)))
            }
            assertThrows<FaceIdException.InvalidInput> { capture.pushFrame(frame.copy(rotationDegrees = 45u)) }
            // The capture still works after refused frames.
            assertTrue(capture.pushFrame(frame).ready)
        }
    }

    @Test
    fun `a sealed punch waits in the outbox until the next sync`(): Unit = runBlocking {
        val server = TestServer.require()
        newClient(server.url, MapSecureStore()).use { client ->
            client.login(server.login, server.password)
            val capture = client.startCapture(engine, false)
            capture.use {
                assertTrue(it.pushFrame(photoFrame(FACE)).ready)
                it.finish()
                val fix = LocationFix(
                    recordedAt = Instant.now(),
                    lat = 38.5598,
                    lon = 68.7870,
                    accuracyM = 12.0,
                    speedMs = null,
                    bearingDeg = null,
                    altitudeM = null,
                    mock = false,
                    provider = FixProvider.FUSED,
                    batteryPercent = null,
                )
                val key = client.sealPunch(it, PunchDirection.IN, fix)
                assertEquals(7, java.util.UUID.fromString(key).version(), "a UUIDv7 idempotency key")
                assertEquals(1uL, client.outboxStatus().punch)
                // The same capture cannot be sealed twice.
                assertThrows<FaceIdException.InvalidInput> { client.sealPunch(it, PunchDirection.IN, null) }
                assertEquals(1uL, client.outboxStatus().punch)
            }
        }
    }
}
