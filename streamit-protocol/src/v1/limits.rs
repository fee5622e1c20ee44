//! The sizes every party enforces, in one place so the server, the SDK and the docs agree.

/// Largest WebSocket text frame a client may send, in bytes. Larger frames close with 1009.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Largest frame a client should accept from the server, in bytes. Server frames have no fixed
/// bound below this: a `ROOM_SNAPSHOT` of a big room with long chat lines passes 16 KiB.
pub const MAX_SERVER_FRAME_BYTES: usize = 1024 * 1024;

/// Largest HTTP request body, in bytes. Larger bodies answer 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Deepest JSON nesting accepted in a frame; deeper frames are refused before they are parsed.
pub const MAX_JSON_DEPTH: usize = 32;

/// Longest client `ref`, in characters.
pub const MAX_REF_CHARS: usize = 64;

/// Longest chat line, in characters, after trimming.
pub const MAX_CHAT_CHARS: usize = 500;

/// Chat lines a room keeps; older ones are dropped.
pub const CHAT_HISTORY_KEPT: usize = 500;

/// Watch-progress entries kept per user; saving one more drops the least recently updated.
pub const PROGRESS_KEPT_PER_USER: usize = 1000;

/// Host actions a room's audit log keeps; older ones are dropped.
pub const AUDIT_KEPT_PER_ROOM: usize = 1000;

/// Chat lines a `ROOM_SNAPSHOT` carries.
pub const CHAT_HISTORY_IN_SNAPSHOT: usize = 50;

/// Longest display name, in characters, after trimming.
pub const MAX_DISPLAY_NAME_CHARS: usize = 32;

/// `muted_until_ms` of a mute without end: the largest integer every client reads exactly.
pub const MUTED_FOREVER_MS: u64 = (1 << 53) - 1;

/// Longest room name, in characters, after trimming.
pub const MAX_ROOM_NAME_CHARS: usize = 64;

/// Shortest account password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Longest account or room password, in characters; bounds the cost of hashing it.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Longest e-mail address, in characters (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Longest token accepted on input, in characters.
pub const MAX_TOKEN_CHARS: usize = 4096;

/// Longest listing cursor accepted, in characters; the cursors the server writes are shorter.
pub const MAX_CURSOR_CHARS: usize = 64;

/// Longest media id of a catalogue provider (Vidking, YouTube), in characters.
pub const MAX_MEDIA_ID_CHARS: usize = 64;

/// Longest direct media URL, in characters.
pub const MAX_MEDIA_URL_CHARS: usize = 2048;
