#![doc = include_str!("../README.md")]

mod encoding;
mod export;
mod signer;
mod store;
mod verify;

pub use encoding::{DOMAIN_TAG, canonical_bytes};
pub use export::{ExportStatement, RECEIPT_EXPORT_FORMAT};
pub use signer::{Draft, ReceiptSigner};
pub use store::ReceiptStore;
pub use verify::{Broken, ChainReport, ChainVerifier};

use serde::{Deserialize, Deserializer, Serialize};
use tg_core::{AccountId, AgentId, Outcome, Provenance, ReceiptId, Timestamp};

/// Length of a receipt hash in bytes (SHA-256).
pub const HASH_LEN: usize = 32;

/// The `prev_hash` of the first receipt in every chain.
pub const GENESIS: [u8; HASH_LEN] = [0u8; HASH_LEN];

/// One link of an agent's chain, as stored — and as the API serves and exports it
/// (hashes and signature in hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: ReceiptId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub agent_id: AgentId,
    /// 1 for the first receipt, then contiguous.
    pub seq: u64,
    pub action: String,
    pub result: Outcome,
    /// Server time (authoritative).
    pub timestamp: Timestamp,
    /// The time the client said the action happened, if it said.
    pub reported_at: Option<Timestamp>,
    /// Hex SHA-256 of the previous receipt (zeros for the first).
    #[serde(serialize_with = "hex_bytes", deserialize_with = "from_hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub prev_hash: [u8; HASH_LEN],
    #[serde(serialize_with = "hex_bytes", deserialize_with = "from_hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub receipt_hash: [u8; HASH_LEN],
    /// Hex HMAC-SHA256 over `receipt_hash`, by the gateway's receipt key `key_id`.
    #[serde(serialize_with = "hex_bytes", deserialize_with = "from_hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub signature: [u8; HASH_LEN],
    pub key_id: String,
    /// Who stands behind it: `self` (the agent's own account) or `witnessed`.
    #[serde(default)]
    pub provenance: Provenance,
    /// The account that witnessed it, with the agent's token it presented (covered by
    /// `receipt_hash`); `null` for a self-reported receipt.
    #[serde(default)]
    pub witness: Option<Witness>,
    /// Its place in the gateway's transparency log (`/log/…`); `null` until the log has
    /// integrated it (within about a second).
    #[serde(default)]
    pub log_index: Option<u64>,
}

/// Another account that proved it dealt with the agent by presenting the agent's gateway
/// token when it reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Witness {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub account_id: AccountId,
    /// The `jti` of the token it presented.
    pub token_jti: String,
}

impl Witness {
    /// The provenance a receipt with (or without) a witness has.
    pub fn provenance_of(witness: Option<&Witness>) -> Provenance {
        if witness.is_some() {
            Provenance::Witnessed
        } else {
            Provenance::SelfReported
        }
    }
}

/// Where an agent's chain ends: the next receipt takes `seq + 1` and links to `hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: [u8; HASH_LEN],
}

impl ChainHead {
    pub const EMPTY: ChainHead = ChainHead {
        seq: 0,
        hash: GENESIS,
    };
}

fn hex_bytes<S: serde::Serializer>(bytes: &[u8; HASH_LEN], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

fn from_hex<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; HASH_LEN], D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    let mut out = [0u8; HASH_LEN];
    hex::decode_to_slice(s.as_bytes(), &mut out)
        .map_err(|_| serde::de::Error::custom("expected 64 hex digits"))?;
    Ok(out)
}
