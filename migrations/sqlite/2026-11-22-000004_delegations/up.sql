CREATE TABLE delegations (
    id TEXT PRIMARY KEY,
    chain_id TEXT NOT NULL,
    parent_id TEXT,
    depth INTEGER NOT NULL,
    from_party TEXT NOT NULL,
    to_agent TEXT NOT NULL,
    root_authority TEXT NOT NULL,
    task_type TEXT NOT NULL,
    threshold DOUBLE NOT NULL,
    trust_score_at_delegation DOUBLE NOT NULL,
    delegated_at BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    outcome TEXT,
    feedback TEXT,
    notes TEXT,
    completed_at BIGINT
);
CREATE INDEX delegations_chain ON delegations (chain_id, depth);
CREATE INDEX delegations_to_agent ON delegations (to_agent, delegated_at);
CREATE INDEX delegations_from_party ON delegations (from_party, delegated_at);
