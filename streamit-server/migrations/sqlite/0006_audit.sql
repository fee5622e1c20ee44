-- StreamIt schema, version 6 (SQLite): each room's audit log of host actions, kept for the
-- room's life (it goes with the room) and capped at the newest AUDIT_KEPT_PER_ROOM entries.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    room_code  TEXT    NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    at_ms      BIGINT  NOT NULL,
    action     TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    subject_id TEXT
);
CREATE INDEX audit_events_by_room ON audit_events (room_code, id);
