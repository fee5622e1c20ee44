-- StreamIt schema, version 1 (PostgreSQL).
--
-- Portable conventions shared with migrations/postgres: ids are TEXT UUIDs, times BIGINT Unix
-- epoch ms, booleans INTEGER 0/1, enums their wire spelling ('LIVE', 'PENDING', 'vidking'),
-- an absent season/episode 0 so it can sit in a key.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    -- Lower-cased by the protocol's Email type; NULL for guests (NULLs never collide).
    email         TEXT    UNIQUE,
    -- Argon2id PHC string; NULL for guests.
    password_hash TEXT,
    display_name  TEXT    NOT NULL,
    is_guest      INTEGER NOT NULL CHECK (is_guest IN (0, 1)),
    created_at_ms BIGINT  NOT NULL
);

-- One row per sign-in: the `sid` of its access tokens and the owner of its refresh tokens.
CREATE TABLE logins (
    id            TEXT   NOT NULL PRIMARY KEY,
    user_id       TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX logins_by_user ON logins (user_id);

-- Refresh tokens by hash; a spent token stays to recognise its replay.
CREATE TABLE refresh_tokens (
    token_hash    TEXT   NOT NULL PRIMARY KEY,
    login_id      TEXT   NOT NULL REFERENCES logins (id) ON DELETE CASCADE,
    expires_at_ms BIGINT NOT NULL,
    spent_at_ms   BIGINT
);
CREATE INDEX refresh_tokens_by_login ON refresh_tokens (login_id);

-- Secrets every node must share, such as 'jwt_secret' (hex).
CREATE TABLE server_secrets (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE rooms (
    code                   TEXT    NOT NULL PRIMARY KEY,
    name                   TEXT    NOT NULL,
    host_id                TEXT    NOT NULL REFERENCES users (id),
    state                  TEXT    NOT NULL,
    is_private             INTEGER NOT NULL CHECK (is_private IN (0, 1)),
    entry_mode             TEXT    NOT NULL,
    password_hash          TEXT,
    chat_enabled           INTEGER NOT NULL CHECK (chat_enabled IN (0, 1)),
    -- The media: all three NULL when none is set.
    media_provider         TEXT,
    media_kind             TEXT,
    media_id               TEXT,
    media_season           BIGINT  NOT NULL DEFAULT 0,
    media_episode          BIGINT  NOT NULL DEFAULT 0,
    embed_url              TEXT,
    -- Presence, written by the real-time layer.
    viewers                BIGINT  NOT NULL DEFAULT 0,
    host_connected         INTEGER NOT NULL DEFAULT 0 CHECK (host_connected IN (0, 1)),
    created_at_ms          BIGINT  NOT NULL,
    grace_deadline_ms      BIGINT,
    -- Playback: the position at playback_updated_at_ms.
    playing                INTEGER NOT NULL DEFAULT 0 CHECK (playing IN (0, 1)),
    position_ms            BIGINT  NOT NULL DEFAULT 0,
    rate                   DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    playback_updated_at_ms BIGINT  NOT NULL,
    playback_version       BIGINT  NOT NULL DEFAULT 0,
    -- The last broadcast sequence number stamped in this room.
    seq                    BIGINT  NOT NULL DEFAULT 0
);
-- The public listing: equality on the first three columns, then already in page order.
CREATE INDEX rooms_listing ON rooms (state, is_private, host_connected, viewers DESC, created_at_ms DESC);
-- The grace sweeper: rooms in grace by deadline.
CREATE INDEX rooms_by_deadline ON rooms (state, grace_deadline_ms);

CREATE TABLE participants (
    room_code      TEXT   NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    user_id        TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status         TEXT   NOT NULL,
    joined_at_ms   BIGINT NOT NULL,
    muted_until_ms BIGINT,
    PRIMARY KEY (room_code, user_id)
);
-- Pending requests (and members) of a room in join order.
CREATE INDEX participants_by_status ON participants (room_code, status, joined_at_ms);

CREATE TABLE bans (
    room_code    TEXT   NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    user_id      TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    banned_at_ms BIGINT NOT NULL,
    PRIMARY KEY (room_code, user_id)
);

CREATE TABLE chat_messages (
    id         TEXT   NOT NULL PRIMARY KEY,
    room_code  TEXT   NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text       TEXT   NOT NULL,
    sent_at_ms BIGINT NOT NULL
);
CREATE INDEX chat_messages_by_room ON chat_messages (room_code, sent_at_ms);

-- One row per user × room × media; completed never goes back to 0.
CREATE TABLE watch_progress (
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_code     TEXT    NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
    provider      TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    media_id      TEXT    NOT NULL,
    season        BIGINT  NOT NULL,
    episode       BIGINT  NOT NULL,
    position_s    DOUBLE PRECISION NOT NULL,
    duration_s    DOUBLE PRECISION,
    completed     INTEGER NOT NULL CHECK (completed IN (0, 1)),
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (user_id, room_code, provider, kind, media_id, season, episode)
);
CREATE INDEX watch_progress_recent ON watch_progress (user_id, updated_at_ms DESC);
