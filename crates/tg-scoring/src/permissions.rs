//! V2's per-tier `permissions`, read from and written to the action catalog.
//!
//! The catalog is monotone: an action a tier permits, every higher tier permits too. So a
//! tier's permissions are the catalog actions whose `required_tier` is at most it, and
//! setting them moves rules across the tier's lower edge:
//! - a listed action the tier does not yet permit comes down to it (added if new, at the
//!   tier's floor score);
//! - an action it permits that is not listed goes up to the next tier (the score
//!   requirement rises to that tier's floor if it was lower), or — above the top tier —
//!   leaves the catalog, which denies it everywhere.

use crate::policy::{ActionRule, Catalog, PolicyError};
use crate::tiers::Tiers;

/// In a permissions list: every action in the catalog.
pub const ALL_ACTIONS: &str = "*";

impl Catalog {
    /// The actions `tier` permits, sorted (V2's `permissions`).
    pub fn permitted_at(&self, tier: u8) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|(_, r)| r.required_tier <= tier)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Makes `tier` permit exactly `permissions` (module docs). All or nothing: on an
    /// error the catalog is unchanged.
    pub fn grant_exactly(
        &mut self,
        tier: u8,
        permissions: &[String],
        tiers: &Tiers,
    ) -> Result<(), PolicyError> {
        let Some(band) = tiers.band(tier) else {
            return Err(PolicyError::Action(format!(
                "tier {tier} is not a configured tier"
            )));
        };
        let everything = permissions.iter().any(|p| p == ALL_ACTIONS);
        let mut next = self.clone();
        for action in permissions.iter().filter(|p| *p != ALL_ACTIONS) {
            let rule = match self.get(action) {
                None => ActionRule {
                    required_tier: tier,
                    min_score: band.min_score,
                },
                Some(r) if r.required_tier > tier => ActionRule {
                    required_tier: tier,
                    min_score: r.min_score.min(band.min_score),
                },
                Some(_) => continue,
            };
            next.set(action, rule, tiers)?;
        }
        if !everything {
            for (action, rule) in self.entries() {
                if rule.required_tier > tier || permissions.iter().any(|p| p == action) {
                    continue;
                }
                match tier.checked_add(1).and_then(|t| tiers.band(t)) {
                    Some(above) => next.set(
                        action,
                        ActionRule {
                            required_tier: above.tier,
                            min_score: rule.min_score.max(above.min_score),
                        },
                        tiers,
                    )?,
                    None => {
                        next.remove(action);
                    }
                }
            }
        }
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Policy, Preset};

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_tier_permits_what_it_and_the_tiers_below_require() {
        let p = Policy::preset(Preset::GatewayV2);
        assert_eq!(
            p.catalog.permitted_at(0),
            names(&["read_config", "view_status"])
        );
        let t1 = p.catalog.permitted_at(1);
        assert!(t1.contains(&"read_data".to_owned()) && t1.contains(&"read_config".to_owned()));
        assert!(!t1.contains(&"send_email".to_owned()));
        assert_eq!(p.catalog.permitted_at(3).len(), p.catalog.len());
    }

    #[test]
    fn granting_moves_rules_across_the_tier_edge() {
        let p = Policy::preset(Preset::GatewayV2);
        let mut c = p.catalog.clone();
        // Tier 1 gains send_email and a new action, and loses read_data.
        let mut want = c.permitted_at(1);
        want.retain(|a| a != "read_data");
        want.extend(names(&["send_email", "summarise"]));
        c.grant_exactly(1, &want, &p.tiers).unwrap();
        want.sort();
        assert_eq!(c.permitted_at(1), want);
        let email = c.get("send_email").unwrap();
        assert_eq!((email.required_tier, email.min_score), (1, 0.2));
        let new = c.get("summarise").unwrap();
        assert_eq!((new.required_tier, new.min_score), (1, 0.2));
        let read = c.get("read_data").unwrap();
        assert_eq!((read.required_tier, read.min_score), (2, 0.5));
        // Tier 0 still permits only its own.
        assert_eq!(c.permitted_at(0), p.catalog.permitted_at(0));
    }

    #[test]
    fn the_top_tier_drops_what_it_no_longer_permits_and_star_keeps_all() {
        let p = Policy::preset(Preset::GatewayV2);
        let mut c = p.catalog.clone();
        c.grant_exactly(3, &names(&["*"]), &p.tiers).unwrap();
        assert_eq!(c, p.catalog, "`*` at the top tier changes nothing");
        let mut keep = c.permitted_at(3);
        keep.retain(|a| a != "delete_database");
        c.grant_exactly(3, &keep, &p.tiers).unwrap();
        assert!(c.get("delete_database").is_none(), "denied everywhere now");
        assert_eq!(c.len(), p.catalog.len() - 1);
    }

    #[test]
    fn a_bad_name_changes_nothing() {
        let p = Policy::preset(Preset::GatewayV2);
        let mut c = p.catalog.clone();
        let err = c.grant_exactly(1, &names(&["read_config", "Bad Name!"]), &p.tiers);
        assert!(err.is_err());
        assert_eq!(c, p.catalog);
        assert!(
            c.grant_exactly(9, &names(&["read_config"]), &p.tiers)
                .is_err()
        );
    }
}
