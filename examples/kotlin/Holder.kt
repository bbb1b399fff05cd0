// A minimal holder app: the device key lives in the keystore (here java.security,
// on Android the AndroidKeyStore provider), the credential comes from the issuer, and
// the app shows a fresh code every refreshInSecs.
package citycode.examples.holder

import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import uniffi.citycode_ffi.*

class KeystoreSigner : DeviceSigner {
    private val pair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
    override fun algorithm() = KeyAlgorithm.ECDSA_P256
    override fun publicKey(): ByteArray {
        val w = (pair.public as ECPublicKey).w
        fun b32(v: java.math.BigInteger) = v.toByteArray().takeLast(32).toByteArray().let { ByteArray(32 - it.size) + it }
        return byteArrayOf(4) + b32(w.affineX) + b32(w.affineY)
    }
    override fun sign(message: ByteArray): ByteArray =
        Signature.getInstance("SHA256withECDSA").run { initSign(pair.private); update(message); sign() }
}

fun main() {
    val signer = KeystoreSigner()
    // The issuer backend (here in-process) signs a credential for the device key.
    val issuerKey = SigningKey.generate(KeyAlgorithm.ED25519)
    val today = (System.currentTimeMillis() / 86_400_000L).toUShort()
    // Issuance: the issuer's fresh challenge, the key's request over it (SPEC.md §4.7).
    val challenge = randomChallenge()
    val credential = Issuer(1u, issuerKey, listOf(4u)).issue(
        keyRequest(signer, challenge), challenge, randomSubject(), today, 7u,
        Claims(transit = Transit(AccountStatus.ACTIVE, FareClass.STANDARD, false)))

    val holder = Holder(credential, signer)          // store `credential` in app storage
    val code = holder.presentForScene(Scene.MetroGate)
    val qr = renderQr(code.text)                     // draw qr.modules, or show qr.svg
    println("holder: QR version ${qr.version}, ${qr.width}x${qr.width}, refresh in ${code.refreshInSecs} s")
}
