ALTER TABLE agents DROP COLUMN capability_terms;
ALTER TABLE agents DROP COLUMN suspended_by;
