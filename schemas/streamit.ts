// StreamIt protocol v1: TypeScript types generated from the JSON Schemas beside this file.
// Do not edit. Regenerate with: STREAMIT_UPDATE_SCHEMAS=1 cargo test -p streamit-protocol --test it schemas

/** An access token (JWT). */
export type AccessToken = string;

/** What a host did; `SCREAMING_SNAKE_CASE` on the wire. */
export type AuditAction = "CREATE" | "DELETE" | "APPROVE" | "DENY" | "KICK" | "BAN" | "MUTE" | "UNMUTE" | "TRANSFER_HOST" | "SET_MEDIA" | "CHAT_ON" | "CHAT_OFF" | "UNKNOWN";

/** One host action. */
export type AuditEvent = {
  /** What was done. */
  action: AuditAction;
  /** Who did it (the host at the time). */
  actor: UserId;
  /** When, server clock, Unix epoch ms. */
  at_ms: number;
  /** The user it was done to, for approve, deny, kick, ban, mute, unmute and transfer. */
  subject?: UserId;
};

/** `GET /api/rooms/{code}/audit/` answer. */
export type AuditLogResponse = {
  /** The room's host actions, oldest first; at most `AUDIT_KEPT_PER_ROOM`, the newest. */
  events: Array<AuditEvent>;
};

/** Register, login and guest answer: the user and their tokens. */
export type AuthResponse = {
  /** Access token (JWT). */
  access: AccessToken;
  /** When the access token expires, server clock, Unix epoch ms. */
  access_expires_at_ms: number;
  /** Refresh token. */
  refresh: RefreshToken;
  /** The user. */
  user: User;
};

/** What a provider's player lets a room control. */
export type Capabilities = {
  /** The player reports events (progress, ended, buffering). */
  events: boolean;
  /** The player can change its rate. */
  rate: boolean;
  /** The player can seek. */
  seek: boolean;
};

/** `CHAT` data. */
export type Chat = {
  /** The line, trimmed: 1 to 500 characters. */
  text: ChatText;
};

/** A chat line. */
export type ChatMessage = {
  /** The line's id. */
  id: MessageId;
  /** Server clock when it was accepted, Unix epoch ms. */
  sent_at_ms: number;
  /** What they said. */
  text: ChatText;
  /** Who said it. */
  user: UserRef;
};

/** A chat line: trimmed, 1 to 500 characters; no control characters but newline and tab, no bidirectional controls. */
export type ChatText = string;

/** An event a client sends. Host-only events from anyone else answer `ERROR NOT_HOST`. */
export type ClientEvent = {
  data?: PlayPause;
  type: "PLAY";
} | {
  data?: PlayPause;
  type: "PAUSE";
} | {
  data: Seek;
  type: "SEEK";
} | {
  data: SetRate;
  type: "SET_RATE";
} | {
  data: SetMedia;
  type: "SET_MEDIA";
} | {
  data: Chat;
  type: "CHAT";
} | {
  data: SetChatEnabled;
  type: "SET_CHAT_ENABLED";
} | {
  data: MuteUser;
  type: "MUTE_USER";
} | {
  data: UserTarget;
  type: "UNMUTE_USER";
} | {
  data: UserTarget;
  type: "KICK_USER";
} | {
  data: UserTarget;
  type: "BAN_USER";
} | {
  data: UserTarget;
  type: "TRANSFER_HOST";
} | {
  data: PlayerEvent;
  type: "PLAYER_EVENT";
} | {
  data: Ping;
  type: "PING";
} | {
  data: SyncCheck;
  type: "SYNC_CHECK";
} | {
  data?: Resync;
  type: "RESYNC";
};

/** A frame a client sends: an event, and a ref the replies will echo. `data` may be omitted where every field of it is optional (`{"type": "PLAY"}`): the server reads it as `{}`. */
export type ClientMessage = ClientEvent & {
  ref?: ClientRef;
};

/** A client's request id, echoed on the replies to that request. */
export type ClientRef = string;

/** A WebSocket close code the server sends (not part of any JSON body; listed for clients). */
export type CloseCode = 1000 | 1001 | 1002 | 1007 | 1008 | 1009 | 1011 | 1012 | 4001 | 4003 | 4004 | 4009 | 4010 | 4011 | 4029;

/** A colour: 3 or 6 hex digits; a leading '#' is accepted and stripped. */
export type Color = string;

/** `POST /api/rooms/create/` body; every field is optional. */
export type CreateRoomRequest = {
  /** Chat on (default true). */
  chat_enabled?: boolean;
  /** How people get in (default `OPEN`). */
  entry_mode?: EntryMode;
  /** Keep the room out of the public listing (default false). */
  is_private?: boolean;
  /** What to play first. */
  media?: MediaRef;
  /** Name; the server picks one from the host's name when absent. */
  name?: RoomName;
  /** Password for `PASSWORD` rooms; generated and shown once when absent. */
  password?: RoomPassword;
};

/** `POST /api/rooms/create/` answer. */
export type CreateRoomResponse = {
  /** The generated password of a `PASSWORD` room created without one; shown only here. */
  password?: RoomPassword;
  /** The new room. */
  room: Room;
};

/** One user gone, in a `PRESENCE_CHANGED`. */
export type Departure = {
  /** Why. */
  reason: LeaveReason;
  /** Who. */
  user: UserRef;
};

/** A display name: trimmed, 1 to 32 characters, at least one of them visible; no control characters, no bidirectional controls, no other format characters except ZWJ and ZWNJ, no private-use code points, no line or paragraph separators. */
export type DisplayName = string;

/** An e-mail address; trimmed and lower-cased by the server. */
export type Email = string;

/** Player options for an embed URL; each is left out of the URL when not set. */
export type EmbedOptions = {
  /** Start playing on load. */
  auto_play?: boolean;
  /** Accent colour. */
  color?: Color;
  /** Show the episode selector. */
  episode_selector?: boolean;
  /** Offer the next episode at the end. */
  next_episode?: boolean;
  /** Start position, in seconds (rounded down in the URL). */
  progress_s?: Seconds;
};

/** `POST /api/media/embed/` body. */
export type EmbedRequest = {
  /** The media. */
  media: MediaRef;
  /** Player options. */
  options?: EmbedOptions;
};

/** `POST /api/media/embed/` answer. */
export type EmbedResponse = {
  /** What the provider's player supports. */
  capabilities: Capabilities;
  /** The canonical embed URL: the same input always gives the same string. */
  embed_url: string;
};

/** The payload of events that carry nothing: `{}` on the wire. */
export type Empty = Record<string, never>;

/** How people get into a room; `SCREAMING_SNAKE_CASE` on the wire. */
export type EntryMode = "OPEN" | "PASSWORD" | "APPROVAL";

/** Every HTTP failure's body. */
export type ErrorBody = {
  /** What went wrong. */
  error: ErrorDetail;
};

/** An error code. Clients must accept codes they do not know and act on the HTTP status. */
export type ErrorCode = "INVALID_INPUT" | "EMAIL_TAKEN" | "INVALID_CREDENTIALS" | "UNAUTHORIZED" | "INVALID_TOKEN" | "RATE_LIMITED" | "ROOM_NOT_FOUND" | "ROOM_CLOSED" | "WRONG_PASSWORD" | "BANNED" | "NOT_A_MEMBER" | "NOT_HOST" | "NOT_PENDING" | "USER_NOT_FOUND" | "INVALID_MEDIA" | "NO_PROGRESS" | "VERSION_CONFLICT" | "INVALID_MESSAGE" | "UNKNOWN_EVENT" | "MESSAGE_TOO_LONG" | "CHAT_DISABLED" | "MUTED" | "DUPLICATE_MESSAGE" | "NOT_FOUND" | "METHOD_NOT_ALLOWED" | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE" | "URI_TOO_LONG" | "HEADERS_TOO_LARGE" | "ORIGIN_NOT_ALLOWED" | "LIMIT_REACHED" | "UNAVAILABLE" | "INTERNAL";

/** What went wrong, inside [`ErrorBody`]. */
export type ErrorDetail = {
  /** The code to act on. */
  code: ErrorCode;
  /** Machine-readable specifics, e.g. `{"field": "media.season"}` or `{"retry_after_ms": 900}`. */
  details?: { [key: string]: unknown };
  /** Human text, for logs and developers; not for matching. */
  message: string;
};

/** `ERROR` data: a request was refused. */
export type ErrorEvent = {
  /** The code to act on. */
  code: ErrorCode;
  /** For `VERSION_CONFLICT`: the current playback. */
  current?: Playback;
  /** Human text. */
  message: string;
  /** For `RATE_LIMITED`: wait this long before trying again, in ms. */
  retry_after_ms?: number;
};

/** `POST /api/auth/guest/` body. */
export type GuestRequest = {
  /** Display name; the server picks one like `Guest-4821` when absent. */
  display_name?: DisplayName;
};

/** `HOST_CHANGED` data. */
export type HostChanged = {
  /** The new host. */
  host: UserRef;
};

/** `HOST_DISCONNECTED` data. */
export type HostDisconnected = {
  /** When the room expires unless the host returns, server clock, Unix epoch ms. */
  grace_deadline_ms: number;
  /** Grace length, in seconds. */
  grace_seconds: number;
};

/** `JOIN_REQUESTED` data. */
export type JoinRequested = {
  /** Who asks. */
  user: UserRef;
};

/** `POST /api/rooms/join/` body. */
export type JoinRoomRequest = {
  /** The room's code, any case. */
  code: RoomCode;
  /** The room's password, for `PASSWORD` rooms. */
  password?: RoomPassword;
};

/** `POST /api/rooms/join/` answer. */
export type JoinRoomResponse = {
  /** Whether the caller hosts the room. */
  is_host: boolean;
  /** The room. */
  room: Room;
  /** `APPROVED` (connect now) or `PENDING` (wait for the host); the host is always approved. */
  status: MemberStatus;
};

/** Why a user left; `lowercase` on the wire. */
export type LeaveReason = "left" | "kicked" | "banned" | "timeout";

/** `POST /api/auth/login/` body. */
export type LoginRequest = {
  /** E-mail address. */
  email: Email;
  /** Password. */
  password: Password;
};

/** `POST /api/auth/logout/` body. */
export type LogoutRequest = {
  /** The login's refresh token; the access token alone also ends the login. */
  refresh?: RefreshToken;
};

/** `MEDIA_CHANGED` data. */
export type MediaChanged = {
  /** Its canonical embed URL. */
  embed_url: string;
  /** The new media. */
  media: MediaRef;
};

/** What kind of media; `lowercase` on the wire. */
export type MediaKind = "movie" | "tv" | "video";

/** A piece of media. vidking serves movie and tv (tv needs season and episode, both >= 1); youtube and url serve video; a url id is an http(s) URL. */
export type MediaRef = {
  /** Episode, from 1; tv only. */
  episode?: number;
  /** Catalogue id (letters, digits, `-`, `_`; at most 64), or the http(s) URL for `url`. */
  id: string;
  kind: MediaKind;
  provider: Provider;
  /** Season, from 1; tv only. */
  season?: number;
};

/** A user's standing in a room; `SCREAMING_SNAKE_CASE` on the wire. */
export type MemberStatus = "APPROVED" | "PENDING";

/** A chat message's id; on the wire a lowercase hyphenated UUID string. */
export type MessageId = string;

/** Data of `USER_MUTED`, `USER_UNMUTED`, `USER_KICKED` and `USER_BANNED`. */
export type Moderation = {
  /** For a timed mute: until when, server clock, Unix epoch ms. */
  until_ms?: number;
  /** Who. */
  user: UserRef;
};

/** Mute length in whole seconds, from 1 to 30 days. */
export type MuteDuration = number;

/** `MUTE_USER` data. */
export type MuteUser = {
  /** For how long; until `UNMUTE_USER` when absent. */
  duration_s?: MuteDuration;
  /** Who. */
  user_id: UserId;
};

/** Items per page, from 1 to 100. */
export type PageLimit = number;

/** A user in a room. */
export type Participant = {
  /** Whether the user hosts the room. */
  is_host: boolean;
  /**
   * Muted until then, server clock, Unix epoch ms; absent when not muted. A mute without
   * end reads as the largest safe integer.
   */
  muted_until_ms?: number;
  /** Whether the user has a live socket in the room. */
  online: boolean;
  /** Member or waiting for approval. */
  status: MemberStatus;
  /** The user. */
  user: UserRef;
};

/** Where the next page of a room's participants starts: an opaque string, passed back exactly as a page's `next_cursor` gave it. */
export type ParticipantsCursor = string;

/**
 * `GET /api/rooms/{code}/participants/` answer. `online` is `false` throughout: who is
 * connected is the socket's to tell (snapshots, presence events), not the store's.
 */
export type ParticipantsPage = {
  /** Where the next page starts, for the query's `cursor`; absent on the last page. */
  next_cursor?: ParticipantsCursor;
  /** This page, by user id. */
  participants: Array<Participant>;
};

/**
 * `GET /api/rooms/{code}/participants/` query: one page of a room's approved members, by
 * user id. A big room's snapshot lists only a few (protocol 6.11); this lists everyone.
 */
export type ParticipantsQuery = {
  /** Where this page starts: the `next_cursor` of the page before (absent for the first page). */
  cursor?: ParticipantsCursor;
  /** Page size, 1 to 100 (default 20). */
  limit?: PageLimit;
};

/** An account password: 8 to 256 characters, taken as typed. */
export type Password = string;

/** `GET /api/rooms/{code}/pending/` answer. */
export type PendingResponse = {
  /** Users waiting for approval, oldest first. */
  requests: Array<Participant>;
};

/** `PING` data. */
export type Ping = {
  /** The client's clock when sending, in ms; echoed in `PONG`. */
  client_ts: number;
};

/** `PLAY` and `PAUSE` data. */
export type PlayPause = {
  /** Refuse with `VERSION_CONFLICT` unless the playback is at this version. */
  expected_version?: number;
  /** Where to play or pause; where the media is now when absent. */
  position_ms?: PositionMs;
};

/**
 * A room's playback: the position the media had at server time `updated_at_ms`, and how it
 * moves from there.
 *
 * Where it is at server time `now`:
 * `position_ms + (playing ? (now − updated_at_ms) × rate : 0)`, see [`Playback::position_at`].
 */
export type Playback = {
  /** Whether the media is playing. */
  playing: boolean;
  /** Position at `updated_at_ms`. */
  position_ms: PositionMs;
  /** Playback rate. */
  rate: Rate;
  /** Server clock when this state was set, Unix epoch ms. */
  updated_at_ms: number;
  /** Rises by one with every change and never goes back, also across server restarts. */
  version: number;
};

/** What changed playback; `SCREAMING_SNAKE_CASE` on the wire. */
export type PlaybackCause = "PLAY" | "PAUSE" | "SEEK" | "RATE" | "MEDIA";

/** `PLAYBACK_STATE` data: the new `Playback`, flat, plus what caused it and who. */
export type PlaybackState = {
  /** Who changed it. */
  by: UserId;
  /** What changed it. */
  cause: PlaybackCause;
  /** Whether the media is playing. */
  playing: boolean;
  /** Position at `updated_at_ms`. */
  position_ms: PositionMs;
  /** Playback rate. */
  rate: Rate;
  /** Server clock when this state was set, Unix epoch ms. */
  updated_at_ms: number;
  /** Rises by one with every change and never goes back, also across server restarts. */
  version: number;
};

/** `PLAYER_EVENT` data. */
export type PlayerEvent = {
  /** The media's length, when the player knows it. */
  duration_ms?: PositionMs;
  /** What happened. */
  kind: PlayerEventKind;
  /** The local player's position. */
  position_ms: PositionMs;
};

/** What a local player reported; `lowercase` on the wire. */
export type PlayerEventKind = "progress" | "ended" | "buffering" | "ready";

/** `PONG` data. */
export type Pong = {
  /** The `PING`'s `client_ts`, echoed. */
  client_ts: number;
  /** Server clock when answering, Unix epoch ms. */
  server_ts: number;
};

/** A position in the media, in milliseconds, from 0 to 24 hours. */
export type PositionMs = number;

/**
 * `PRESENCE_CHANGED` data: who came and who went since the last such frame, net (someone
 * who came and went within the window is in neither list). A window with more people than
 * the server names per frame names some and counts the rest (`joined_total`, `left_total`):
 * naming everyone would make filling a room of n people cost every socket n names.
 */
export type PresenceChanged = {
  /** Users whose first socket connected (some of them when `joined_total` is present). */
  joined: Array<UserRef>;
  /** Present when `joined` names only some of those who came: how many came in all. */
  joined_total?: number;
  /** Users whose last socket went, and why (some of them when `left_total` is present). */
  left: Array<Departure>;
  /** Present when `left` names only some of those who went: how many went in all. */
  left_total?: number;
  /** People connected now. */
  viewers: number;
};

/** `GET /api/progress/` answer. */
export type ProgressListResponse = {
  /** The caller's progress, most recently updated first. */
  items: Array<WatchProgress>;
};

/** `GET /api/rooms/progress/get/` query: the room and the `MediaRef` fields, flat. */
export type ProgressQuery = {
  /** Episode, tv only. */
  episode?: number;
  /** Media id. */
  id: string;
  /** Media kind. */
  kind: MediaKind;
  /** Media provider. */
  provider: Provider;
  /** The room. */
  room_code: RoomCode;
  /** Season, tv only. */
  season?: number;
};

/** Where media comes from; `lowercase` on the wire. */
export type Provider = "vidking" | "youtube" | "url";

/** One provider in `GET /api/media/providers/`. */
export type ProviderInfo = {
  /** What its player supports. */
  capabilities: Capabilities;
  /** Kinds it serves. */
  kinds: Array<MediaKind>;
  /** The provider. */
  name: Provider;
};

/** `GET /api/media/providers/` answer. */
export type ProvidersResponse = {
  /** Every provider. */
  providers: Array<ProviderInfo>;
};

/** A room in the public listing. */
export type PublicRoom = {
  /** The room's code. */
  code: RoomCode;
  /** Server clock at creation, Unix epoch ms. */
  created_at_ms: number;
  /** How people get in. */
  entry_mode: EntryMode;
  /** The host. */
  host: UserRef;
  /** What it plays. */
  media?: MediaRef;
  /** The room's name. */
  name: RoomName;
  /** People connected now. */
  viewers: number;
};

/** Where the next page of the public listing starts: an opaque string, passed back exactly as a page's `next_cursor` gave it. */
export type PublicRoomsCursor = string;

/**
 * `GET /api/rooms/public/` query.
 *
 * Page with `cursor`: the first page without one, each next page with the `next_cursor` of the
 * page before, until a page has none. `offset` is the older way, kept for old clients: rooms
 * that come or go between two pages shift every offset after them, so offset paging can show a
 * room twice or never.
 */
export type PublicRoomsQuery = {
  /** Where this page starts: the `next_cursor` of the page before (absent for the first page). */
  cursor?: PublicRoomsCursor;
  /** Page size, 1 to 100 (default 20). */
  limit?: PageLimit;
  /** Rooms to skip (default 0). Superseded by `cursor`, and refused beside it. */
  offset?: number;
};

/**
 * `GET /api/rooms/public/` answer: `LIVE` public rooms whose host is connected, most viewers
 * first, then newest first.
 */
export type PublicRoomsResponse = {
  /** Where the next page starts, for the query's `cursor`; absent on the last page. */
  next_cursor?: PublicRoomsCursor;
  /** This page. */
  rooms: Array<PublicRoom>;
  /** Listed rooms in all. */
  total: number;
};

/** A playback rate from 0.25 to 4.0; 1.0 is normal speed. */
export type Rate = number;

/** `POST /api/auth/refresh/` body. */
export type RefreshRequest = {
  /** The refresh token to spend. */
  refresh: RefreshToken;
};

/** A refresh token: opaque and single use. */
export type RefreshToken = string;

/** `POST /api/auth/register/` body. */
export type RegisterRequest = {
  /** Display name: 1 to 32 characters. */
  display_name: DisplayName;
  /** E-mail address (trimmed and lower-cased). */
  email: Email;
  /** Password: at least 8 characters. */
  password: Password;
};

/**
 * `RESYNC` data: nothing, for a fresh snapshot; or where the client left off, to be replayed
 * what it missed when the room still holds it (`ROOM_RESUMED`, then those broadcasts).
 */
export type Resync = {
  /** The history epoch that `seq` belongs to (from the last `ROOM_SNAPSHOT`). */
  epoch?: string;
  /** The last `seq` the client holds with no gap before it. */
  since_seq?: number;
};

/** A room as members and joiners see it. */
export type Room = {
  /** Whether chat is on. */
  chat_enabled: boolean;
  /** The room's code. */
  code: RoomCode;
  /** Server clock at creation, Unix epoch ms. */
  created_at_ms: number;
  /** The canonical embed URL of `media`. */
  embed_url?: string;
  /** How people get in. */
  entry_mode: EntryMode;
  /** In `GRACE`: when the room expires unless the host returns, server clock, Unix epoch ms. */
  grace_deadline_ms?: number;
  /** The current host. */
  host: UserRef;
  /** Private rooms are never listed publicly. */
  is_private: boolean;
  /** What the room plays, once the host picked something. */
  media?: MediaRef;
  /** The room's name. */
  name: RoomName;
  /** Where the room is in its life. */
  state: RoomState;
  /** People connected now. */
  viewers: number;
};

/** A room's code: 8 characters of ABCDEFGHJKMNPQRSTVWXYZ23456789, matched case-insensitively, sent in upper case. */
export type RoomCode = string;

/** `POST /api/rooms/delete/` body. */
export type RoomCodeRequest = {
  /** The room. */
  code: RoomCode;
};

/** `GET /api/rooms/{code}/` answer: the room, its participants and its playback. */
export type RoomDetail = {
  /** Whether chat is on. */
  chat_enabled: boolean;
  /** The room's code. */
  code: RoomCode;
  /** Server clock at creation, Unix epoch ms. */
  created_at_ms: number;
  /** The canonical embed URL of `media`. */
  embed_url?: string;
  /** How people get in. */
  entry_mode: EntryMode;
  /** In `GRACE`: when the room expires unless the host returns, server clock, Unix epoch ms. */
  grace_deadline_ms?: number;
  /** The current host. */
  host: UserRef;
  /** Private rooms are never listed publicly. */
  is_private: boolean;
  /** What the room plays, once the host picked something. */
  media?: MediaRef;
  /** The room's name. */
  name: RoomName;
  /** Approved members, online or not, and pending ones (the host sees those). */
  participants: Array<Participant>;
  /** The room's playback. */
  playback: Playback;
  /** Where the room is in its life. */
  state: RoomState;
  /** People connected now. */
  viewers: number;
};

/** A room name: trimmed, 1 to 64 characters, at least one of them visible; no control characters, no bidirectional controls, no other format characters except ZWJ and ZWNJ, no private-use code points, no line or paragraph separators. */
export type RoomName = string;

/** A room password: 1 to 256 characters, taken as typed. */
export type RoomPassword = string;

/** `ROOM_RESUMED` data: the socket resumes where it left off. */
export type RoomResumed = {
  /** The room's history epoch, the one the client gave. */
  epoch: string;
  /** How many broadcasts follow as replay before live ones (possibly 0). */
  replayed: number;
  /**
   * The last `seq` the client said it holds; the replayed broadcasts are `since_seq + 1`
   * to `since_seq + replayed`.
   */
  since_seq: number;
};

/** `ROOM_SNAPSHOT` data: everything a client needs to show the room. */
export type RoomSnapshot = {
  /** The last 50 chat lines, oldest first. */
  chat: Array<ChatMessage>;
  /**
   * Names the room's history of broadcasts: a client that reconnects with `since_seq` and
   * this `epoch` gets what it missed replayed, as long as the epoch has not changed (it
   * changes whenever that history is lost). Opaque; compare for equality only. Absent
   * from servers that cannot replay.
   */
  epoch?: string;
  /**
   * Everyone in the room; in a big room, or one of many members (`participants_total`
   * present), only the host, you and a bounded number of others online.
   */
  participants: Array<Participant>;
  /**
   * Present when `participants` lists only some of the room: how many people are
   * connected to it (as `viewers`). Absent when the list is whole.
   */
  participants_total?: number;
  /** Playback, in server time. */
  playback: Playback;
  /** The room. */
  room: Room;
  /** The room's broadcast `seq` this snapshot reflects; the next broadcast is `seq + 1`. */
  seq: number;
  /** The receiving user. */
  you: You;
};

/**
 * Where a room is in its life; `SCREAMING_SNAKE_CASE` on the wire.
 *
 * `CREATED → LIVE` (host connects) `→ GRACE` (host's last socket goes) `→ LIVE` (host back in
 * time) or `→ EXPIRED`; `DELETED` by the host from any state but `EXPIRED`. `EXPIRED` and
 * `DELETED` are final.
 */
export type RoomState = "CREATED" | "LIVE" | "GRACE" | "EXPIRED" | "DELETED";

/** `ROOM_UPDATED` data: only the `Room` fields that changed are present. */
export type RoomUpdate = {
  /** Chat on or off. */
  chat_enabled?: boolean;
  /** New entry mode. */
  entry_mode?: EntryMode;
  /** New grace deadline, server clock, Unix epoch ms. */
  grace_deadline_ms?: number;
  /** New listing choice. */
  is_private?: boolean;
  /** New name. */
  name?: RoomName;
  /** New state. */
  state?: RoomState;
  /** People connected now. */
  viewers?: number;
};

/** `POST /api/rooms/approve/` and `POST /api/rooms/deny/` body. */
export type RoomUserRequest = {
  /** The room. */
  code: RoomCode;
  /** The user to approve or deny. */
  user_id: UserId;
};

/** `POST /api/rooms/progress/save/` body. */
export type SaveProgressRequest = {
  /** The media's length, in seconds, when the player knows it. */
  duration_s?: Seconds;
  /** The media; the room's current media when absent. */
  media?: MediaRef;
  /** Position reached, in seconds. */
  position_s: Seconds;
  /** The room the media was watched in. */
  room_code: RoomCode;
};

/** Seconds of media, from 0 to 24 hours; fractions allowed. */
export type Seconds = number;

/** `SEEK` data. */
export type Seek = {
  /** Refuse with `VERSION_CONFLICT` unless the playback is at this version. */
  expected_version?: number;
  /** Where to jump. */
  position_ms: PositionMs;
};

/**
 * An event the server sends: a broadcast to the room (with `seq`) or a reply to one
 * client (with its `ref`).
 */
export type ServerEvent = {
  data: RoomSnapshot;
  type: "ROOM_SNAPSHOT";
} | {
  data: RoomResumed;
  type: "ROOM_RESUMED";
} | {
  data: PlaybackState;
  type: "PLAYBACK_STATE";
} | {
  data: ChatMessage;
  type: "CHAT_MESSAGE";
} | {
  data: UserJoined;
  type: "USER_JOINED";
} | {
  data: UserLeft;
  type: "USER_LEFT";
} | {
  data: PresenceChanged;
  type: "PRESENCE_CHANGED";
} | {
  data: HostDisconnected;
  type: "HOST_DISCONNECTED";
} | {
  data: Empty;
  type: "HOST_RECONNECTED";
} | {
  data: Empty;
  type: "ROOM_EXPIRED";
} | {
  data: Empty;
  type: "ROOM_DELETED";
} | {
  data: RoomUpdate;
  type: "ROOM_UPDATED";
} | {
  data: MediaChanged;
  type: "MEDIA_CHANGED";
} | {
  data: HostChanged;
  type: "HOST_CHANGED";
} | {
  data: Moderation;
  type: "USER_MUTED";
} | {
  data: Moderation;
  type: "USER_UNMUTED";
} | {
  data: Moderation;
  type: "USER_KICKED";
} | {
  data: Moderation;
  type: "USER_BANNED";
} | {
  data: JoinRequested;
  type: "JOIN_REQUESTED";
} | {
  data: Pong;
  type: "PONG";
} | {
  data: SyncCorrection;
  type: "SYNC_CORRECTION";
} | {
  data: ErrorEvent;
  type: "ERROR";
};

/** A frame the server sends. Clients must ignore events whose type they do not know. */
export type ServerMessage = ServerEvent & {
  ref?: ClientRef;
  /** The room's broadcast sequence number, rising by one per broadcast; broadcasts only. */
  seq?: number;
  /** Server clock when sent, Unix epoch ms. */
  ts: number;
  /** Protocol version. */
  v: 1;
};

/** `SET_CHAT_ENABLED` data. */
export type SetChatEnabled = {
  /** Chat on or off. */
  enabled: boolean;
};

/** `SET_MEDIA` data. */
export type SetMedia = {
  /** The new media. */
  media: MediaRef;
};

/** `SET_RATE` data. */
export type SetRate = {
  /** Refuse with `VERSION_CONFLICT` unless the playback is at this version. */
  expected_version?: number;
  /** The new rate. */
  rate: Rate;
};

/** `SYNC_CHECK` data. */
export type SyncCheck = {
  /** The local player's position now. */
  position_ms: PositionMs;
};

/** `SYNC_CORRECTION` data. */
export type SyncCorrection = {
  /** How far the reported position was off, in ms: positive when ahead. */
  drift_ms: number;
  /** The room's playback, to follow. */
  playback: Playback;
};

/** A fresh access token and the refresh token to renew it (`POST /api/auth/refresh/`). */
export type TokenPair = {
  /** Access token (JWT), 15 minutes by default. */
  access: AccessToken;
  /** When the access token expires, server clock, Unix epoch ms. */
  access_expires_at_ms: number;
  /** Refresh token, single use, 30 days. */
  refresh: RefreshToken;
};

/** A user as they see themselves (`GET /api/auth/me/`). */
export type User = {
  /** Server clock at creation, Unix epoch ms. */
  created_at_ms: number;
  /** The user's display name. */
  display_name: DisplayName;
  /** The account's e-mail; absent for guests. */
  email?: Email;
  /** The user's id. */
  id: UserId;
  /** Whether this is a guest (no e-mail or password; may still create and host rooms). */
  is_guest: boolean;
};

/** A user's id; on the wire a lowercase hyphenated UUID string. */
export type UserId = string;

/** `USER_JOINED` data. */
export type UserJoined = {
  /** Who. */
  user: UserRef;
  /** People connected now. */
  viewers: number;
};

/** `USER_LEFT` data. */
export type UserLeft = {
  /** Why. */
  reason: LeaveReason;
  /** Who. */
  user: UserRef;
  /** People connected now. */
  viewers: number;
};

/** A user as other people see them: `{id, display_name}`. */
export type UserRef = {
  /** The user's display name. */
  display_name: DisplayName;
  /** The user's id. */
  id: UserId;
};

/**
 * Data of the host actions on one member: `UNMUTE_USER`, `KICK_USER`, `BAN_USER`,
 * `TRANSFER_HOST`.
 */
export type UserTarget = {
  /** Who. */
  user_id: UserId;
};

/** How far a user got in a piece of media watched in a room. */
export type WatchProgress = {
  /** Watched to the end (≥ 95 % or the player said `ended`); once true, stays true. */
  completed: boolean;
  /** Length, in seconds, when known. */
  duration_s?: Seconds;
  /** The media. */
  media: MediaRef;
  /** `position_s / duration_s` as 0–100, when the length is known. */
  percent?: number;
  /** Position reached, in seconds. */
  position_s: Seconds;
  /** The room. */
  room_code: RoomCode;
  /** Server clock at the last save, Unix epoch ms. */
  updated_at_ms: number;
};

/** The receiving user's own place in the room, inside `ROOM_SNAPSHOT`. */
export type You = {
  /** Whether you host the room. */
  is_host: boolean;
  /** Muted until then, server clock, Unix epoch ms. */
  muted_until_ms?: number;
  /** Who you are. */
  user: UserRef;
};
