-- Every per-agent table leads with agent_id and has no cross-agent foreign key, so the
-- schema can be sharded by agent_id (e.g. Citus) unchanged.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    plan TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    prefix TEXT NOT NULL,
    hash BLOB NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    spiffe_id TEXT,
    config_hash TEXT NOT NULL,
    approved_config_hash TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    status TEXT NOT NULL,
    verification_level INTEGER NOT NULL,
    attestation_type TEXT NOT NULL,
    identity_strength DOUBLE NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT agents_account_name UNIQUE (account_id, name)
);
CREATE UNIQUE INDEX agents_spiffe_id_unrevoked ON agents (spiffe_id) WHERE spiffe_id IS NOT NULL AND status <> 'revoked';

CREATE TABLE agent_trust (
    agent_id TEXT PRIMARY KEY,
    successes BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    violations BIGINT NOT NULL,
    weighted_success DOUBLE NOT NULL,
    weighted_failure DOUBLE NOT NULL,
    weighted_violation DOUBLE NOT NULL,
    engagement DOUBLE NOT NULL,
    as_of BIGINT,
    last_activity BIGINT,
    vouch DOUBLE NOT NULL,
    composite DOUBLE NOT NULL,
    tier INTEGER NOT NULL,
    history_seq BIGINT NOT NULL,
    chain_seq BIGINT NOT NULL,
    chain_hash BLOB NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE receipts (
    agent_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    action TEXT NOT NULL,
    result TEXT NOT NULL,
    ts BIGINT NOT NULL,
    reported_at BIGINT,
    prev_hash BLOB NOT NULL,
    receipt_hash BLOB NOT NULL,
    signature BLOB NOT NULL,
    key_id TEXT NOT NULL,
    PRIMARY KEY (agent_id, seq)
);

CREATE TABLE trust_history (
    agent_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    composite DOUBLE NOT NULL,
    tier INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (agent_id, seq)
);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    agent_id TEXT,
    ts BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    details TEXT NOT NULL,
    ip_hash TEXT,
    api_key_prefix TEXT
);
CREATE INDEX audit_events_agent_ts ON audit_events (agent_id, ts, id);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    slot INTEGER NOT NULL UNIQUE,
    alg TEXT NOT NULL,
    sealed BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE policy_documents (
    version BIGINT PRIMARY KEY,
    document TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
