-- StreamIt schema, version 5 (PostgreSQL): when a room ended, so ended rooms can be purged
-- after the retention period. Rooms already ended count from this migration.
ALTER TABLE rooms ADD COLUMN ended_at_ms BIGINT;
UPDATE rooms SET ended_at_ms = CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)
    WHERE state IN ('EXPIRED', 'DELETED');
CREATE INDEX rooms_by_end ON rooms (ended_at_ms);
