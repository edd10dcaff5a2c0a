package app.faceid.core

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.nio.file.Files
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec

/**
 * What the app's Keystore-backed [DeviceKey] does, in software: a P-256 key pair, the public
 * key as X.509 SubjectPublicKeyInfo, SHA256withECDSA signatures in DER.
 */
class SoftwareDeviceKey : DeviceKey {
    private val pair = KeyPairGenerator.getInstance("EC").apply {
        initialize(ECGenParameterSpec("secp256r1"))
    }.generateKeyPair()
    @Volatile var failWith: DeviceKeyException? = null

    override fun publicKey(): ByteArray {
        failWith?.let { throw it }
        return pair.public.encoded
    }

    override fun sign(message: ByteArray): ByteArray {
        failWith?.let { throw it }
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(pair.private)
            update(message)
            sign()
        }
    }
}

/** Device keys (docs/device-keys.md) through the foreign `DeviceKey` trait, against the real server. */
class DeviceKeyTest {
    private fun client(url: String, device: DeviceDescription, key: DeviceKey?) = FaceIdClient(
        url, Files.createTempDirectory("faceid-state").toString(), device, MapSecureStore(), key,
    )

    @Test
    fun `a phone signs with its Kotlin key and its id is useless with another key`(): Unit = runBlocking {
        val server = TestServer.require()
        val device = testDevice()
        client(server.url, device, SoftwareDeviceKey()).use { phone ->
            assertEquals(server.login, phone.login(server.login, server.password).login)
            assertEquals(server.login, phone.currentUser()?.login)
        }
        // The same device id with another key (or none): refused, with the code to show.
        client(server.url, device, SoftwareDeviceKey()).use { copy ->
            val e = assertThrows<FaceIdException.Unauthorized> {
                runBlocking { copy.login(server.login, server.password) }
            }
            assertTrue(e.reason.contains("device_key_mismatch"), e.reason)
        }
        client(server.url, device, null).use { keyless ->
            val e = assertThrows<FaceIdException.Unauthorized> {
                runBlocking { keyless.login(server.login, server.password) }
            }
            assertTrue(e.reason.contains("device_key_required"), e.reason)
        }
    }

    @Test
    fun `a key store that cannot sign is a Storage error naming the key`() {
        val server = TestServer.require()
        val key = SoftwareDeviceKey().apply { failWith = DeviceKeyException.Unavailable("device locked") }
        client(server.url, testDevice(), key).use { phone ->
            val e = assertThrows<FaceIdException.Storage> {
                runBlocking { phone.login(server.login, server.password) }
            }
            assertTrue(e.reason.contains("device locked"), e.reason)
        }
    }
}
