-- Who suspended a suspended agent (`owner` or `operator`): only the operator lifts its own.
ALTER TABLE agents ADD COLUMN suspended_by TEXT;
-- Discovery matches capabilities one by one, never the JSON text around them: each
-- capability, lower-cased, on a line of its own (capabilities hold no control characters).
ALTER TABLE agents ADD COLUMN capability_terms TEXT NOT NULL DEFAULT '';
UPDATE agents SET capability_terms = COALESCE(
    (SELECT E'\n' || string_agg(lower(value), E'\n') || E'\n' FROM json_array_elements_text(agents.capabilities::json) AS value),
    '');
