-- StreamIt schema, version 3 (PostgreSQL): a version for each room's list of participants.
--
-- Every change to what a room's participant list shows (a membership added, approved, denied,
-- removed or banned, a mute, a new host) raises it in the same transaction as the change, so a
-- node may keep the list it last read and read it again only when the version moved.
ALTER TABLE rooms ADD COLUMN members_version BIGINT NOT NULL DEFAULT 0;
