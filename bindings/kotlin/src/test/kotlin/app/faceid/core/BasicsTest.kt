package app.faceid.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The library loads through JNA and plain calls, errors and values cross the boundary. */
class BasicsTest {
    @Test
    fun `core version comes from the native library`() {
        assertTrue(coreVersion().matches(Regex("""\d+\.\d+\.\d+.*""")), coreVersion())
    }

    @Test
    fun `server address typed by a person is normalised`() {
        assertEquals("https://faceid.example.com", normalizeServerUrl("  faceid.example.com/ "))
    }

    @Test
    fun `a bad server address is a typed InvalidInput exception with a reason`() {
        val e = assertThrows<FaceIdException.InvalidInput> { normalizeServerUrl("ftp://files") }
        assertTrue(e.reason.contains("https"), e.reason)
    }
}
