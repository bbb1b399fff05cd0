// A minimal holder for iOS: the device key lives in the Secure Enclave (P-256) behind
// DeviceSigner; citycode never sees the secret. Not compiled here (no Swift toolchain
// on the build machines); scripts/check-swift.py checks the binding it uses.
import CryptoKit
import Foundation

final class SecureEnclaveSigner: DeviceSigner {
    private let key = try! SecureEnclave.P256.Signing.PrivateKey()
    func algorithm() -> KeyAlgorithm { .ecdsaP256 }
    func publicKey() -> Data { key.publicKey.x963Representation }            // 65-byte uncompressed
    func sign(message: Data) throws -> Data { try key.signature(for: message).derRepresentation }
}

func showCode(credential: String, signer: DeviceSigner) throws -> QrImage {
    let holder = try Holder(credentialBase64url: credential, signer: signer)
    let code = try holder.presentForScene(scene: .metroGate, nowUnix: nil, validitySecs: 60)
    // Schedule the next refresh in code.refreshInSecs seconds.
    return try renderQr(text: code.text)                                    // draw qr.modules
}
