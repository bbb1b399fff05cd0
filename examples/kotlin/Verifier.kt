// A minimal JVM verifier: a pinned root key, the platform's trust list, one scene.
// Usage: Verifier <root-key-hex> <trust-list-base64url> <revocation-list-base64url> <scanned-text> [unix-time]
// (the time only to replay a recorded scan; a terminal uses its own clock)
package citycode.examples.verifier

import uniffi.citycode_ffi.*

fun main(args: Array<String>) {
    val rootKey = args[0].chunked(2).map { it.toInt(16).toByte() }.toByteArray()
    val verifier = Verifier(KeyAlgorithm.ED25519, rootKey, Scene.Hospital, skewSecs = 30u)
    verifier.loadTrustList(base64urlDecode(args[1]))
    verifier.loadRevocationList(base64urlDecode(args[2]))  // without one, every code is refused
    when (val d = verifier.verify(args[3], args.getOrNull(4)?.toULong())) {
        is Decision.Accept -> println("verifier: ACCEPT ${claimsJson(d.claims)}")
        is Decision.Reject -> { println("verifier: REJECT ${d.reason} ${d.detail}"); kotlin.system.exitProcess(1) }
    }
}
