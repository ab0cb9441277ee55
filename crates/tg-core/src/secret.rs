//! Key material that never prints.

use std::fmt;

/// A secret (`SECRET_KEY`'s bytes, `JWT_SECRET`, an API key from the environment): `Debug`
/// shows only `<redacted>`, there is no `Display` and no `Serialize`, and the value is
/// reached only through [`Secret::expose`], so formatting a struct that holds one, an
/// error or a log field, cannot leak it. Not zeroed on drop: the process's memory is not
/// treated as a boundary here.
#[derive(Clone, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The value, for the one place that uses it (a key derivation, a comparison).
    pub const fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn formatting_never_shows_the_value() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            key: Secret<String>,
            bytes: Option<Secret<Vec<u8>>>,
        }
        let h = Holder {
            key: Secret::new("tgk_live_hunter2".to_owned()),
            bytes: Some(Secret::new(b"hunter2".to_vec())),
        };
        for shown in [format!("{h:?}"), format!("{h:#?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("104"), "not as bytes either: {shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        assert_eq!(h.key.expose(), "tgk_live_hunter2");
    }
}
