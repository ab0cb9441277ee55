//! The in-process authorization decision, ours against the same decision in cedar-policy.
//!
//! Both engines answer the same request stream; before timing, every answer is compared.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression,
};
use criterion::{Criterion, criterion_group, criterion_main};
use tg_scoring::{Policy, Preset, Standing, authorize};

/// Scores are scaled to integers for cedar (it has no floats): 0..=1000.
const SCALE: f64 = 1000.0;

const CEDAR_POLICY: &str = r#"
permit (principal, action, resource)
when { principal.tier >= resource.required_tier && principal.score >= resource.min_score };
"#;

struct Case {
    tier: u8,
    score: f64,
    action: &'static str,
}

/// A deterministic stream covering every catalog action, every tier and scores on both
/// sides of every threshold.
fn request_stream() -> Vec<Case> {
    let actions = [
        "read_config",
        "view_status",
        "send_notification",
        "read_data",
        "read_inbox",
        "write_data",
        "call_api",
        "send_email",
        "query_db",
        "delete_data",
        "delete_file",
        "delete_database",
        "admin_action",
    ];
    let mut out = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..1000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let score = (x % 1001) as f64 / SCALE;
        let tier = Policy::preset(Preset::Default).tiers.tier_for(score).tier;
        out.push(Case {
            tier,
            score,
            action: actions[i % actions.len()],
        });
    }
    out
}

fn uid(ty: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(
        EntityTypeName::from_str(ty).unwrap(),
        EntityId::from_str(id).unwrap(),
    )
}

struct CedarWorld {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Vec<Entities>,
    requests: Vec<Request>,
}

fn cedar_world(policy: &Policy, stream: &[Case]) -> CedarWorld {
    let policies = PolicySet::from_str(CEDAR_POLICY).unwrap();
    let capabilities: Vec<Entity> = policy
        .catalog
        .entries()
        .into_iter()
        .map(|(name, rule)| {
            let attrs = [
                (
                    "required_tier".to_owned(),
                    RestrictedExpression::new_long(i64::from(rule.required_tier)),
                ),
                (
                    "min_score".to_owned(),
                    RestrictedExpression::new_long((rule.min_score * SCALE).round() as i64),
                ),
            ];
            Entity::new(
                uid("Capability", name),
                attrs.into_iter().collect(),
                Default::default(),
            )
            .unwrap()
        })
        .collect();
    let mut entities = Vec::new();
    let mut requests = Vec::new();
    for (i, c) in stream.iter().enumerate() {
        let agent_id = format!("a{i}");
        let attrs = [
            (
                "tier".to_owned(),
                RestrictedExpression::new_long(i64::from(c.tier)),
            ),
            (
                "score".to_owned(),
                RestrictedExpression::new_long((c.score * SCALE).round() as i64),
            ),
        ];
        let agent = Entity::new(
            uid("Agent", &agent_id),
            attrs.into_iter().collect(),
            Default::default(),
        )
        .unwrap();
        let mut all = capabilities.clone();
        all.push(agent);
        entities.push(Entities::from_entities(all, None).unwrap());
        let req = Request::new(
            uid("Agent", &agent_id),
            uid("Action", "invoke"),
            uid("Capability", c.action),
            Context::empty(),
            None,
        )
        .unwrap();
        requests.push(req);
    }
    CedarWorld {
        authorizer: Authorizer::new(),
        policies,
        entities,
        requests,
    }
}

fn bench(c: &mut Criterion) {
    let policy = Policy::preset(Preset::Default);
    let stream = request_stream();
    let cedar = cedar_world(&policy, &stream);

    // Both engines must agree on every request before either is timed.
    for (i, case) in stream.iter().enumerate() {
        let ours = authorize(
            &policy.catalog,
            Standing::Active,
            case.tier,
            case.score,
            case.action,
        )
        .allowed;
        let theirs = cedar
            .authorizer
            .is_authorized(&cedar.requests[i], &cedar.policies, &cedar.entities[i])
            .decision()
            == Decision::Allow;
        assert_eq!(
            ours, theirs,
            "disagreement on request {i}: tier {} score {} action {}",
            case.tier, case.score, case.action
        );
    }
    let allowed = stream
        .iter()
        .filter(|c| authorize(&policy.catalog, Standing::Active, c.tier, c.score, c.action).allowed)
        .count();
    eprintln!(
        "request stream: {} requests, {allowed} allowed, engines agree on all",
        stream.len()
    );

    let mut g = c.benchmark_group("authorize");
    let mut i = 0usize;
    g.bench_function("trust-gateway/single", |b| {
        b.iter(|| {
            let case = &stream[i % stream.len()];
            i = i.wrapping_add(1);
            black_box(authorize(
                black_box(&policy.catalog),
                Standing::Active,
                case.tier,
                case.score,
                black_box(case.action),
            ))
        })
    });
    g.bench_function("trust-gateway/batch-100", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for case in &stream[..100] {
                n += usize::from(
                    authorize(
                        &policy.catalog,
                        Standing::Active,
                        case.tier,
                        case.score,
                        black_box(case.action),
                    )
                    .allowed,
                );
            }
            black_box(n)
        })
    });
    let mut j = 0usize;
    g.bench_function("cedar-policy/single", |b| {
        b.iter(|| {
            let k = j % stream.len();
            j = j.wrapping_add(1);
            black_box(cedar.authorizer.is_authorized(
                &cedar.requests[k],
                &cedar.policies,
                &cedar.entities[k],
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
