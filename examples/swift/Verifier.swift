// A minimal verifier for an iPad kiosk. Not compiled here; see Holder.swift.
import Foundation

func verify(rootKey: Data, trustList: Data, scanned: String) throws -> String {
    let verifier = try Verifier(rootAlgorithm: .ed25519, rootKey: rootKey, scene: .hospital,
                                skewSecs: 30, maxCodeValiditySecs: 120)
    try verifier.loadTrustList(list: trustList)
    switch verifier.verify(text: scanned, nowUnix: nil) {
    case .accept(_, let claimsJson, _, _, _): return "ACCEPT \(claimsJson)"
    case .reject(let code, let detail): return "REJECT \(code): \(detail)"
    }
}
