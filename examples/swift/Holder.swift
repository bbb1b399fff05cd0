// A holder for iOS: the device key lives in the Secure Enclave (P-256) behind
// DeviceSigner and survives restarts; citycode never sees the secret. Not compiled here
// (no Swift toolchain on the build machines); scripts/check-swift.py checks the binding
// it uses.
import CryptoKit
import Foundation
import LocalAuthentication
import Security

/// The device key credentials are bound to. Created once in the Secure Enclave; what the
/// app keeps is the enclave's opaque, device-bound handle to it (`dataRepresentation`,
/// useless on any other device), in the keychain, so the same key is found at the next
/// launch and the credential's device binding holds.
final class SecureEnclaveSigner: DeviceSigner {
    enum Failure: Error {
        case noSecureEnclave
        case keychain(OSStatus)
    }

    private let key: SecureEnclave.P256.Signing.PrivateKey

    /// The key stored under `tag`, or a new one stored there. With `requireUserPresence`
    /// every signature asks for Face ID / Touch ID or the passcode (sign on a background
    /// queue then: the prompt blocks the call).
    init(tag: String, requireUserPresence: Bool = false) throws {
        guard SecureEnclave.isAvailable else { throw Failure.noSecureEnclave }
        if let stored = try Self.load(tag: tag) {
            key = try SecureEnclave.P256.Signing.PrivateKey(dataRepresentation: stored, authenticationContext: LAContext())
            return
        }
        var flags: SecAccessControlCreateFlags = [.privateKeyUsage]
        if requireUserPresence { flags.insert(.userPresence) }
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, flags, &error) else {
            throw error.map { $0.takeRetainedValue() as Error } ?? Failure.keychain(errSecParam)
        }
        key = try SecureEnclave.P256.Signing.PrivateKey(accessControl: access)
        try Self.store(key.dataRepresentation, tag: tag)
    }

    func algorithm() -> KeyAlgorithm { .ecdsaP256 }
    func publicKey() -> Data { key.publicKey.x963Representation }            // 65-byte uncompressed

    func sign(message: Data) throws -> Data {
        do {
            return try key.signature(for: message).derRepresentation          // DER: citycode converts it
        } catch {
            // A cancelled prompt or a locked device: the holder reports a `signer` error.
            throw CitycodeError.Signer(code: "signer", detail: "Secure Enclave: \(error.localizedDescription)")
        }
    }

    /// Deletes the key handle (a user logging out; the credential must be reissued).
    static func remove(tag: String) {
        SecItemDelete(query(tag: tag) as CFDictionary)
    }

    private static func query(tag: String) -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: "citycode.device-key",
         kSecAttrAccount as String: tag,
         kSecUseDataProtectionKeychain as String: true]
    }

    private static func load(tag: String) throws -> Data? {
        var q = query(tag: tag)
        q[kSecReturnData as String] = true
        var item: CFTypeRef?
        switch SecItemCopyMatching(q as CFDictionary, &item) {
        case errSecSuccess: return item as? Data
        case errSecItemNotFound: return nil
        case let status: throw Failure.keychain(status)
        }
    }

    private static func store(_ data: Data, tag: String) throws {
        var q = query(tag: tag)
        q[kSecValueData as String] = data
        q[kSecAttrAccessible as String] = kSecAttrAccessibleWhenUnlockedThisDeviceOnly
        let status = SecItemAdd(q as CFDictionary, nil)
        guard status == errSecSuccess else { throw Failure.keychain(status) }
    }
}

func showCode(credential: String, signer: DeviceSigner) throws -> QrImage {
    let holder = try Holder(credentialBase64url: credential, signer: signer)
    let code = try holder.presentForScene(scene: .metroGate, nowUnix: nil, validitySecs: 60)
    // Schedule the next refresh in code.refreshInSecs seconds.
    return try renderQr(text: code.text)                                    // draw qr.modules
}
