-- GET /stats counts the receipts of the last 24 hours through `receipts_ts` (migration
-- 000013), its only reader. As a B-tree it took an entry per receipt, written with every
-- record commit. Receipts are appended in time order, so a BRIN index (each block range's
-- lowest and highest `ts`) finds the last day's blocks as well, and costs next to nothing
-- to keep (docs/PERFORMANCE.md). Ranges not yet summarised are always read, so the count
-- stays exact.
DROP INDEX receipts_ts;
CREATE INDEX receipts_ts ON receipts USING brin (ts);
