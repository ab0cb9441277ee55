//! The canonical byte encoding a receipt hash covers.

use crate::HASH_LEN;

/// Domain separation: no other structure signed under the same key encodes like a receipt.
pub const DOMAIN_TAG: &[u8] = b"trust-gateway/receipt/v1\0";

/// Encodes the hashed fields of a receipt, in this order:
///
/// ```text
/// DOMAIN_TAG
/// lp(agent_id) ‖ u64be(seq) ‖ lp(action) ‖ lp(result)
/// ‖ i64be(timestamp µs) ‖ reported_at: 0x00 | 0x01 ‖ i64be(µs)
/// ‖ prev_hash (32 bytes)
/// [‖ 0x01 ‖ lp(witness account_id) ‖ lp(witness token_jti)]   witnessed receipts only
/// ```
///
/// where `lp(x) = u32be(len(x)) ‖ x`. Every field is length-prefixed or fixed-width and
/// the witness part is either absent (self-reported: the bytes, and so the hashes, of
/// receipts written before provenance existed) or tagged, so the encoding is injective.
#[allow(clippy::too_many_arguments)]
pub fn canonical_bytes(
    agent_id: &str,
    seq: u64,
    action: &str,
    result: &str,
    timestamp_micros: i64,
    reported_at_micros: Option<i64>,
    prev_hash: &[u8; HASH_LEN],
    witness: Option<(&str, &str)>,
) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(DOMAIN_TAG.len() + 64 + agent_id.len() + action.len() + result.len());
    out.extend_from_slice(DOMAIN_TAG);
    length_prefixed(&mut out, agent_id.as_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    length_prefixed(&mut out, action.as_bytes());
    length_prefixed(&mut out, result.as_bytes());
    out.extend_from_slice(&timestamp_micros.to_be_bytes());
    match reported_at_micros {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            out.extend_from_slice(&t.to_be_bytes());
        }
    }
    out.extend_from_slice(prev_hash);
    if let Some((account, jti)) = witness {
        out.push(1);
        length_prefixed(&mut out, account.as_bytes());
        length_prefixed(&mut out, jti.as_bytes());
    }
    out
}

fn length_prefixed(out: &mut Vec<u8>, field: &[u8]) {
    // Fields are bounded far below 4 GiB by the API; saturate rather than wrap regardless.
    let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GENESIS;

    #[test]
    fn fixed_vector_of_a_witnessed_receipt() {
        let bytes = canonical_bytes(
            "ag_000000000000000000000001",
            1,
            "send_email",
            "success",
            1_705_321_800_000_000,
            None,
            &GENESIS,
            Some(("acct_00000000000000000000000a", "j1")),
        );
        let hex = hex::encode(bytes);
        assert!(hex.ends_with(concat!(
            "0000000000000000000000000000000000000000000000000000000000000000", // prev_hash
            "01",                                                               // witnessed
            "0000001d",
            "616363745f303030303030303030303030303030303030303030303061", // account id
            "00000002",                                                   // jti length
            "6a31",                                                       // jti
        )));
    }

    #[test]
    fn fixed_vector() {
        let bytes = canonical_bytes(
            "ag_000000000000000000000001",
            1,
            "send_email",
            "success",
            1_705_321_800_000_000,
            None,
            &GENESIS,
            None,
        );
        let expected_hex = concat!(
            "74727573742d676174657761792f726563656970742f763100", // tag
            "0000001b",
            "61675f303030303030303030303030303030303030303030303031", // agent_id
            "0000000000000001",                                       // seq
            "0000000a",
            "73656e645f656d61696c", // action
            "00000007",
            "73756363657373",   // result
            "00060efb2c1de200", // timestamp µs (1_705_321_800_000_000)
            "00",               // no reported_at
            "0000000000000000000000000000000000000000000000000000000000000000",
        );
        assert_eq!(hex::encode(bytes), expected_hex);
    }

    #[test]
    fn moving_bytes_between_fields_changes_the_encoding() {
        let a = canonical_bytes("ag_x", 1, "ab", "c", 0, None, &GENESIS, None);
        let b = canonical_bytes("ag_x", 1, "a", "bc", 0, None, &GENESIS, None);
        assert_ne!(a, b);
        let c = canonical_bytes("ag_x", 1, "a", "b", 0, Some(0), &GENESIS, None);
        let d = canonical_bytes("ag_x", 1, "a", "b", 0, None, &GENESIS, None);
        assert_ne!(c, d);
        let w = |a, j| canonical_bytes("ag_x", 1, "a", "b", 0, None, &GENESIS, Some((a, j)));
        assert_ne!(w("acct_1", "j"), d, "a witness changes the bytes");
        assert_ne!(w("acct_1", "j"), w("acct_1j", ""));
        assert!(w("acct_1", "j").starts_with(&d), "and only appends to them");
    }
}
