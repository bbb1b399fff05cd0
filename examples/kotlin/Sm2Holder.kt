// A holder app on a phone whose security element signs SM2 (a national-algorithm
// security element or TEE, through its vendor's SDK): the key never leaves the element,
// which returns its public key uncompressed and SM3withSM2 signatures in DER under the
// default user id 1234567812345678. citycode takes both forms as they come.
package citycode.examples.sm2holder

import uniffi.citycode_ffi.*

/** What a vendor SDK for an SM2 security element offers (names vary by vendor). */
interface Sm2SecurityElement {
    /** The public key of the key under [alias]: 04 || x || y. */
    fun publicKey(alias: String): ByteArray
    /** SM3withSM2 over [data] with the default user id; DER `SEQUENCE { r, s }`. */
    fun signSm3WithSm2(alias: String, data: ByteArray): ByteArray
}

/** The citycode signer over the element: nothing secret passes through it. */
class Sm2ElementSigner(private val element: Sm2SecurityElement, private val alias: String) : DeviceSigner {
    override fun algorithm() = KeyAlgorithm.SM2
    override fun publicKey() = element.publicKey(alias)
    override fun sign(message: ByteArray) = element.signSm3WithSm2(alias, message)
}

/**
 * For this demo only, an element emulated with a software key (on a phone, the vendor
 * SDK): it answers in the element's formats, uncompressed keys and DER signatures.
 */
class EmulatedElement : Sm2SecurityElement {
    private val keys = mutableMapOf<String, SigningKey>()
    private fun key(alias: String) = keys.getOrPut(alias) { SigningKey.generate(KeyAlgorithm.SM2) }
    override fun publicKey(alias: String): ByteArray {
        // The element exports 04 || x || y; the software key gives the compressed form.
        return uncompressed(key(alias).publicKey())
    }
    override fun signSm3WithSm2(alias: String, data: ByteArray): ByteArray {
        val raw = key(alias).sign(data)
        fun integer(b: ByteArray): ByteArray {
            val v = java.math.BigInteger(1, b).toByteArray()
            return byteArrayOf(2, v.size.toByte()) + v
        }
        val body = integer(raw.copyOfRange(0, 32)) + integer(raw.copyOfRange(32, 64))
        return byteArrayOf(0x30, body.size.toByte()) + body
    }

    private fun uncompressed(compressed: ByteArray): ByteArray {
        val p = java.math.BigInteger("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
        val b = java.math.BigInteger("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
        val x = java.math.BigInteger(1, compressed.copyOfRange(1, 33))
        // y^2 = x^3 - 3x + b; p = 3 mod 4, so y = (y^2)^((p+1)/4).
        val y2 = (x.pow(3) - x.multiply(java.math.BigInteger.valueOf(3)) + b).mod(p)
        var y = y2.modPow(p.add(java.math.BigInteger.ONE).shiftRight(2), p)
        if (y.testBit(0) != (compressed[0].toInt() == 3)) y = p - y
        fun b32(v: java.math.BigInteger) = v.toByteArray().takeLast(32).toByteArray().let { ByteArray(32 - it.size) + it }
        return byteArrayOf(4) + b32(x) + b32(y)
    }
}

fun main() {
    val signer = Sm2ElementSigner(EmulatedElement(), "citycode-device")
    // A GM-only city: root and issuer SM2 too (in production, in certified signing devices).
    val root = SigningKey.generate(KeyAlgorithm.SM2)
    val issuerKey = SigningKey.generate(KeyAlgorithm.SM2)
    val now = System.currentTimeMillis() / 1000
    val today = (now / 86_400).toUShort()
    val challenge = randomChallenge()
    val credential = Issuer(1u, issuerKey, listOf(4u)).issue(
        keyRequest(signer, challenge), challenge, randomSubject(), today, 7u,
        Claims(transit = Transit(AccountStatus.ACTIVE, FareClass.STANDARD, false)))
    val code = Holder(credential, signer).presentForScene(Scene.MetroGate)

    val trust = signTrustList(root, 1UL, (now - 60).toUInt(), (now + 86_400).toUInt(), listOf(
        TrustedIssuer(1u, KeyAlgorithm.SM2, issuerKey.publicKey(), (now - 60).toUInt(), (now + 86_400).toUInt(), listOf(4u))))
    val verifier = Verifier(KeyAlgorithm.SM2, root.publicKey(), Scene.MetroGate)
    verifier.requireGmOnly()
    verifier.loadTrustList(trust)
    verifier.loadRevocationList(signRevocationList(root, null, 0UL, (now - 60).toUInt(), (now + 3600).toUInt(), emptyList()))
    when (val d = verifier.verify(code.text, null)) {
        is Decision.Accept -> println("sm2 holder: GM-only gate ACCEPT ${claimsJson(d.claims)}")
        is Decision.Reject -> { println("sm2 holder: REJECT ${d.reason} ${d.detail}"); kotlin.system.exitProcess(1) }
    }
}
