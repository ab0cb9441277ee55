use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A kind of identifier: its prefix (`ag_`, `rcpt_`, …).
pub trait IdKind: 'static {
    const PREFIX: &'static str;
}

/// A prefixed identifier: `PREFIX` + 24 lowercase hex digits, all random
/// ([`Id::generate`]) or time-ordered ([`Id::generate_at`]: 48 bits of milliseconds, then
/// 48 random bits, as UUIDv7 orders them).
///
/// [`Id::parse`] accepts exactly that shape and nothing else.
pub struct Id<K: IdKind> {
    value: String,
    kind: PhantomData<fn() -> K>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed id `{input}`: expected `{prefix}` followed by 24 lowercase hex digits")]
pub struct IdError {
    pub input: String,
    pub prefix: &'static str,
}

const HEX_LEN: usize = 24;

impl<K: IdKind> Id<K> {
    /// A fresh identifier from the OS CSPRNG.
    pub fn generate() -> Self {
        Self::of_bytes(crate::random_bytes::<12>())
    }

    /// A fresh identifier that sorts by `at` (to the millisecond) and then at random:
    /// rows keyed by it are appended at the end of their index instead of all over it.
    /// Still unpredictable (48 random bits), but it reveals `at`.
    pub fn generate_at(at: crate::Timestamp) -> Self {
        let millis = u64::try_from(at.as_micros() / 1000).unwrap_or(0) & 0xffff_ffff_ffff;
        let [_, _, t0, t1, t2, t3, t4, t5] = millis.to_be_bytes();
        let [r0, r1, r2, r3, r4, r5] = crate::random_bytes::<6>();
        Self::of_bytes([t0, t1, t2, t3, t4, t5, r0, r1, r2, r3, r4, r5])
    }

    /// `PREFIX` and the 12 bytes in lowercase hex, written into one string of its final
    /// size (ids are made at every decision and record: no `format!`, no second string).
    fn of_bytes(raw: [u8; HEX_LEN / 2]) -> Self {
        let mut value = String::with_capacity(K::PREFIX.len() + HEX_LEN);
        value.push_str(K::PREFIX);
        for nibble in raw.into_iter().flat_map(|b| [b >> 4, b & 0xf]) {
            value.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
        Self {
            value,
            kind: PhantomData,
        }
    }

    pub fn parse(input: &str) -> Result<Self, IdError> {
        let error = || IdError {
            input: input.chars().take(64).collect(),
            prefix: K::PREFIX,
        };
        let hex = input.strip_prefix(K::PREFIX).ok_or_else(error)?;
        let well_formed =
            hex.len() == HEX_LEN && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return Err(error());
        }
        Ok(Self {
            value: input.to_owned(),
            kind: PhantomData,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl<K: IdKind> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: IdKind> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<K: IdKind> Eq for Id<K> {}

impl<K: IdKind> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<K: IdKind> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: IdKind> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl<K: IdKind> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de, K: IdKind> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Id::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Agent;
    impl IdKind for Agent {
        const PREFIX: &'static str = "ag_";
    }

    #[test]
    fn time_ordered_ids_parse_and_sort_by_time() {
        let early = Id::<Agent>::generate_at(crate::Timestamp::from_secs(1_798_761_600));
        let late = Id::<Agent>::generate_at(crate::Timestamp::from_secs(1_798_761_601));
        assert_eq!(Id::<Agent>::parse(early.as_str()), Ok(early.clone()));
        assert!(early.as_str() < late.as_str());
        assert!(
            early.as_str().starts_with("ag_01a2ce8bd400"),
            "{}",
            early.as_str()
        );
        let twin = Id::<Agent>::generate_at(crate::Timestamp::from_secs(1_798_761_600));
        assert_ne!(early, twin, "48 random bits after the time");
    }

    #[test]
    fn generated_ids_parse_and_differ() {
        let a = Id::<Agent>::generate();
        let b = Id::<Agent>::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 3 + 24);
        assert_eq!(Id::<Agent>::parse(a.as_str()), Ok(a));
    }

    #[test]
    fn parse_accepts_only_the_exact_shape() {
        let check =
            |input: &str, ok: bool| assert_eq!(Id::<Agent>::parse(input).is_ok(), ok, "{input}");
        check("ag_9deeca233ed8ec80ce959c1f", true);
        check("ag_9DEECA233ED8EC80CE959C1F", false);
        check("ag_9deeca233ed8ec80ce959c1", false);
        check("ag_9deeca233ed8ec80ce959c1f0", false);
        check("del_9deeca233ed8ec80ce959c1f", false);
        check("ag_9deeca233ed8ec80ce959c1g", false);
        check("", false);
        check("ag_", false);
        check("../../etc/passwd", false);
    }
}
