//! Black-box tests: the real server (`trust_gateway::start`) on port 0, driven over real
//! HTTP, on a real SQLite file and — when `TEST_DATABASE_URL` is set — on a fresh
//! PostgreSQL schema.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod a2a;
mod accounts;
mod api;
mod audit;
mod bad_input;
mod binary;
mod browser;
mod chain;
mod cli;
mod clocked;
mod dashboard;
mod decisions;
mod delegation;
mod dpop;
mod identity;
mod joy;
mod keys;
mod lifecycle;
mod log_http;
mod maintenance;
mod metrics;
mod openapi;
mod otlp;
mod provenance;
mod python_sdk;
mod record_basis;
mod record_batch;
mod schemathesis;
mod security_events;
mod signing_keys;
mod state_versions;
mod support;
mod tenancy;
mod token_exchange;
mod tokens;
mod transparency;
mod v2_surface;
mod vouching;
mod webhooks;
mod witness_clocked;

/// Runs each case against SQLite (a temporary file) and PostgreSQL.
macro_rules! both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$case(crate::support::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if tg_store::testing::postgres_url().is_none() {
                        eprintln!("TEST_DATABASE_URL unset: PostgreSQL half of `{}` not run", stringify!($case));
                        return;
                    }
                    crate::$case(crate::support::Backend::Postgres).await;
                }
            )*
        }
    };
}

use a2a::*;
use accounts::*;
use api::*;
use audit::*;
use bad_input::*;
use chain::*;
use dashboard::*;
use delegation::*;
use dpop::*;
use identity::*;
use joy::*;
use keys::*;
use lifecycle::*;
use log_http::*;
use maintenance::*;
use metrics::*;
use provenance::*;
use record_basis::*;
use security_events::*;
use signing_keys::*;
use state_versions::*;
use tenancy::*;
use token_exchange::*;
use tokens::*;
use transparency::*;
use v2_surface::*;
use vouching::*;
use webhooks::*;

both_stores!(
    tier_drops_and_revocations_push_security_event_tokens,
    dpop_binds_tokens_to_the_proofs_key,
    an_agent_with_a_proven_key_binds_tokens_to_it_only,
    token_exchange_follows_accepted_delegations,
    token_exchange_narrows_and_refuses_in_rfc_6749_terms,
    token_exchange_takes_a_jwt_svid_subject,
    a_token_dies_when_its_agents_tier_falls_below_it,
    answers_carry_state_versions_and_demand_them,
    health_is_public_and_the_rest_needs_a_key,
    register_and_read_back_in_v2_shapes,
    recording_actions_moves_score_tier_and_decisions,
    tier_and_catalog_edits_are_persisted_and_used,
    bad_input_always_gets_a_clear_4xx,
    concurrent_writers_leave_one_contiguous_chain,
    a_batch_from_memory_sees_an_edit_by_hand,
    tampering_is_detected_at_the_right_link,
    tokens_verify_with_the_published_jwks,
    x509_attestation_is_verified_against_trust_bundles,
    spiffe_ids_are_parsed_strictly_at_registration,
    jwt_svid_attestation_over_http,
    lifecycle_suspend_reactivate_revoke,
    ed25519_challenge_response,
    config_drift_lowers_the_score_until_approved,
    accounts_keys_scopes_and_rate_limits,
    trust_verify_returns_joy_trust_results,
    discover_finds_agents_by_name_and_capability,
    audit_trail_query_and_exports,
    delegation_chains_and_outcomes,
    vouching_over_http,
    webhooks_are_signed_delivered_and_verifiable,
    dashboard_feed_over_websocket,
    metrics_count_decisions_receipts_requests_and_connections,
    a2a_cards_are_signed_and_carry_the_trust_data,
    agents_are_listed_per_account,
    receipt_exports_are_signed_over_the_whole_chain,
    signing_keys_rotate_and_retire_over_http,
    the_gateway_trail_records_operator_actions,
    private_reads_belong_to_the_agents_account,
    discovery_never_matches_json_syntax,
    decision_calls_cannot_flood_another_tenants_trail,
    operator_suspensions_are_lifted_only_by_the_operator,
    admin_keys_are_tenant_scoped,
    weak_ed25519_keys_are_refused,
    self_reports_and_rings_stay_at_tier_one,
    witnesses_prove_with_the_agents_token,
    invented_delegations_move_nothing_until_accepted,
    certificates_count_only_with_proof_of_possession,
    tokens_are_revoked_and_die_with_a_suspension,
    head_is_answered_where_get_is,
    refused_keys_are_limited_per_address,
    agent_records_and_receipts_have_v2_shapes,
    tiers_are_a_list_and_take_v2_tier_objects,
    the_v2_readme_webhook_and_list_work,
    scores_have_one_scale_per_name_and_decide_as_read,
    the_contract_holds_at_its_edges,
    inactivity_that_drops_a_tier_is_swept_into_history_and_events,
    one_instance_leads_the_upkeep_until_its_lease_lapses,
    background_verification_reports_a_broken_chain_once,
    receipts_enter_the_log_and_prove_inclusion,
    a_backlog_is_integrated_batch_by_batch,
    a_cut_tail_is_caught_by_the_log_and_the_head_mac,
    coverage_checks_sweep_the_log_a_part_at_a_time,
    the_sequencer_reclaims_its_queue_after_enough_receipts,
    a_rewritten_tree_is_never_extended,
    one_instance_sequences_the_others_follow,
    log_keys_rotate_and_witnesses_cosign,
    the_log_verifies_independently_over_http,
    lifecycle_and_policy_edits_show_in_history,
);
