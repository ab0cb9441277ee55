-- The operator lets this tenant's admin keys lift the operator's suspensions of its agents.
ALTER TABLE accounts ADD COLUMN lifts_operator_suspensions BOOLEAN NOT NULL DEFAULT FALSE;
