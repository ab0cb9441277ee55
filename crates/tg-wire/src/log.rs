//! The transparency log (`/log/...`): keys, proofs, cosignatures.

//! Plain wire types: the conversions from the service's views are in tg-api, so a client
//! of these links nothing of the server.

use serde::{Deserialize, Serialize};

/// `GET /log/key`: what a verifier of the checkpoints needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogKey {
    /// The checkpoint origin (first line of every checkpoint).
    pub origin: String,
    /// The C2SP signed-note verifier key that signs checkpoints now:
    /// `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>`.
    pub vkey: String,
    /// Every checkpoint key's vkey, oldest first (older checkpoints verify under these).
    pub vkeys: Vec<String>,
    /// Witness cosigner vkeys (type 0x04) whose cosignatures the log accepts.
    pub witnesses: Vec<String>,
}

/// `GET /log/proof/inclusion`: the RFC 9162 audit path, lowest sibling first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProofOut {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Base64 SHA-256 hashes.
    pub hashes: Vec<String>,
}

/// `GET /log/proof/consistency`: the RFC 9162 consistency proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProofOut {
    /// Base64 SHA-256 hashes.
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct InclusionQuery {
    /// Base64 leaf hash: SHA-256(0x00 ‖ the receipt's 32-byte `receipt_hash`).
    #[cfg_attr(feature = "openapi", param(pattern = "^[A-Za-z0-9+/]{43}=$"))]
    pub hash: String,
    /// The tree the proof is for: at most the newest checkpoint's size.
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 1, maximum = 9223372036854775807_i64)
    )]
    pub tree_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ConsistencyQuery {
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 0, maximum = 9223372036854775807_i64)
    )]
    pub first: u64,
    /// At least `first`, at most the newest checkpoint's size.
    #[cfg_attr(
        feature = "openapi",
        param(minimum = 0, maximum = 9223372036854775807_i64)
    )]
    pub second: u64,
}

/// `POST /log/cosignature`: what was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CosignedOut {
    pub size: u64,
    pub witnesses: Vec<String>,
}

/// `POST /admin/log/integrate`: what one round of the log did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogRoundOut {
    /// Whether this instance holds the sequencer lease (else another one integrates).
    pub leader: bool,
    /// Receipts integrated by this round.
    pub integrated: u64,
    /// The newest checkpoint's size.
    pub size: u64,
    /// What the monitor found wrong (each finding reported once, also as `log_inconsistent`).
    pub inconsistencies: Vec<String>,
}

/// `POST /log/cosignature`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CosignatureRequest {
    /// The checkpoint as the log signed it (`GET /log/checkpoint`), with the witness's
    /// `cosignature/v1` signature line(s) appended: a C2SP signed note.
    #[cfg_attr(feature = "openapi", schema(max_length = 4096))]
    pub note: String,
}

/// The longest cosigned note accepted, in characters: a checkpoint and some thirty lines.
/// Even escaped as JSON surrogate pairs (12 bytes a character), one over it fits the
/// 64 KiB body limit, so a too-long note is a 422, never a 413.
pub const MAX_NOTE_CHARS: usize = 4096;
