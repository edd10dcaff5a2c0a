package app.faceid.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.CopyOnWriteArrayList

/** Kotlin implementations of the foreign traits, called by Rust (no server needed). */
class ForeignTest {
    @Test
    fun `an exception thrown by the Kotlin store comes back as Storage`() {
        val store = MapSecureStore().apply { failWith = FaceIdException.Storage("keystore is locked") }
        val e = assertThrows<FaceIdException.Storage> { newClient("http://127.0.0.1:9", store) }
        assertTrue(e.reason.contains("keystore is locked"), e.reason)
    }

    @Test
    fun `tracing records reach a Kotlin logger sink`() {
        val lines = CopyOnWriteArrayList<LogRecord>()
        installLogger(object : LoggerSink {
            override fun log(record: LogRecord) {
                lines.add(record)
            }
        }, LogLevel.DEBUG)
        // An unreadable stored session is logged by the core and ignored.
        val store = MapSecureStore().apply { map["session"] = "not json".toByteArray() }
        newClient("http://127.0.0.1:9", store).use { }
        val warning = lines.first { it.message.contains("stored session unreadable") }
        assertEquals(LogLevel.WARN, warning.level)
        assertEquals("faceid_client::session", warning.target)
    }
}
