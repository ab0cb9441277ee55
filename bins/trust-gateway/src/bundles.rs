//! `TRUST_BUNDLE_DIR`: per trust domain, `<trust-domain>.pem` (X.509 authorities) and/or
//! `<trust-domain>.jwks.json` (a SPIFFE bundle). Changes are picked up without a restart:
//! the directory is checked every few seconds, and `POST /admin/trust-bundles/reload`
//! reloads at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tg_identity::{TrustBundle, TrustBundles};
use tg_service::{BundleSource, Gateway};

/// How often the directory is checked for changes.
pub const POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct DirectorySource {
    pub dir: PathBuf,
}

impl DirectorySource {
    /// `(file name, modified, length)` of every bundle file: a change in any means reload.
    fn fingerprint(&self) -> Vec<(String, Option<SystemTime>, u64)> {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".pem") || name.ends_with(".jwks.json") {
                    let meta = e.metadata().ok();
                    out.push((
                        name,
                        meta.as_ref().and_then(|m| m.modified().ok()),
                        meta.map_or(0, |m| m.len()),
                    ));
                }
            }
        }
        out.sort();
        out
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

impl BundleSource for DirectorySource {
    fn load(&self) -> Result<TrustBundles, String> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| format!("cannot read TRUST_BUNDLE_DIR {}: {e}", self.dir.display()))?;
        let mut by_domain: BTreeMap<String, TrustBundle> = BTreeMap::new();
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (domain, jwks) = if let Some(d) = name.strip_suffix(".jwks.json") {
                (d.to_owned(), true)
            } else if let Some(d) = name.strip_suffix(".pem") {
                (d.to_owned(), false)
            } else {
                continue;
            };
            let bundle = match by_domain.get_mut(&domain) {
                Some(b) => b,
                None => {
                    let b = TrustBundle::new(&domain).map_err(|e| format!("{name}: {e}"))?;
                    by_domain.entry(domain.clone()).or_insert(b)
                }
            };
            let bytes = read(&path)?;
            let added = if jwks {
                bundle.add_spiffe_jwks(&bytes).map(|load| {
                    for skipped in load.skipped {
                        tracing::warn!(file = %name, "trust bundle key skipped: {skipped}");
                    }
                })
            } else {
                bundle.add_x509_pem(&bytes).map(|_| ())
            };
            added.map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(TrustBundles::new(by_domain.into_values()))
    }
}

/// Reloads the gateway's bundles whenever the directory changes.
pub fn watch(source: DirectorySource, gateway: Arc<Gateway>) {
    tokio::spawn(async move {
        let mut seen = source.fingerprint();
        let mut tick = tokio::time::interval(POLL);
        loop {
            tick.tick().await;
            let now = source.fingerprint();
            if now == seen {
                continue;
            }
            seen = now;
            if let Err(e) = gateway.reload_trust_bundles() {
                tracing::warn!(error = %tg_core::ErrorChain(&e), "trust bundles changed but could not be loaded; keeping the previous ones");
            }
        }
    });
}
