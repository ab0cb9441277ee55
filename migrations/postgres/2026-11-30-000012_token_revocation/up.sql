-- Tokens revoked by jti (POST /tokens/revoke), kept until they would have expired.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
-- The agent's token generation, carried in its tokens (`tg_epoch`): suspending or revoking
-- the agent moves it on, so a reactivated agent's old tokens stay dead.
ALTER TABLE agents ADD COLUMN token_epoch BIGINT NOT NULL DEFAULT 0;
