DROP TRIGGER policy_documents_state_changed ON policy_documents;
DROP TRIGGER api_keys_state_changed ON api_keys;
DROP TRIGGER accounts_state_changed ON accounts;
DROP TRIGGER agent_trust_state_changed ON agent_trust;
DROP TRIGGER agents_state_changed ON agents;
DROP FUNCTION tg_state_changed();
