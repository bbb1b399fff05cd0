// The device key of an Android holder app, right to copy: generated once inside
// AndroidKeyStore (StrongBox when the phone has one), kept under an alias across
// restarts, optionally usable only after the user authenticates. The secret never leaves
// the secure hardware; citycode gets the public key and DER signatures.
//
// Not compiled or run here (no Android SDK on the build machines; the JVM part of the
// bindings is what scripts/test-kotlin.sh runs). API level 28+ for StrongBox, 30+ for
// setUserAuthenticationParameters.
package citycode.examples.android

import android.content.Context
import android.content.pm.PackageManager
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import uniffi.citycode_ffi.CitycodeException
import uniffi.citycode_ffi.DeviceSigner
import uniffi.citycode_ffi.KeyAlgorithm

class AndroidKeystoreSigner(
    context: Context,
    private val alias: String = "citycode-device-key",
    /** Each signature then needs a biometric or device-credential check within 30 s. */
    private val requireUserAuthentication: Boolean = false,
) : DeviceSigner {
    private val keyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }

    init {
        if (!keyStore.containsAlias(alias)) {
            val strongBox = context.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)
            try {
                generate(strongBox)
            } catch (e: StrongBoxUnavailableException) {
                generate(false) // advertised but unusable for this key: the TEE instead
            }
        }
    }

    private fun generate(strongBox: Boolean) {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .setIsStrongBoxBacked(strongBox)
            .apply {
                if (requireUserAuthentication) {
                    setUserAuthenticationRequired(true)
                    setUserAuthenticationParameters(
                        30, KeyProperties.AUTH_BIOMETRIC_STRONG or KeyProperties.AUTH_DEVICE_CREDENTIAL)
                    setInvalidatedByBiometricEnrollment(false)
                }
            }
            .build()
        KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, "AndroidKeyStore").run {
            initialize(spec)
            generateKeyPair()
        }
    }

    override fun algorithm() = KeyAlgorithm.ECDSA_P256

    /** 65-byte uncompressed SEC1; citycode compresses it. */
    override fun publicKey(): ByteArray {
        val w = (keyStore.getCertificate(alias).publicKey as ECPublicKey).w
        fun b32(v: java.math.BigInteger) = v.toByteArray().takeLast(32).toByteArray().let { ByteArray(32 - it.size) + it }
        return byteArrayOf(4) + b32(w.affineX) + b32(w.affineY)
    }

    /** A DER signature (citycode converts it). Call off the main thread. */
    override fun sign(message: ByteArray): ByteArray {
        val key = keyStore.getKey(alias, null) as? PrivateKey
            ?: throw CitycodeException.Signer("signer", "no key under alias $alias: reissue the credential")
        return try {
            Signature.getInstance("SHA256withECDSA").run {
                initSign(key)
                update(message)
                sign()
            }
        } catch (e: UserNotAuthenticatedException) {
            // Show a BiometricPrompt (or the device credential screen), then present again.
            throw CitycodeException.Signer("signer", "user authentication required")
        }
    }

    /** Removes the key (logout); credentials bound to it must be reissued. */
    fun delete() = keyStore.deleteEntry(alias)
}
