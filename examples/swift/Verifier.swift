// A minimal verifier for an iPad kiosk. Not compiled here; see Holder.swift.
import Foundation

func verify(rootKey: Data, trustList: Data, revocationList: Data, scanned: String) throws -> String {
    let verifier = try Verifier(rootAlgorithm: .ed25519, rootKey: rootKey, scene: .hospital,
                                skewSecs: 30, maxCodeValiditySecs: 120)
    try verifier.loadTrustList(list: trustList)
    try verifier.loadRevocationList(list: revocationList)  // without one, every code is refused
    switch verifier.verify(text: scanned, nowUnix: nil) {
    case .accept(_, let claimsJson, _, _, _, let revocationChecked): return "ACCEPT \(claimsJson) revocation checked: \(revocationChecked)"
    case .reject(let code, let detail): return "REJECT \(code): \(detail)"
    }
}
