ALTER TABLE agents ADD COLUMN public_key TEXT;
ALTER TABLE agents ADD COLUMN key_verified_at BIGINT;

-- Ed25519 challenges: single use across instances (deleted when answered), short-lived.
CREATE TABLE challenges (
    agent_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, nonce)
);
