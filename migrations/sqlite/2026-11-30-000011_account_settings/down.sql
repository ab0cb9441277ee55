ALTER TABLE accounts DROP COLUMN lifts_operator_suspensions;
