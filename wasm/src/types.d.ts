/** A scene policy, as in the test vectors. */
export type Scene =
  | { kind: "hospital" }
  | { kind: "scenic_spot"; site: number; utc_offset_minutes: number }
  | { kind: "parking" }
  | { kind: "metro_gate" }
  | { kind: "hotel_check_in" };

/** Identity for real-name scenes: the name and a commitment to the document number (never the number). Check a document with `identityMatches`. */
export interface Identity { name: string; digest: "sha256" | "sm3"; salt: string; commitment: string }

/** Claims a code disclosed (names as in SPEC.md §4.3). */
export interface Claims {
  health?: { status: "green" | "yellow" | "red"; valid_until_day: number };
  /** A scene's card may withhold a field (absent): the hospital's card has no region. */
  medical_insurance?: { region?: number; status?: "active" | "suspended" | "terminated" };
  social_security?: { status: "contributing" | "retired" | "suspended" };
  /** The parking card has no fare_class, the metro card no vehicle_payment. */
  transit?: { account?: "active" | "arrears" | "suspended"; fare_class?: "standard" | "senior_free" | "student" | "disabled_free" | "child"; vehicle_payment?: boolean };
  tourism?: { entries: { kind: "pass" | "reservation"; site: number; day: number }[] };
  identity?: Identity;
  /** Present when a guardian showed the code: the holder may not be the person at the terminal. */
  guardian?: { relation: "parent" | "child" | "spouse" | "relative" | "legal_guardian" };
  other?: { domain: number; body: string }[];
}

/** A rejection's stable reason code (SPEC.md §10). */
export type ReasonCode =
  | "text_prefix"
  | "text_encoding"
  | "text_too_long"
  | "non_canonical"
  | "truncated"
  | "trailing_bytes"
  | "unsupported_version"
  | "unsupported_algorithm"
  | "malformed"
  | "invalid_device_key"
  | "invalid_issuer_key"
  | "unknown_issuer_key"
  | "algorithm_mismatch"
  | "issuer_key_not_valid"
  | "out_of_scope"
  | "bad_issuer_signature"
  | "bad_device_signature"
  | "credential_expired"
  | "credential_not_yet_valid"
  | "code_expired"
  | "code_not_yet_valid"
  | "code_validity_too_long"
  | "revoked"
  | "replayed"
  | "replay_capacity"
  | "replay_store_unavailable"
  | "policy_unmet"
  | "no_trust_list"
  | "no_revocation_list"
  | "trust_list_expired"
  | "trust_list_rollback"
  | "bad_trust_list_signature"
  | "revocation_list_expired"
  | "revocation_list_rollback"
  | "bad_revocation_list_signature"
  | "bad_list_status_signature"
  | "list_status_rollback"
  | "list_digest_mismatch"
  | "list_unavailable"
  | "list_state_unavailable";

/**
 * What a verifier decided: core's `Verdict`, field for field as its JSON (the verify
 * server's and the CLI's output). `printed` is present, and true, only for a printed code:
 * the staff MUST check the person's identity document against `claims.identity`
 * (SPEC.md §5.1). `claims.guardian` says a guardian showed the code.
 */
export type Decision =
  | { decision: "accept"; policy: string; claims: Claims; subject: string; issued_at: number; issuers: number[]; revocation_checked: boolean; replay_checked: boolean; printed?: true }
  | { decision: "reject"; reason: ReasonCode; detail: string };

/** The `code` of a thrown error: a reason code, or what went wrong with an argument. */
export type ErrorCode = ReasonCode | "invalid_argument" | "missing_domain" | "signer" | "clock";

/** A list a verifier holds: core's `HeldList`, field for field. */
export interface HeldList { name: string; sequence: number; issued_at: number; expires_at: number }

/** A code to show. */
export interface PresentedCode { text: string; issued_at: number; expires_at: number; refresh_in_secs: number }

/** A generated device key: keep `secret` in the host's secure storage. */
export interface DeviceKey { algorithm: Algorithm; secret: Uint8Array; public_key: Uint8Array }

/** A signature algorithm; `sm2_sm3` only in the GM scanner and holder packages. */
export type Algorithm = "ed25519" | "ecdsa_p256_sha256" | "sm2_sm3";

/** One P-256 signature for the host's WebCrypto: an uncompressed SEC1 key (`raw`), the signed bytes (hashed with SHA-256) and `r ‖ s`. */
export interface P256Check { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }

export interface Verifier {
  /**
   * `verify`, with P-256 signatures checked by the host's WebCrypto (native code) where
   * it has one and in WASM elsewhere: the same {@link Decision}, sooner for P-256 keys.
   * Added by the package's entry modules (not by `citycode_wasm.js` alone).
   */
  verifyAsync(text: string, nowUnix?: number): Promise<Decision>;
}
