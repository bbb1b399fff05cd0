// A minimal verifier for an iPad kiosk. Not compiled here; see Holder.swift.
import Foundation

func verify(rootKey: Data, trustList: Data, revocationList: Data, scanned: String) throws -> String {
    let verifier = try Verifier(rootAlgorithm: .ed25519, rootKey: rootKey, scene: .hospital,
                                skewSecs: 30, maxCodeValiditySecs: 120)
    try verifier.loadTrustList(list: trustList)
    try verifier.loadRevocationList(list: revocationList)  // without one, every code is refused
    switch verifier.verify(text: scanned, nowUnix: nil) {
    case .accept(let policy, let claims, _, _, _, let revocationChecked, let printed):
        // A printed code: check the ID card against claims.identity (SPEC.md §5.1).
        return "ACCEPT \(policy) \(try claimsJson(claims: claims)) revocation checked: \(revocationChecked)"
            + (printed ? " PRINTED: check the ID card" : "")
    case .reject(let reason, let detail): return "REJECT \(reason): \(detail)"
    }
}
