//! The storage contract, run against every backend: in-memory SQLite always, PostgreSQL when
//! `TEST_DATABASE_URL` is set (each case on a fresh schema).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cases;
mod guarded_commits;
mod pg_row_lock;
mod sqlite_readers;
mod sqlite_writers;

use tg_store::Db;

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::cases::$case(tg_store::testing::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    match tg_store::testing::postgres().await {
                        Some((db, _)) => crate::cases::$case(db).await,
                        None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL half of `{}` not run", stringify!($case)),
                    }
                }
            )*
        }
    };
}

contract!(
    agents_insert_get_update_and_uniqueness,
    spiffe_id_is_unique_only_among_unrevoked_holders,
    receipts_append_list_scan_and_never_fork,
    trust_state_history_and_stats,
    audit_append_and_query_by_period_type_and_cursor,
    audit_batches_are_stored_whole_across_insert_groups,
    accounts_and_keys,
    signing_key_is_inserted_once,
    policy_documents_are_versioned,
    failed_units_of_work_leave_nothing_behind,
    vouches_one_active_per_pair_violations_and_anchors,
    agents_scan_in_id_order_with_their_state,
    webhook_outbox_fans_out_claims_once_and_records_attempts,
    revoked_tokens_and_attestation_nonces_are_single_records,
    open_delegations_are_accepted_hand_offs_without_an_outcome,
    receipt_commits_write_every_part_or_nothing,
    guarded_receipt_commits_write_only_on_a_current_basis,
);

#[allow(dead_code)]
fn _type_check(_: Db) {}
