package app.faceid.app.security

import app.faceid.app.TestApplication
import app.faceid.core.DeviceKeyException
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import java.security.KeyFactory
import java.security.ProviderException
import java.security.Signature
import java.security.spec.X509EncodedKeySpec

@RunWith(RobolectricTestRunner::class)
@Config(application = TestApplication::class, sdk = [35])
class KeystoreDeviceKeyTest {
    private val key = KeystoreDeviceKey(KeystoreDeviceKey::softwarePair)

    private fun verifies(publicKey: ByteArray, message: ByteArray, signature: ByteArray): Boolean {
        val public = KeyFactory.getInstance("EC").generatePublic(X509EncodedKeySpec(publicKey))
        return Signature.getInstance("SHA256withECDSA").run {
            initVerify(public)
            update(message)
            verify(signature)
        }
    }

    @Test
    fun `signatures verify with the X509 public key the server is sent`() {
        val message = "faceid-device-proof/v1\nid\nnonce".toByteArray()
        val public = key.publicKey()
        assertArrayEquals("one pair per key", public, key.publicKey())
        assertTrue(verifies(public, message, key.sign(message)))
        assertFalse(verifies(public, "another nonce".toByteArray(), key.sign(message)))
    }

    @Test
    fun `a key store failure is a DeviceKeyException the core can report`() {
        val broken = KeystoreDeviceKey { throw ProviderException("keystore busy") }
        assertThrows(DeviceKeyException.Unavailable::class.java) { broken.publicKey() }
        assertThrows(DeviceKeyException.Unavailable::class.java) { broken.sign(byteArrayOf(1)) }
    }
}
