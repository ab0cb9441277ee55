//! C2SP signed notes (signed-note), checkpoints (tlog-checkpoint) and Ed25519
//! cosignatures (tlog-cosignature v1).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::LogError;
use crate::hash::{Hash, sha256};

/// Signature type of an Ed25519 note signature.
pub const ED25519_NOTE: u8 = 0x01;
/// Signature type of an Ed25519 `cosignature/v1`.
pub const ED25519_COSIGNATURE: u8 = 0x04;
const DASH: &str = "\u{2014} ";
/// At most this many signature lines are read from a note (as Go's `note.Open`).
pub const MAX_SIGNATURES: usize = 100;

/// SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4].
pub fn key_id(name: &str, kind: u8, public: &[u8; 32]) -> [u8; 4] {
    let mut data = Vec::with_capacity(name.len() + 34);
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(kind);
    data.extend_from_slice(public);
    let h = sha256(&data);
    [h[0], h[1], h[2], h[3]]
}

/// A key name: non-empty, no whitespace, no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The vkey `<name>+<hex key id>+<base64(type ‖ public key)>`.
pub fn vkey(name: &str, kind: u8, public: &[u8; 32]) -> String {
    let mut material = vec![kind];
    material.extend_from_slice(public);
    format!(
        "{name}+{}+{}",
        hex::encode(key_id(name, kind, public)),
        B64.encode(material)
    )
}

/// The log's checkpoint signer: an Ed25519 key under a name (the log's origin).
#[derive(Debug)]
pub struct NoteSigner {
    name: String,
    pair: Ed25519KeyPair,
    public: [u8; 32],
}

/// A fresh Ed25519 key as PKCS#8 (what the gateway seals and stores).
pub fn generate_key() -> Result<Vec<u8>, LogError> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| LogError::Key("cannot generate an Ed25519 key".into()))
}

fn public_of(pair: &Ed25519KeyPair) -> Result<[u8; 32], LogError> {
    pair.public_key()
        .as_ref()
        .try_into()
        .map_err(|_| LogError::Key("Ed25519 public key is not 32 bytes".into()))
}

impl NoteSigner {
    pub fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Self, LogError> {
        if !valid_name(name) {
            return Err(LogError::Key(format!("`{name}` is not a valid key name")));
        }
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|_| LogError::Key("not an Ed25519 PKCS#8 key".into()))?;
        let public = public_of(&pair)?;
        Ok(Self {
            name: name.to_owned(),
            pair,
            public,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    pub fn vkey(&self) -> String {
        vkey(&self.name, ED25519_NOTE, &self.public)
    }

    /// The whole signed note over `text` (which must end in a newline).
    pub fn sign(&self, text: &str) -> Result<String, LogError> {
        check_text(text)?;
        let mut sig = key_id(&self.name, ED25519_NOTE, &self.public).to_vec();
        sig.extend_from_slice(self.pair.sign(text.as_bytes()).as_ref());
        Ok(format!("{text}\n{DASH}{} {}\n", self.name, B64.encode(sig)))
    }
}

/// A witness's cosigning key (`cosignature/v1`).
#[derive(Debug)]
pub struct Cosigner {
    name: String,
    pair: Ed25519KeyPair,
    public: [u8; 32],
}

impl Cosigner {
    pub fn from_pkcs8(name: &str, pkcs8: &[u8]) -> Result<Self, LogError> {
        let signer = NoteSigner::from_pkcs8(name, pkcs8)?;
        Ok(Self {
            name: signer.name,
            pair: signer.pair,
            public: signer.public,
        })
    }

    pub fn vkey(&self) -> String {
        vkey(&self.name, ED25519_COSIGNATURE, &self.public)
    }

    /// The signature line cosigning the checkpoint `text` at `timestamp` (POSIX seconds).
    pub fn cosign(&self, text: &str, timestamp: u64) -> String {
        let mut sig = key_id(&self.name, ED25519_COSIGNATURE, &self.public).to_vec();
        sig.extend_from_slice(&timestamp.to_be_bytes());
        sig.extend_from_slice(self.pair.sign(&cosigned_message(text, timestamp)).as_ref());
        format!("{DASH}{} {}\n", self.name, B64.encode(sig))
    }
}

fn cosigned_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

fn check_text(text: &str) -> Result<(), LogError> {
    if !text.ends_with('\n') || text.contains("\n\n") {
        return Err(LogError::Note(
            "note text must end in one newline and hold no blank line".into(),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(LogError::Note("note text holds a control character".into()));
    }
    Ok(())
}

/// A public key a note is checked against (parsed from its vkey).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub name: String,
    pub key_id: [u8; 4],
    pub kind: u8,
    pub public: [u8; 32],
}

impl Verifier {
    /// Parses `<name>+<hex key id>+<base64(type ‖ key)>`; the key id must be the one the
    /// rest computes to. Types: Ed25519 notes (0x01) and cosignatures (0x04).
    pub fn parse(vkey: &str) -> Result<Self, LogError> {
        let bad = |why: &str| LogError::Key(format!("vkey: {why}"));
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected <name>+<key id>+<key>"));
        };
        if !valid_name(name) {
            return Err(bad("invalid name"));
        }
        let id: [u8; 4] = hex::decode(id)
            .ok()
            .and_then(|b| b.try_into().ok())
            .filter(|_| id.len() == 8)
            .ok_or_else(|| bad("key id is not 8 hex digits"))?;
        let material = B64.decode(material).map_err(|_| bad("key is not base64"))?;
        let (kind, public) = material.split_first().ok_or_else(|| bad("empty key"))?;
        if *kind != ED25519_NOTE && *kind != ED25519_COSIGNATURE {
            return Err(bad("unsupported signature type"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
        if key_id(name, *kind, &public) != id {
            return Err(bad("key id does not match the key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: id,
            kind: *kind,
            public,
        })
    }

    pub fn vkey(&self) -> String {
        vkey(&self.name, self.kind, &self.public)
    }

    /// The verifier of an Ed25519 note key `public` named `name`.
    pub fn ed25519(name: &str, public: [u8; 32]) -> Self {
        Self {
            name: name.to_owned(),
            key_id: key_id(name, ED25519_NOTE, &public),
            kind: ED25519_NOTE,
            public,
        }
    }

    /// Checks one signature (its bytes after the key id) over `text`; the cosignature's
    /// timestamp when it is one.
    fn check(&self, text: &str, sig: &[u8]) -> Result<Option<u64>, LogError> {
        let key = UnparsedPublicKey::new(&ED25519, &self.public);
        let bad = || LogError::Signature(self.name.clone());
        match self.kind {
            ED25519_NOTE => {
                key.verify(text.as_bytes(), sig).map_err(|_| bad())?;
                Ok(None)
            }
            _ => {
                let (ts, sig) = sig.split_at_checked(8).ok_or_else(bad)?;
                let ts = u64::from_be_bytes(ts.try_into().map_err(|_| bad())?);
                if ts > i64::MAX as u64 {
                    return Err(bad());
                }
                key.verify(&cosigned_message(text, ts), sig)
                    .map_err(|_| bad())?;
                Ok(Some(ts))
            }
        }
    }
}

/// A note split into its text and signature lines (unverified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, final newline included.
    pub text: String,
    /// Each line as (key name, key id, signature bytes after the key id).
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub key_id: [u8; 4],
    pub bytes: Vec<u8>,
}

impl Signature {
    /// The line as it appears in a note.
    pub fn line(&self) -> String {
        let mut all = self.key_id.to_vec();
        all.extend_from_slice(&self.bytes);
        format!("{DASH}{} {}\n", self.name, B64.encode(all))
    }
}

impl Note {
    /// Splits at the last blank line; every line after it must be a signature line.
    pub fn parse(note: &str) -> Result<Note, LogError> {
        let bad = |why: &str| LogError::Note(why.to_owned());
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| bad("no blank line before the signatures"))?;
        let (text, sigs) = note.split_at(split + 1);
        let sigs = sigs.strip_prefix('\n').unwrap_or(sigs);
        check_text(text)?;
        if !sigs.ends_with('\n') {
            return Err(bad("the signature block must end in a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs.lines() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(bad("too many signatures"));
            }
            let line = line
                .strip_prefix(DASH)
                .ok_or_else(|| bad("a signature line must start with an em dash"))?;
            let (name, b64) = line
                .split_once(' ')
                .ok_or_else(|| bad("malformed signature line"))?;
            if !valid_name(name) || b64.contains(' ') {
                return Err(bad("malformed signature line"));
            }
            let all = B64
                .decode(b64)
                .map_err(|_| bad("signature is not base64"))?;
            let (id, bytes) = all
                .split_at_checked(4)
                .ok_or_else(|| bad("signature too short"))?;
            signatures.push(Signature {
                name: name.to_owned(),
                key_id: id.try_into().map_err(|_| bad("signature too short"))?,
                bytes: bytes.to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(bad("no signature"));
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Checks the signatures by known keys (by name and key id); unknown ones are skipped.
    /// Fails when a known key's signature does not verify, or none is known.
    pub fn verify(&self, verifiers: &[Verifier]) -> Result<Vec<Verified>, LogError> {
        let mut verified = Vec::new();
        for sig in &self.signatures {
            let Some(v) = verifiers
                .iter()
                .find(|v| v.name == sig.name && v.key_id == sig.key_id)
            else {
                continue;
            };
            let timestamp = v.check(&self.text, &sig.bytes)?;
            verified.push(Verified {
                verifier: v.clone(),
                timestamp,
            });
        }
        if verified.is_empty() {
            return Err(LogError::Note("no signature by a known key".into()));
        }
        Ok(verified)
    }
}

/// A signature that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub verifier: Verifier,
    /// A cosignature's time (POSIX seconds).
    pub timestamp: Option<u64>,
}

/// A tree head as a C2SP checkpoint body: origin, size, base64 root, each on its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Reads the first three lines of a checkpoint text (extension lines are allowed).
    pub fn parse(text: &str) -> Result<Checkpoint, LogError> {
        let bad = |why: &str| LogError::Note(format!("checkpoint: {why}"));
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin"))?;
        let size = lines.next().ok_or_else(|| bad("no size"))?;
        if size.is_empty()
            || (size.len() > 1 && size.starts_with('0'))
            || !size.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("size is not a decimal number"));
        }
        let size = size.parse::<u64>().map_err(|_| bad("size out of range"))?;
        let root = lines.next().ok_or_else(|| bad("no root"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("root is not a base64 SHA-256 hash"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}
