package app.faceid.app.security

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import app.faceid.core.DeviceKey
import app.faceid.core.DeviceKeyException
import java.security.GeneralSecurityException
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.ProviderException
import java.security.Signature
import java.security.UnrecoverableKeyException
import java.security.spec.ECGenParameterSpec

/**
 * The core's DeviceKey on the Android Keystore (docs/device-keys.md): an EC P-256 key pair
 * created once in `AndroidKeyStore` (in the secure hardware where there is one; the private key
 * is never exportable), whose public key the server binds to this installation's device id at
 * the first login. Every login and refresh signs a server nonce with it (`SHA256withECDSA`).
 */
class KeystoreDeviceKey(private val keySource: () -> KeyPair) : DeviceKey {
    constructor() : this(::androidKeystorePair)

    private val pair: KeyPair by lazy(keySource)

    override fun publicKey(): ByteArray = guarded("read the public key") { pair.public.encoded }

    override fun sign(message: ByteArray): ByteArray = guarded("sign") {
        Signature.getInstance(SIGNATURE).run {
            initSign(pair.private)
            update(message)
            sign()
        }
    }

    private fun <T> guarded(what: String, block: () -> T): T = try {
        block()
    } catch (e: KeyPermanentlyInvalidatedException) {
        throw DeviceKeyException.Lost("device key: cannot $what: the key was invalidated")
    } catch (e: UnrecoverableKeyException) {
        throw DeviceKeyException.Lost("device key: cannot $what: the key is gone")
    } catch (e: GeneralSecurityException) {
        throw DeviceKeyException.Unavailable("device key: cannot $what: ${e.javaClass.simpleName}")
    } catch (e: ProviderException) {
        // The Keystore's own failures (busy, locked secure hardware) come unchecked.
        throw DeviceKeyException.Unavailable("device key: cannot $what: ${e.javaClass.simpleName}")
    }

    companion object {
        private const val ALIAS = "faceid.device-key"
        private const val SIGNATURE = "SHA256withECDSA"
        private const val CURVE = "secp256r1"

        /** The app's P-256 pair in AndroidKeyStore, created on first use. */
        fun androidKeystorePair(): KeyPair {
            val keyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
            (keyStore.getEntry(ALIAS, null) as? KeyStore.PrivateKeyEntry)?.let {
                return KeyPair(it.certificate.publicKey, it.privateKey)
            }
            val generator = KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, "AndroidKeyStore")
            generator.initialize(
                KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_SIGN)
                    .setAlgorithmParameterSpec(ECGenParameterSpec(CURVE))
                    .setDigests(KeyProperties.DIGEST_SHA256)
                    .build(),
            )
            return generator.generateKeyPair()
        }

        /** A software P-256 pair, where there is no AndroidKeyStore (Robolectric). */
        fun softwarePair(): KeyPair =
            KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec(CURVE)) }.generateKeyPair()
    }
}
