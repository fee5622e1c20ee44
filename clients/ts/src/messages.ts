// Frames over the generated protocol types: every client message, parsing and describing
// every server message, the Playback maths, and what each close code allows. `tsc` checks it
// against schemas/streamit.ts, so a change to the wire that breaks TypeScript clients fails CI.

import type {
  ClientEvent,
  ClientMessage,
  CloseCode,
  MediaRef,
  Playback,
  ServerEvent,
  ServerMessage,
} from "../../../schemas/streamit.ts";

type ClientEventType = ClientEvent["type"];
type ClientEventOf<K extends ClientEventType> = Extract<ClientEvent, { type: K }>;

const USER = "67e55044-10b1-426f-9247-bb680e5fe0c8";
const EPISODE: MediaRef = { provider: "vidking", kind: "tv", id: "1399", season: 1, episode: 9 };

/** One example of every client event; the mapped type makes forgetting one a compile error. */
export const clientEvents: { [K in ClientEventType]: ClientEventOf<K> } = {
  PLAY: { type: "PLAY", data: { position_ms: 61_000, expected_version: 4 } },
  PAUSE: { type: "PAUSE", data: {} },
  SEEK: { type: "SEEK", data: { position_ms: 120_000 } },
  SET_RATE: { type: "SET_RATE", data: { rate: 1.5 } },
  SET_MEDIA: { type: "SET_MEDIA", data: { media: EPISODE } },
  CHAT: { type: "CHAT", data: { text: "hello" } },
  SET_CHAT_ENABLED: { type: "SET_CHAT_ENABLED", data: { enabled: false } },
  MUTE_USER: { type: "MUTE_USER", data: { user_id: USER, duration_s: 60 } },
  UNMUTE_USER: { type: "UNMUTE_USER", data: { user_id: USER } },
  KICK_USER: { type: "KICK_USER", data: { user_id: USER } },
  BAN_USER: { type: "BAN_USER", data: { user_id: USER } },
  TRANSFER_HOST: { type: "TRANSFER_HOST", data: { user_id: USER } },
  PLAYER_EVENT: { type: "PLAYER_EVENT", data: { kind: "progress", position_ms: 5_000, duration_ms: 7_200_000 } },
  PING: { type: "PING", data: { client_ts: 1_700_000_000_000 } },
  SYNC_CHECK: { type: "SYNC_CHECK", data: { position_ms: 64_000 } },
  RESYNC: { type: "RESYNC", data: {} },
};

/** Wraps an event in a frame, with a `ref` when the caller wants the reply matched. */
export function frame(event: ClientEvent, ref?: string): string {
  const message: ClientMessage = ref === undefined ? event : { ...event, ref };
  return JSON.stringify(message);
}

/** Every client frame, encoded. */
export function allClientFrames(): string[] {
  return Object.values(clientEvents).map((event, i) => frame(event, `r${i}`));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses a server frame's envelope; `undefined` for one that is not JSON, not an object, or
 * of another protocol version. Events of a newer server pass through with their `type`;
 * `describe` and `view.apply` ignore them, as the compatibility policy asks.
 */
export function parseServerMessage(text: string): ServerMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value["v"] !== 1 || typeof value["type"] !== "string" || typeof value["ts"] !== "number") {
    return undefined;
  }
  return value as ServerMessage;
}

/** Where the media is at server time `nowMs`, as `Playback::position_at` computes it. */
export function positionAt(playback: Playback, nowMs: number): number {
  if (!playback.playing) {
    return playback.position_ms;
  }
  const elapsed = Math.max(0, nowMs - playback.updated_at_ms);
  return Math.min(playback.position_ms + Math.round(elapsed * playback.rate), 86_400_000);
}

/** The people a presence batch names, and how many more it only counts. */
function named(names: string[], total: number | undefined): string {
  const more = (total ?? names.length) - names.length;
  if (more <= 0) {
    return names.join(", ") || "nobody";
  }
  if (names.length > 0) {
    return `${names.join(", ")} and ${more} more`;
  }
  return more === 1 ? "1 person" : `${more} people`;
}

function ignoreUnknown(event: never): string {
  return `ignored unknown event ${(event as { type: string }).type}`;
}

/** A line for each server event; the `never` default makes a missing case a compile error. */
export function describe(event: ServerEvent, nowMs: number): string {
  switch (event.type) {
    case "ROOM_SNAPSHOT":
      return `room ${event.data.room.code} "${event.data.room.name}", ${event.data.participants_total ?? event.data.participants.length} people, at ${positionAt(event.data.playback, nowMs)} ms, seq ${event.data.seq}`;
    case "ROOM_RESUMED":
      return `resumed after seq ${event.data.since_seq} (epoch ${event.data.epoch}): ${event.data.replayed} missed broadcasts follow`;
    case "PLAYBACK_STATE":
      return `${event.data.cause} by ${event.data.by}: ${event.data.playing ? "playing" : "paused"} at ${positionAt(event.data, nowMs)} ms (v${event.data.version})`;
    case "CHAT_MESSAGE":
      return `${event.data.user.display_name}: ${event.data.text}`;
    case "USER_JOINED":
      return `${event.data.user.display_name} joined (${event.data.viewers} watching)`;
    case "USER_LEFT":
      return `${event.data.user.display_name} left: ${event.data.reason} (${event.data.viewers} watching)`;
    case "PRESENCE_CHANGED": {
      const came = named(event.data.joined.map((user) => user.display_name), event.data.joined_total);
      const went = named(
        event.data.left.map((gone) => `${gone.user.display_name} (${gone.reason})`),
        event.data.left_total,
      );
      return `came: ${came}; went: ${went} (${event.data.viewers} watching)`;
    }
    case "HOST_DISCONNECTED":
      return `host away; room closes at ${event.data.grace_deadline_ms} unless they return within ${event.data.grace_seconds} s`;
    case "HOST_RECONNECTED":
      return "host is back";
    case "ROOM_EXPIRED":
      return "room expired";
    case "ROOM_DELETED":
      return "room deleted";
    case "ROOM_UPDATED":
      return `room updated: ${Object.keys(event.data).join(", ")}`;
    case "MEDIA_CHANGED":
      return `now playing ${event.data.media.provider}/${event.data.media.kind}/${event.data.media.id} at ${event.data.embed_url}`;
    case "HOST_CHANGED":
      return `${event.data.host.display_name} hosts now`;
    case "USER_MUTED":
      return `${event.data.user.display_name} muted${event.data.until_ms === undefined || event.data.until_ms === null ? "" : ` until ${event.data.until_ms}`}`;
    case "USER_UNMUTED":
      return `${event.data.user.display_name} unmuted`;
    case "USER_KICKED":
      return `${event.data.user.display_name} kicked`;
    case "USER_BANNED":
      return `${event.data.user.display_name} banned`;
    case "JOIN_REQUESTED":
      return `${event.data.user.display_name} asks to join`;
    case "PONG":
      return `round trip ${nowMs - event.data.client_ts} ms, server clock ${event.data.server_ts}`;
    case "SYNC_CORRECTION":
      return `off by ${event.data.drift_ms} ms; seek to ${positionAt(event.data.playback, nowMs)} ms`;
    case "ERROR": {
      const retry = event.data.retry_after_ms ?? 0;
      const current = event.data.current ? `, playback v${event.data.current.version}` : "";
      return `refused ${event.data.code}: ${event.data.message}${retry > 0 ? `, retry in ${retry} ms` : ""}${current}`;
    }
    default:
      return ignoreUnknown(event);
  }
}

/** What to do after each close code; the mapped type makes a missing code a compile error. */
export const reconnectAfter: { [K in CloseCode]: boolean } = {
  1000: false,
  1001: true,
  1002: false,
  1007: false,
  1008: false,
  1009: false,
  1011: true,
  1012: true,
  4001: false,
  4003: false,
  4004: false,
  4009: false,
  4010: false,
  4011: false,
  4029: true,
};
