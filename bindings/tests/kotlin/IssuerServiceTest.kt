// The Kotlin holder flows against the running issuing service (the citycode-issuer
// binary, a trial city on loopback HTTP): a HolderBatch filled, retried and refilled
// from the service, and a guardian's wallet holding a dependant's code. Codes verify
// under the lists the service publishes. Run by scripts/test-kotlin.sh with the binary's
// path as the argument.
package citycode.test

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.Base64
import uniffi.citycode_ffi.*

private val http: HttpClient = HttpClient.newHttpClient()

private fun b64(b: ByteArray): String = Base64.getUrlEncoder().withoutPadding().encodeToString(b)

private class Service(val bin: String, val dir: File, val base: String) {
    fun token(sub: String, role: String? = null): String {
        val args = mutableListOf(bin, "trial-token", dir.path, "--sub", sub)
        if (role != null) args += listOf("--role", role)
        val p = ProcessBuilder(args).start()
        val out = p.inputStream.bufferedReader().readText().trim()
        expect(p.waitFor() == 0) { "trial-token failed" }
        return out
    }

    @Suppress("UNCHECKED_CAST")
    fun call(method: String, path: String, token: String, body: String? = null, type: String = "application/json"): Pair<Int, Map<String, Any?>> {
        val b = HttpRequest.newBuilder(URI(base + path)).header("Authorization", "Bearer $token")
        val req = when {
            body != null -> b.header("Content-Type", type).method(method, HttpRequest.BodyPublishers.ofString(body))
            else -> b.method(method, HttpRequest.BodyPublishers.noBody())
        }.build()
        val resp = http.send(req, HttpResponse.BodyHandlers.ofString())
        return resp.statusCode() to (Json.parse(resp.body()) as Map<String, Any?>)
    }

    /// A batch over a fresh challenge: the request body and the answer.
    fun batch(token: String, keys: List<SigningKey>, extra: String = ""): Pair<String, Pair<Int, Map<String, Any?>>> {
        val (status, nonce) = call("POST", "/v1/nonce", token)
        expect(status == 200) { "nonce: $nonce" }
        val cNonce = nonce["c_nonce"] as String
        val challenge = base64urlDecode(cNonce)
        val proofs = keys.joinToString(",") { "\"" + b64(it.keyRequest(challenge)) + "\"" }
        val body = "{\"credential_configuration_id\":\"citycode\",\"c_nonce\":\"$cNonce\",\"proofs\":{\"citycode_key_request\":[$proofs]}$extra}"
        return body to call("POST", "/v1/credential", token, body)
    }

    fun verifier(scene: Scene): Verifier {
        @Suppress("UNCHECKED_CAST")
        val root = Json.parse(File(dir, "root.json").readText()) as Map<String, Any?>
        val key = (root["public_key"] as String).chunked(2).map { it.toInt(16).toByte() }.toByteArray()
        val v = Verifier(KeyAlgorithm.ED25519, key, scene)
        v.loadTrustList(File(dir, "public/trust-list.bin").readBytes())
        v.loadRevocationList(File(dir, "public/revocation-root.bin").readBytes())
        return v
    }
}

@Suppress("UNCHECKED_CAST")
private fun credentials(answer: Map<String, Any?>): List<String> =
    (answer["credentials"] as List<Map<String, Any?>>).map { it["credential"] as String }

fun main(args: Array<String>) {
    val bin = args[0]
    val dir = kotlin.io.path.createTempDirectory("citycode-issuer-kt-").toFile()
    val port = java.net.ServerSocket(0).use { it.localPort }
    val pb = ProcessBuilder(bin, "trial", dir.path).redirectError(ProcessBuilder.Redirect.DISCARD)
    pb.environment()["CITYCODE_LISTEN"] = "127.0.0.1:$port"
    val proc = pb.start()
    val s = Service(bin, dir, "http://127.0.0.1:$port")
    try {
        val deadline = System.currentTimeMillis() + 30_000
        while (true) {
            try {
                http.send(HttpRequest.newBuilder(URI("${s.base}/livez")).build(), HttpResponse.BodyHandlers.ofString()); break
            } catch (e: java.io.IOException) {
                expect(System.currentTimeMillis() < deadline && proc.isAlive) { "the service did not start" }
                Thread.sleep(100)
            }
        }
        val today = System.currentTimeMillis() / 1000 / 86400
        val rows = (0 until 3).joinToString("\n") { i ->
            "{\"ref\":\"K$i\",\"login\":\"kt-$i\",\"claims\":{\"health\":{\"status\":\"green\",\"valid_until_day\":${today + 30}}," +
                "\"transit\":{\"account\":\"active\",\"fare_class\":\"standard\",\"vehicle_payment\":true}}," +
                "\"identity\":{\"name\":\"王秀英\",\"number\":\"11010519491231000$i\"}}"
        }
        val admin = s.token("admin", "admin")
        val (imported, answer) = s.call("POST", "/v1/admin/residents", admin, rows, "application/x-ndjson")
        expect(imported == 200) { "import: $answer" }

        check("a HolderBatch fills, retries and refills from the running service") {
            val token = s.token("kt-0")
            val keys = List(3) { SigningKey.generate(KeyAlgorithm.ED25519) }
            val (body, first) = s.batch(token, keys, ",\"device\":\"kt-phone\"")
            expect(first.first == 200) { "batch: ${first.second}" }
            // The response was lost: the retry gets the same instances.
            val again = s.call("POST", "/v1/credential", token, body)
            expect(again.first == 200 && credentials(again.second) == credentials(first.second)) { "retry: $again" }
            val batch = HolderBatch(BatchReuse.OnceOnly, 2u)
            credentials(first.second).zip(keys).forEach { (c, k) -> batch.addWithKey(c, k) }
            expect(s.call("POST", "/v1/admin/publish", admin).first == 200) { "publish" }
            val now = (System.currentTimeMillis() / 1000).toULong()
            val gate = s.verifier(Scene.MetroGate)
            val subjects = (0 until 3).map { n ->
                val d = gate.verify(batch.presentForScene(Scene.MetroGate, now + n.toULong()).text, now + n.toULong())
                expect(d is Decision.Accept) { "code $n: $d" }
                (d as Decision.Accept).subject
            }
            expect(subjects.toSet().size == 3 && batch.needsRefill()) { "each instance once: $subjects" }
            val more = List(2) { SigningKey.generate(KeyAlgorithm.ED25519) }
            val (_, refill) = s.batch(token, more)
            expect(refill.first == 200) { "refill: ${refill.second}" }
            credentials(refill.second).zip(more).forEach { (c, k) -> batch.addWithKey(c, k) }
            expect(batch.remaining() == 2u) { "refilled" }
            val (_, me) = s.call("GET", "/v1/me", token)
            expect((me["instances_outstanding"] as Long) == 5L) { "me: $me" }
        }

        check("a guardian's wallet holds a dependant's code from the running service") {
            val guardian = s.token("kt-1")
            val dependant = s.token("kt-2")
            val (st, invitation) = s.call("POST", "/v1/guardianships/invitations", dependant, "{\"relation\":\"parent\"}")
            expect(st == 200) { "invite: $invitation" }
            val (st2, g) = s.call("POST", "/v1/guardianships", guardian, "{\"invitation\":\"${invitation["invitation"]}\"}")
            expect(st2 == 200 && g["role"] == "guardian") { "accept: $g" }
            val phone = SigningKey.generate(KeyAlgorithm.ED25519)
            val (_, issued) = s.batch(guardian, listOf(phone), ",\"guardianship_id\":${g["id"]}")
            // A guardianship id with the resident's own configuration is refused.
            expect(issued.first == 400) { "citycode with a guardianship id is refused: ${issued.second}" }
            val (st3, nonce) = s.call("POST", "/v1/nonce", guardian)
            expect(st3 == 200) { "nonce" }
            val challenge = base64urlDecode(nonce["c_nonce"] as String)
            val body = "{\"credential_configuration_id\":\"citycode_guardian\",\"guardianship_id\":${g["id"]}," +
                "\"c_nonce\":\"${nonce["c_nonce"]}\",\"proofs\":{\"citycode_key_request\":[\"${b64(phone.keyRequest(challenge))}\"]}}"
            val (st4, answer) = s.call("POST", "/v1/credential", guardian, body)
            expect(st4 == 200) { "guardian batch: $answer" }
            val wallet = GuardianWallet.withKey(phone)
            wallet.addDependant("father", credentials(answer)[0])
            expect(s.call("POST", "/v1/admin/publish", admin).first == 200) { "publish" }
            val now = (System.currentTimeMillis() / 1000).toULong()
            val d = s.verifier(Scene.MetroGate).verify(wallet.presentForScene(Scene.MetroGate, "father", now).text, now)
            expect(d is Decision.Accept && d.claims.guardian == Relation.PARENT) { "guardian's code: $d" }
            // The guardian ends it; once published the code is refused.
            val (st5, ended) = s.call("DELETE", "/v1/guardianships/${g["id"]}", guardian)
            expect(st5 == 200 && (ended["revoked_instances"] as Long) == 1L) { "end: $ended" }
            expect(s.call("POST", "/v1/admin/publish", admin).first == 200) { "publish" }
            val refused = s.verifier(Scene.MetroGate).verify(wallet.presentForScene(Scene.MetroGate, "father", now + 1u).text, now + 1u)
            expect(refused is Decision.Reject && refused.reason == "revoked") { "after the end: $refused" }
        }
    } finally {
        proc.destroy()
        proc.waitFor()
        dir.deleteRecursively()
    }
    println("kotlin issuing service: $passed passed, $failed failed")
    if (failed != 0) kotlin.system.exitProcess(1)
}
