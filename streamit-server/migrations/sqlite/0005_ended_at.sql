-- StreamIt schema, version 5 (SQLite): when a room ended, so ended rooms can be purged after
-- the retention period. Rooms already ended count from this migration.
ALTER TABLE rooms ADD COLUMN ended_at_ms BIGINT;
UPDATE rooms SET ended_at_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000
    WHERE state IN ('EXPIRED', 'DELETED');
CREATE INDEX rooms_by_end ON rooms (ended_at_ms);
