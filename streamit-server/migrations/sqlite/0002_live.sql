-- StreamIt schema, version 2 (SQLite): what the real-time layer keeps across a crash.
--
-- A live room's actor counts broadcast `seq` and playback `version` in memory and writes them
-- behind, so after a crash the stored values may lag the ones already sent. Before counting,
-- the actor reserves a block: it starts from the ceiling and moves the ceiling ahead, and
-- never counts past it. Whatever a dead actor sent is below its ceiling, so the next actor,
-- starting there, never repeats a number. Invariant: seq_ceiling >= seq and
-- version_ceiling >= playback_version (kept by the store's statements, not a CHECK, so a
-- write-behind above the ceiling raises it instead of failing).
ALTER TABLE rooms ADD COLUMN seq_ceiling BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN version_ceiling BIGINT NOT NULL DEFAULT 0;
-- Rooms from before this version start at what they stored.
UPDATE rooms SET seq_ceiling = seq, version_ceiling = playback_version;
