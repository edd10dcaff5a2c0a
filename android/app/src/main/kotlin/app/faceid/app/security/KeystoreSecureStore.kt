package app.faceid.app.security

import android.content.Context
import android.content.SharedPreferences
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import app.faceid.core.FaceIdException
import app.faceid.core.SecureStore
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The core's SecureStore on the Android Keystore: every value is sealed with AES-256-GCM under a
 * key that lives in `AndroidKeyStore` (never leaves the secure hardware where there is one) and
 * stored, as IV + ciphertext, in private SharedPreferences. The key name is bound into each
 * value as associated data, so a value copied under another key does not open.
 */
class KeystoreSecureStore(
    private val prefs: SharedPreferences,
    private val keySource: () -> SecretKey,
) : SecureStore {
    constructor(context: Context) : this(
        context.getSharedPreferences("faceid.secure", Context.MODE_PRIVATE),
        ::androidKeystoreKey,
    )

    private val key: SecretKey by lazy(keySource)

    @Synchronized
    override fun get(key: String): ByteArray? {
        val stored = prefs.getString(key, null) ?: return null
        return guarded("read") {
            val bytes = Base64.decode(stored, Base64.NO_WRAP)
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, this.key, GCMParameterSpec(TAG_BITS, bytes, 0, IV_BYTES))
            cipher.updateAAD(key.toByteArray(Charsets.UTF_8))
            cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES)
        }
    }

    @Synchronized
    override fun set(key: String, value: ByteArray) {
        val sealed = guarded("write") {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            // The Keystore picks the IV (it refuses caller-chosen ones for encryption).
            cipher.init(Cipher.ENCRYPT_MODE, this.key)
            cipher.updateAAD(key.toByteArray(Charsets.UTF_8))
            cipher.iv + cipher.doFinal(value)
        }
        if (!prefs.edit().putString(key, Base64.encodeToString(sealed, Base64.NO_WRAP)).commit()) {
            throw FaceIdException.Storage("secure store: could not write $key")
        }
    }

    @Synchronized
    override fun delete(key: String) {
        prefs.edit().remove(key).commit()
    }

    private fun <T> guarded(what: String, block: () -> T): T = try {
        block()
    } catch (e: GeneralSecurityException) {
        throw FaceIdException.Storage("secure store: $what failed: ${e.javaClass.simpleName}")
    } catch (e: IllegalArgumentException) {
        throw FaceIdException.Storage("secure store: $what failed: corrupt value")
    }

    companion object {
        private const val ALIAS = "faceid.secure-store"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val IV_BYTES = 12
        private const val TAG_BITS = 128

        /** The app's AES key in AndroidKeyStore, created on first use. */
        fun androidKeystoreKey(): SecretKey {
            val keyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
            (keyStore.getEntry(ALIAS, null) as? KeyStore.SecretKeyEntry)?.let { return it.secretKey }
            val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
            generator.init(
                KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                    .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                    .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                    .setKeySize(256)
                    .build(),
            )
            return generator.generateKey()
        }
    }
}
