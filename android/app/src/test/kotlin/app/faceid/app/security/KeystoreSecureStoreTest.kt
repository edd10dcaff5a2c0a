package app.faceid.app.security

import android.content.Context
import app.faceid.app.TestApplication
import app.faceid.core.FaceIdException
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import javax.crypto.KeyGenerator

@RunWith(RobolectricTestRunner::class)
@Config(application = TestApplication::class, sdk = [35])
class KeystoreSecureStoreTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val prefs = context.getSharedPreferences("test.secure", Context.MODE_PRIVATE)
    private val key = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
    private val store = KeystoreSecureStore(prefs) { key }

    @Test
    fun `values round-trip and are stored sealed`() {
        val token = "refresh-token-secret".toByteArray()
        store.set("refresh", token)
        assertArrayEquals(token, store.get("refresh"))
        val stored = prefs.getString("refresh", null)!!
        assertFalse("no plaintext at rest", String(android.util.Base64.decode(stored, 0)).contains("refresh-token"))
        store.set("refresh", "other".toByteArray())
        assertEquals("other", String(store.get("refresh")!!))
        store.delete("refresh")
        assertNull(store.get("refresh"))
    }

    @Test
    fun `a value moved under another key or sealed by another key does not open`() {
        store.set("a", byteArrayOf(1, 2, 3))
        prefs.edit().putString("b", prefs.getString("a", null)).commit()
        assertThrows(FaceIdException.Storage::class.java) { store.get("b") }
        val otherKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
        assertThrows(FaceIdException.Storage::class.java) { KeystoreSecureStore(prefs) { otherKey }.get("a") }
        prefs.edit().putString("c", "not base64 !!").commit()
        assertThrows(FaceIdException.Storage::class.java) { store.get("c") }
    }
}
