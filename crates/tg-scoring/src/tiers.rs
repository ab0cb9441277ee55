use serde::{Deserialize, Serialize};

/// One tier: scores in `[min_score, max_score)` (the top tier includes 1.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TierBand {
    pub tier: u8,
    pub name: String,
    pub min_score: f64,
    pub max_score: f64,
    /// What the tier is for, in words (V2's `description`).
    #[serde(default)]
    pub description: String,
}

/// Tier bands numbered 0..n, contiguous over [0, 1], each non-empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiers {
    bands: Vec<TierBand>,
}

/// A change to one band; the neighbours' shared boundaries move with it. Every field is
/// optional, so V2's whole tier object (`tier, name, min_score, max_score, description,
/// permissions`) is a valid edit too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TierEdit {
    /// When given, must be the tier in the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    pub name: Option<String>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Exactly the catalog actions this tier permits (`"*"`: every catalog action); see
    /// [`crate::Catalog::grant_exactly`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// Longest tier description.
pub const MAX_DESCRIPTION: usize = 500;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TiersError {
    #[error("tier {0} does not exist")]
    UnknownTier(u8),
    #[error("invalid tiers: {0}")]
    Invalid(String),
}

impl Tiers {
    /// The V2 bands: 0 Untrusted [0, 0.2), 1 Limited [0.2, 0.5), 2 Trusted [0.5, 0.8),
    /// 3 Privileged [0.8, 1].
    pub fn v2_default() -> Self {
        let band = |tier, name: &str, min_score, max_score, description: &str| TierBand {
            tier,
            name: name.to_owned(),
            min_score,
            max_score,
            description: description.to_owned(),
        };
        Tiers {
            bands: vec![
                band(
                    0,
                    "Untrusted",
                    0.0,
                    0.2,
                    "Read-only access, no external actions",
                ),
                band(1, "Limited", 0.2, 0.5, "Basic actions, rate-limited"),
                band(
                    2,
                    "Trusted",
                    0.5,
                    0.8,
                    "Most actions with some restrictions",
                ),
                band(3, "Privileged", 0.8, 1.0, "Full access, self-approval"),
            ],
        }
    }

    pub fn new(mut bands: Vec<TierBand>) -> Result<Self, TiersError> {
        bands.sort_by_key(|b| b.tier);
        let tiers = Tiers { bands };
        tiers.validate()?;
        Ok(tiers)
    }

    fn validate(&self) -> Result<(), TiersError> {
        let invalid = |m: String| Err(TiersError::Invalid(m));
        if self.bands.is_empty() || self.bands.len() > 16 {
            return invalid("between 1 and 16 tiers are required".into());
        }
        let mut expected_min = 0.0;
        for (i, band) in self.bands.iter().enumerate() {
            if usize::from(band.tier) != i {
                return invalid(format!(
                    "tiers must be numbered 0..{} without gaps",
                    self.bands.len()
                ));
            }
            if band.name.trim().is_empty() || band.name.len() > 64 {
                return invalid(format!(
                    "tier {} needs a name of 1–64 characters",
                    band.tier
                ));
            }
            if !band.min_score.is_finite() || !band.max_score.is_finite() {
                return invalid(format!("tier {} bounds must be numbers", band.tier));
            }
            if band.min_score != expected_min {
                return invalid(format!(
                    "tier {} starts at {} but the band below ends at {expected_min}: bands must be contiguous over [0, 1]",
                    band.tier, band.min_score
                ));
            }
            if band.max_score <= band.min_score {
                return invalid(format!(
                    "tier {} is empty: max_score must exceed min_score",
                    band.tier
                ));
            }
            expected_min = band.max_score;
        }
        if expected_min != 1.0 {
            return invalid(format!(
                "the top tier must end at 1, it ends at {expected_min}"
            ));
        }
        Ok(())
    }

    pub fn bands(&self) -> &[TierBand] {
        &self.bands
    }

    pub fn band(&self, tier: u8) -> Option<&TierBand> {
        self.bands.get(usize::from(tier))
    }

    /// The tier a score falls in. Scores outside [0, 1] are clamped first.
    pub fn tier_for(&self, score: f64) -> &TierBand {
        let score = if score.is_nan() {
            0.0
        } else {
            score.clamp(0.0, 1.0)
        };
        let mut found = self.bands.first();
        for band in &self.bands {
            if score >= band.min_score {
                found = Some(band);
            }
        }
        // `validate` guarantees at least one band.
        found.unwrap_or_else(|| unreachable_band())
    }

    /// Applies `edit` to tier `n`, moving the neighbours' shared boundaries, and checks the
    /// result: tier 0 still starts at 0, the top tier still ends at 1, no band is empty.
    pub fn edited(&self, n: u8, edit: &TierEdit) -> Result<Tiers, TiersError> {
        let i = usize::from(n);
        let mut bands = self.bands.clone();
        let Some(band) = bands.get_mut(i) else {
            return Err(TiersError::UnknownTier(n));
        };
        if let Some(t) = edit.tier
            && t != n
        {
            return Err(TiersError::Invalid(format!(
                "`tier` is {t} but the path names tier {n}"
            )));
        }
        if let Some(name) = &edit.name {
            band.name = name.clone();
        }
        if let Some(d) = &edit.description {
            if d.chars().count() > MAX_DESCRIPTION {
                return Err(TiersError::Invalid(format!(
                    "`description` is longer than {MAX_DESCRIPTION} characters"
                )));
            }
            band.description = d.clone();
        }
        if let Some(min) = edit.min_score {
            band.min_score = min;
            if let Some(below) = i.checked_sub(1).and_then(|j| bands.get_mut(j)) {
                below.max_score = min;
            }
        }
        if let Some(max) = edit.max_score {
            if let Some(band) = bands.get_mut(i) {
                band.max_score = max;
            }
            if let Some(above) = bands.get_mut(i + 1) {
                above.min_score = max;
            }
        }
        let tiers = Tiers { bands };
        tiers.validate()?;
        Ok(tiers)
    }
}

#[allow(clippy::panic)]
fn unreachable_band() -> &'static TierBand {
    // Tiers are validated non-empty at construction; reaching this is a bug.
    panic!("tiers validated non-empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_bands_place_scores() {
        let t = Tiers::v2_default();
        let check = |score: f64, tier: u8| assert_eq!(t.tier_for(score).tier, tier, "{score}");
        check(0.0, 0);
        check(0.1999, 0);
        check(0.2, 1);
        check(0.4999, 1);
        check(0.5, 2);
        check(0.8, 3);
        check(1.0, 3);
        check(1.7, 3);
        check(-1.0, 0);
        check(f64::NAN, 0);
    }

    #[test]
    fn edits_keep_bands_contiguous() {
        let t = Tiers::v2_default();
        let edit = TierEdit {
            min_score: Some(0.6),
            ..TierEdit::default()
        };
        let e = t.edited(2, &edit);
        let e = e.as_ref().map(|t| {
            (
                t.band(1).map(|b| b.max_score),
                t.band(2).map(|b| b.min_score),
            )
        });
        assert_eq!(e, Ok((Some(0.6), Some(0.6))));
    }

    #[test]
    fn edits_that_break_bands_are_refused() {
        let t = Tiers::v2_default();
        let refuse = |n: u8, edit: TierEdit| assert!(t.edited(n, &edit).is_err(), "{n} {edit:?}");
        refuse(
            0,
            TierEdit {
                min_score: Some(0.1),
                ..TierEdit::default()
            },
        );
        refuse(
            3,
            TierEdit {
                max_score: Some(0.9),
                ..TierEdit::default()
            },
        );
        refuse(
            2,
            TierEdit {
                min_score: Some(0.1),
                ..TierEdit::default()
            },
        );
        refuse(
            2,
            TierEdit {
                min_score: Some(0.9),
                ..TierEdit::default()
            },
        );
        refuse(
            1,
            TierEdit {
                name: Some(" ".into()),
                ..TierEdit::default()
            },
        );
        refuse(
            1,
            TierEdit {
                min_score: Some(f64::NAN),
                ..TierEdit::default()
            },
        );
        assert_eq!(
            t.edited(7, &TierEdit::default()),
            Err(TiersError::UnknownTier(7))
        );
    }
}
