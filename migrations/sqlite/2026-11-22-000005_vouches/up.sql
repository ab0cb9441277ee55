CREATE TABLE vouches (
    id TEXT PRIMARY KEY,
    from_agent TEXT NOT NULL,
    to_agent TEXT NOT NULL,
    weight DOUBLE NOT NULL,
    note TEXT,
    signature TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    revoked_at BIGINT,
    vouchee_violations BIGINT NOT NULL DEFAULT 0
);
-- One active vouch per pair, even with concurrent writers.
CREATE UNIQUE INDEX vouches_active_pair ON vouches (from_agent, to_agent) WHERE revoked_at IS NULL;
CREATE INDEX vouches_to_agent ON vouches (to_agent, created_at);
CREATE INDEX vouches_from_agent ON vouches (from_agent, created_at);
CREATE TABLE vouch_anchors (
    agent_id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
