//! The digest a signed audit export carries: SHA-256 over every event's RFC 8785
//! (JCS) form followed by a newline, in export order — computable while streaming, and by
//! anyone from the exported JSON alone.

use ring::digest::{Context, SHA256};

/// A running digest of exported events.
pub struct EventDigest {
    ctx: Context,
    count: u64,
}

impl std::fmt::Debug for EventDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDigest")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Default for EventDigest {
    fn default() -> Self {
        Self {
            ctx: Context::new(&SHA256),
            count: 0,
        }
    }
}

impl EventDigest {
    /// Adds one event (an `AuditEvent`, or its JSON value as read back from an export).
    /// Fails only for values with no canonical form (non-finite numbers, which JSON cannot
    /// carry anyway).
    pub fn push<T: serde::Serialize + ?Sized>(&mut self, event: &T) -> Result<(), String> {
        let bytes = serde_jcs::to_vec(event).map_err(|e| e.to_string())?;
        self.ctx.update(&bytes);
        self.ctx.update(b"\n");
        self.count += 1;
        Ok(())
    }

    /// Events pushed so far, and the hex SHA-256.
    pub fn finish(self) -> (u64, String) {
        (self.count, hex::encode(self.ctx.finish()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn order_and_content_matter_key_order_does_not() {
        let a = serde_json::json!({"event_id": "e1", "details": {"x": 1, "y": 2}});
        let a_reordered: Value =
            serde_json::from_str(r#"{"details": {"y": 2, "x": 1}, "event_id": "e1"}"#)
                .unwrap_or_default();
        let b = serde_json::json!({"event_id": "e2"});
        let digest = |events: &[&Value]| {
            let mut d = EventDigest::default();
            events.iter().for_each(|e| d.push(e).unwrap_or_default());
            d.finish()
        };
        assert_eq!(digest(&[&a, &b]), digest(&[&a_reordered, &b]));
        assert_ne!(digest(&[&a, &b]), digest(&[&b, &a]));
        assert_ne!(digest(&[&a]), digest(&[&b]));
        // Empty: the hash of nothing.
        assert_eq!(
            digest(&[]).1,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
