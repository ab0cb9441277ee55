-- Leader election for background work (the decay sweep, chain verification): one instance
-- holds a named lease until it expires, renewing it while it works.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
