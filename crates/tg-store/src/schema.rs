//! Diesel's view of the tables in `/migrations`. Both backends share it.

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        plan -> Text,
        created_at -> BigInt,
        lifts_operator_suspensions -> Bool,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        account_id -> Text,
        prefix -> Text,
        hash -> Binary,
        scope -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    agents (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        provider -> Text,
        spiffe_id -> Nullable<Text>,
        config_hash -> Text,
        approved_config_hash -> Text,
        capabilities -> Text,
        status -> Text,
        verification_level -> Integer,
        attestation_type -> Text,
        identity_strength -> Double,
        created_at -> BigInt,
        updated_at -> BigInt,
                attestation_expires_at -> Nullable<BigInt>,
        public_key -> Nullable<Text>,
        key_verified_at -> Nullable<BigInt>,
        a2a -> Nullable<Text>,
        suspended_by -> Nullable<Text>,
        capability_terms -> Text,
        spiffe_held -> Bool,
        token_epoch -> BigInt,
    }
}

diesel::table! {
    agent_trust (agent_id) {
        agent_id -> Text,
        successes -> BigInt,
        failures -> BigInt,
        violations -> BigInt,
        weighted_success -> Double,
        weighted_failure -> Double,
        weighted_violation -> Double,
        engagement -> Double,
        as_of -> Nullable<BigInt>,
        last_activity -> Nullable<BigInt>,
        vouch -> Double,
        composite -> Double,
        tier -> Integer,
        history_seq -> BigInt,
        chain_seq -> BigInt,
        chain_hash -> Binary,
        chain_mac -> Nullable<Binary>,
        updated_at -> BigInt,
        self_reported -> BigInt,
        witnessed -> BigInt,
        delegated -> BigInt,
        weighted_proven -> Double,
        weighted_witnessed_violation -> Double,
        state_version -> BigInt,
    }
}

diesel::table! {
    receipts (agent_id, seq) {
        agent_id -> Text,
        seq -> BigInt,
        id -> Text,
        action -> Text,
        result -> Text,
        ts -> BigInt,
        reported_at -> Nullable<BigInt>,
        prev_hash -> Binary,
        receipt_hash -> Binary,
        signature -> Binary,
        key_id -> Text,
        witness_account -> Nullable<Text>,
        witness_token -> Nullable<Text>,
    }
}

diesel::table! {
    trust_history (agent_id, seq) {
        agent_id -> Text,
        seq -> BigInt,
        ts -> BigInt,
        composite -> Double,
        tier -> Integer,
        reason -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        agent_id -> Nullable<Text>,
        ts -> BigInt,
        event_type -> Text,
        details -> Text,
        ip_hash -> Nullable<Text>,
        api_key_prefix -> Nullable<Text>,
    }
}

diesel::table! {
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        agent_id -> Text,
        revoked_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    attestation_nonces (nonce) {
        nonce -> Text,
        account_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    challenges (agent_id, nonce) {
        agent_id -> Text,
        nonce -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    delegations (id) {
        id -> Text,
        chain_id -> Text,
        parent_id -> Nullable<Text>,
        depth -> Integer,
        from_party -> Text,
        to_agent -> Text,
        root_authority -> Text,
        task_type -> Text,
        threshold -> Double,
        trust_score_at_delegation -> Double,
        delegated_at -> BigInt,
        account_id -> Text,
        outcome -> Nullable<Text>,
        feedback -> Nullable<Text>,
        notes -> Nullable<Text>,
        completed_at -> Nullable<BigInt>,
        accepted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        slot -> Integer,
        alg -> Text,
        sealed -> Binary,
        public_jwk -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    policy_documents (version) {
        version -> BigInt,
        document -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    vouches (id) {
        id -> Text,
        from_agent -> Text,
        to_agent -> Text,
        weight -> Double,
        note -> Nullable<Text>,
        signature -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        vouchee_violations -> BigInt,
    }
}

diesel::table! {
    vouch_anchors (agent_id) {
        agent_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        account_id -> Text,
        url -> Text,
        events -> Text,
        secrets -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        stream -> Nullable<Text>,
    }
}

diesel::table! {
    event_outbox (seq) {
        seq -> BigInt,
        id -> Text,
        kind -> Text,
        account_id -> Nullable<Text>,
        agent_id -> Nullable<Text>,
        payload -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// The fan-out's queue: outbox events not yet fanned out (migration 000022).
    outbox_queue (seq) {
        seq -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (event_id, endpoint_id) {
        event_id -> Text,
        endpoint_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_until -> Nullable<BigInt>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_attempts (endpoint_id, event_id, attempt) {
        endpoint_id -> Text,
        event_id -> Text,
        attempt -> Integer,
        at -> BigInt,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    /// The sequencer's queue: receipts not yet in the log (migration 000021).
    log_queue (ts, agent_id, seq) {
        ts -> BigInt,
        agent_id -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    log_entries (log_index) {
        log_index -> BigInt,
        agent_id -> Text,
        seq -> BigInt,
        receipt_hash -> Binary,
        leaf_hash -> Binary,
        leaf_key -> BigInt,
    }
}

diesel::table! {
    log_tiles (level, idx) {
        level -> Integer,
        idx -> BigInt,
        hashes -> Binary,
    }
}

diesel::table! {
    log_checkpoints (size) {
        size -> BigInt,
        root -> Binary,
        note -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    log_cosignatures (size, witness) {
        size -> BigInt,
        witness -> Text,
        line -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    log_keys (key_id) {
        key_id -> Text,
        sealed -> Binary,
        public_key -> Binary,
        created_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(agents, agent_trust, policy_documents);
diesel::allow_tables_to_appear_in_same_query!(receipts, log_entries, log_queue);
diesel::allow_tables_to_appear_in_same_query!(event_outbox, outbox_queue);
