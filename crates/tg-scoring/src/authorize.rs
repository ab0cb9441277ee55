use crate::{Catalog, Policy};

/// Whether the agent may act at all, before any score is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    Suspended,
    Revoked,
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    UnknownAction,
    Suspended,
    Revoked,
    InsufficientTier,
    InsufficientScore,
}

impl DenyReason {
    pub fn message(self) -> &'static str {
        match self {
            DenyReason::UnknownAction => "unknown action",
            DenyReason::Suspended => "agent suspended",
            DenyReason::Revoked => "agent revoked",
            DenyReason::InsufficientTier => "Insufficient trust tier",
            DenyReason::InsufficientScore => "Insufficient trust score",
        }
    }
}

/// One authorization decision. Fails closed: anything not proven allowed is denied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub deny: Option<DenyReason>,
    pub required_tier: Option<u8>,
    pub required_score: Option<f64>,
}

impl Decision {
    pub fn reason(&self) -> &'static str {
        self.deny.map_or("Authorized", DenyReason::message)
    }
}

/// May an agent in `standing` with `tier` and `score` perform `action`?
#[inline]
pub fn authorize(
    catalog: &Catalog,
    standing: Standing,
    tier: u8,
    score: f64,
    action: &str,
) -> Decision {
    let Some(rule) = catalog.get(action) else {
        return Decision {
            allowed: false,
            deny: Some(DenyReason::UnknownAction),
            required_tier: None,
            required_score: None,
        };
    };
    let deny = match standing {
        Standing::Revoked => Some(DenyReason::Revoked),
        Standing::Suspended => Some(DenyReason::Suspended),
        Standing::Active if tier < rule.required_tier => Some(DenyReason::InsufficientTier),
        // A NaN score is denied.
        Standing::Active if score.is_nan() || score < rule.min_score => {
            Some(DenyReason::InsufficientScore)
        }
        Standing::Active => None,
    };
    Decision {
        allowed: deny.is_none(),
        deny,
        required_tier: Some(rule.required_tier),
        required_score: Some(rule.min_score),
    }
}

/// Catalog actions the tier and score meet, sorted by name.
pub fn permitted_actions(policy: &Policy, standing: Standing, tier: u8, score: f64) -> Vec<String> {
    policy
        .catalog
        .entries()
        .into_iter()
        .filter(|(name, _)| authorize(&policy.catalog, standing, tier, score, name).allowed)
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;

    #[test]
    fn decisions_follow_tier_then_score() {
        let p = Policy::preset(Preset::Default);
        let c = &p.catalog;
        let check = |standing, tier, score, action: &str, expect: Result<(), DenyReason>| {
            let d = authorize(c, standing, tier, score, action);
            assert_eq!(d.allowed, expect.is_ok(), "{action} {tier} {score}");
            assert_eq!(d.deny, expect.err(), "{action} {tier} {score}");
        };
        check(Standing::Active, 2, 0.65, "send_email", Ok(()));
        check(Standing::Active, 2, 0.5, "send_email", Ok(()));
        check(
            Standing::Active,
            2,
            0.65,
            "delete_file",
            Err(DenyReason::InsufficientTier),
        );
        check(
            Standing::Active,
            3,
            0.82,
            "delete_database",
            Err(DenyReason::InsufficientScore),
        );
        check(
            Standing::Active,
            3,
            f64::NAN,
            "delete_database",
            Err(DenyReason::InsufficientScore),
        );
        check(
            Standing::Active,
            3,
            1.0,
            "rm_rf",
            Err(DenyReason::UnknownAction),
        );
        check(
            Standing::Suspended,
            3,
            1.0,
            "read_config",
            Err(DenyReason::Suspended),
        );
        check(
            Standing::Revoked,
            3,
            1.0,
            "read_config",
            Err(DenyReason::Revoked),
        );
        check(Standing::Active, 0, 0.0, "view_status", Ok(()));
    }

    #[test]
    fn permitted_actions_lists_what_the_tier_meets() {
        let p = Policy::preset(Preset::Default);
        assert_eq!(
            permitted_actions(&p, Standing::Active, 0, 0.1),
            vec!["read_config", "view_status"]
        );
        assert!(permitted_actions(&p, Standing::Suspended, 3, 1.0).is_empty());
        assert_eq!(permitted_actions(&p, Standing::Active, 3, 1.0).len(), 13);
    }
}
