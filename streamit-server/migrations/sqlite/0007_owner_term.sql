-- StreamIt schema, version 7: each room's owner term, a fencing token in the store. A room's
-- owner takes the next term as it loads the room and names it in every write it makes while
-- live, so the writes of an owner that was superseded (paused past its lease, cut off from
-- Redis) change nothing once a newer owner has taken the room.
ALTER TABLE rooms ADD COLUMN owner_term BIGINT NOT NULL DEFAULT 0;
