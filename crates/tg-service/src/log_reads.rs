//! The transparency log as anyone reads it: checkpoints, the verifier key, proofs, tiles
//! and entry bundles (all public: they reveal receipt hashes only); and what operators and
//! witnesses do to it: key rotation, cosignatures.

use serde::Serialize;
use serde_json::json;
use tg_access::Principal;
use tg_audit::{Actor, AuditEvent, EventType};
use tg_log::tiles::{TILE_WIDTH, entry_bundle, tile_bytes};
use tg_log::{Checkpoint, Hash, Note, TilePath};

use crate::transparency::{LogRound, new_log_key, verifiers};
use crate::{Gateway, ServiceError, in_transaction, reading};

/// `GET /log/key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogKeyView {
    pub origin: String,
    /// The C2SP verifier key of the key that signs now.
    pub vkey: String,
    /// Every key's vkey, oldest first (older checkpoints verify under these).
    pub vkeys: Vec<String>,
    /// The witnesses whose cosignatures the log accepts (vkeys).
    pub witnesses: Vec<String>,
}

/// `GET /log/proof/inclusion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub hashes: Vec<Hash>,
}

/// What a posted cosignature did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cosigned {
    pub size: u64,
    /// The witnesses whose cosignatures were stored.
    pub witnesses: Vec<String>,
}

/// Tiles and bundles: immutable once served, so their `Cache-Control` may be long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileBytes(pub Vec<u8>);

impl Gateway {
    /// One round of the log (what its worker runs every period): integrate when this
    /// instance holds the sequencer lease, then check the newest checkpoint.
    pub async fn integrate_log(&self) -> Result<LogRound, ServiceError> {
        self.log.round().await
    }

    /// [`Gateway::integrate_log`] on an operator's request.
    pub async fn integrate_log_as(&self, principal: &Principal) -> Result<LogRound, ServiceError> {
        self.require_operator(principal)?;
        self.integrate_log().await
    }

    async fn latest_size(&self) -> Result<u64, ServiceError> {
        let latest = reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok(tx.latest_checkpoint().await?) })
        })
        .await?;
        Ok(latest.map_or(0, |c| c.size))
    }

    /// `GET /log/checkpoint`: the newest signed checkpoint, with the cosignatures
    /// witnesses gave it. `witnessed`: the newest one that has any.
    pub async fn log_checkpoint(&self, witnessed: bool) -> Result<String, ServiceError> {
        let found = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let latest = if witnessed {
                    tx.latest_cosigned_checkpoint().await?
                } else {
                    tx.latest_checkpoint().await?
                };
                let Some(latest) = latest else {
                    return Ok(None);
                };
                let cosigs = tx.cosignatures(latest.size).await?;
                Ok(Some((latest, cosigs)))
            })
        })
        .await?;
        match found {
            Some((checkpoint, cosigs)) => Ok(format!("{}{}", checkpoint.note, cosigs.concat())),
            None if witnessed => Err(ServiceError::NotFound(
                "no checkpoint has been cosigned yet".into(),
            )),
            None => self.log.empty_checkpoint().await,
        }
    }

    /// `GET /log/key`.
    pub async fn log_key(&self) -> Result<LogKeyView, ServiceError> {
        let keys = reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok(tx.log_keys().await?) })
        })
        .await?;
        let origin = self.log.config.origin.clone();
        let vkeys: Vec<String> = verifiers(&origin, &keys).iter().map(|v| v.vkey()).collect();
        Ok(LogKeyView {
            vkey: vkeys
                .last()
                .cloned()
                .ok_or_else(|| ServiceError::internal("no log key"))?,
            vkeys,
            witnesses: self.log.witnesses.iter().map(|w| w.vkey()).collect(),
            origin,
        })
    }

    /// `GET /log/proof/inclusion?hash=&tree_size=`: `hash` is the leaf hash,
    /// SHA-256(0x00 ‖ receipt_hash).
    pub async fn log_inclusion(
        &self,
        leaf: Hash,
        tree_size: u64,
    ) -> Result<InclusionProof, ServiceError> {
        // One short read: the signed size (unless the monitor already accepted one at
        // least as large), the leaf's index, then the tiles its proof needs.
        let accepted = self.log.accepted_size();
        let (index, tiles) = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                if tree_size == 0 || tree_size > accepted {
                    let size = tx.latest_checkpoint().await?.map_or(0, |c| c.size);
                    if tree_size == 0 || tree_size > size {
                        return Err(ServiceError::Invalid(format!(
                            "tree_size must be between 1 and the newest checkpoint's size ({size})"
                        )));
                    }
                }
                let index = tx
                    .leaf_index(&leaf, tree_size)
                    .await?
                    .filter(|i| *i < tree_size)
                    .ok_or_else(|| {
                        ServiceError::NotFound(format!(
                            "no leaf with that hash in the tree of size {tree_size}"
                        ))
                    })?;
                let wanted = tg_log::Wanted::default();
                tg_log::inclusion_proof(&wanted, index, tree_size)
                    .map_err(|e| ServiceError::internal_because("an inclusion proof", e))?;
                let ids = wanted.tiles().map_err(|e| {
                    ServiceError::internal_because("the tiles of an inclusion proof", e)
                })?;
                Ok((index, tx.tiles(&ids).await?))
            })
        })
        .await?;
        let hashes = tg_log::inclusion_proof(&tiles, index, tree_size)
            .map_err(|e| ServiceError::internal_because("an inclusion proof", e))?;
        Ok(InclusionProof {
            leaf_index: index,
            tree_size,
            hashes,
        })
    }

    /// `GET /log/proof/consistency?first=&second=`.
    pub async fn log_consistency(
        &self,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, ServiceError> {
        let size = self.latest_size().await?;
        if first > second || second > size {
            return Err(ServiceError::Invalid(format!(
                "need first ≤ second ≤ the newest checkpoint's size ({size})"
            )));
        }
        crate::transparency::consistency_from_store(self.store.as_ref(), first, second).await
    }

    /// `GET /log/tile/…`: a hash tile or an entry bundle of the newest checkpoint's tree.
    pub async fn log_tile(&self, path: TilePath) -> Result<TileBytes, ServiceError> {
        let size = self.latest_size().await?;
        let not_found =
            || ServiceError::NotFound(format!("`{}` is not in the log's tree", path.render()));
        // Hashes at the tile's level in the signed tree, and how many this tile needs.
        let level = path.level.unwrap_or(0);
        let at_level = size.checked_shr(u32::from(level) * 8).unwrap_or(0);
        let start = path
            .index
            .checked_mul(TILE_WIDTH as u64)
            .ok_or_else(not_found)?;
        let width = path.width();
        if start.saturating_add(width as u64) > at_level {
            return Err(not_found());
        }
        // A partial tile is served only while it is the right edge's (then the full one).
        if path.partial.is_some() && start + TILE_WIDTH as u64 <= at_level {
            return Err(not_found());
        }
        match path.level {
            Some(level) => {
                let id = tg_log::TileId {
                    level,
                    index: path.index,
                };
                let tiles = reading(self.store.as_ref(), move |tx| {
                    Box::pin(async move { Ok(tx.tiles(&[id]).await?) })
                })
                .await?;
                let hashes = tiles
                    .0
                    .get(&id)
                    .and_then(|t| t.get(..width))
                    .ok_or_else(not_found)?;
                Ok(TileBytes(tile_bytes(hashes)))
            }
            None => {
                let limit = u32::try_from(width).unwrap_or(u32::MAX);
                let entries = reading(self.store.as_ref(), move |tx| {
                    Box::pin(async move { Ok(tx.log_entries(start, limit).await?) })
                })
                .await?;
                if entries.len() != width {
                    return Err(not_found());
                }
                let hashes: Vec<Hash> = entries.iter().map(|e| e.receipt_hash).collect();
                Ok(TileBytes(entry_bundle(&hashes)))
            }
        }
    }

    /// `POST /admin/log/keys/rotate` (operator): a new checkpoint key signs from the next
    /// integration on. Older checkpoints keep verifying under the old keys, all published.
    pub async fn rotate_log_key(
        &self,
        principal: &Principal,
        actor: &Actor,
    ) -> Result<LogKeyView, ServiceError> {
        self.require_operator(principal)?;
        let now = self.now();
        let (secret, actor) = (self.token_settings.secret.clone(), actor.clone());
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                // Strictly newer than every key, even on a clock that has not moved: the
                // newest key signs, and `log_keys` lists oldest first.
                let newest = tx.log_keys().await?.last().map(|k| k.created_at);
                let at = match newest {
                    Some(t) if t >= now => tg_core::Timestamp::from_micros(t.as_micros() + 1),
                    _ => now,
                };
                let id = format!("log-{}", tg_core::random_hex::<8>());
                let key = new_log_key(secret.expose(), &id, at)?;
                tx.add_log_key(&key).await?;
                let details = json!({"key_id": key.key_id});
                tx.append_audit(&AuditEvent::new(
                    EventType::LogKeyRotated,
                    None,
                    details,
                    &actor,
                    now,
                ))
                .await?;
                Ok(())
            })
        })
        .await?;
        self.log_key().await
    }

    /// `POST /log/cosignature`: a witness's cosigned checkpoint (the signed note with its
    /// cosignature lines). The note must carry the log's own signature over a checkpoint
    /// the log stored; each cosignature by a configured witness is verified and kept.
    pub async fn add_cosignature(
        &self,
        note: &str,
        actor: &Actor,
    ) -> Result<Cosigned, ServiceError> {
        let parsed = Note::parse(note).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let checkpoint =
            Checkpoint::parse(&parsed.text).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let keys = reading(self.store.as_ref(), |tx| {
            Box::pin(async move { Ok(tx.log_keys().await?) })
        })
        .await?;
        parsed
            .verify(&verifiers(&self.log.config.origin, &keys))
            .map_err(|e| ServiceError::Invalid(format!("not a checkpoint of this log: {e}")))?;
        let size = checkpoint.size;
        let stored = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.checkpoint_at(size).await?) })
        })
        .await?;
        if stored.as_ref().map(|c| c.root) != Some(checkpoint.root) {
            return Err(ServiceError::Invalid(format!(
                "the log signed no checkpoint of size {size} with that root"
            )));
        }
        let cosigned = parsed.verify(&self.log.witnesses).map_err(|e| {
            ServiceError::Invalid(format!("no valid cosignature by a configured witness: {e}"))
        })?;
        let now = self.now();
        let mut lines = Vec::new();
        for v in &cosigned {
            let line = parsed
                .signatures
                .iter()
                .find(|s| s.name == v.verifier.name && s.key_id == v.verifier.key_id)
                .map(tg_log::note::Signature::line)
                .ok_or_else(|| ServiceError::internal("verified signature not found"))?;
            lines.push((v.verifier.name.clone(), line));
        }
        let witnesses: Vec<String> = lines.iter().map(|(n, _)| n.clone()).collect();
        let actor = actor.clone();
        let names = witnesses.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                for (name, line) in &lines {
                    tx.put_cosignature(size, name, line, now).await?;
                }
                let details = json!({"size": size, "witnesses": names});
                tx.append_audit(&AuditEvent::new(
                    EventType::LogCosigned,
                    None,
                    details,
                    &actor,
                    now,
                ))
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(Cosigned { size, witnesses })
    }
}
