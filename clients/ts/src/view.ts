// A room as one member sees it, folded from server events by one pure function (no I/O), so
// a page or a test can keep the room from the connection's event stream.

import type {
  ChatMessage,
  Participant,
  Playback,
  Room,
  RoomSnapshot,
  ServerEvent,
  UserRef,
  You,
} from "../../../schemas/streamit.ts";

/** Chat lines a view keeps, as a room does (protocol 5.1). */
export const CHAT_KEPT = 500;

/** Everything a member knows about the room. */
export interface RoomView {
  room: Room;
  you: You;
  /** Everyone the snapshot listed, kept up to date by presence and moderation events. */
  participants: Participant[];
  /**
   * Whether `participants` is everyone: false in a big room or one of many members (its
   * snapshot lists a few, protocol 6.11) and once a presence batch counted people it did not
   * name, whose `online` marks may then be out of date until the next snapshot. `room.viewers`
   * is exact either way.
   */
  listsEveryone: boolean;
  /** The playback with the highest `version` seen (protocol 6.7). */
  playback: Playback;
  /** Oldest first, at most `CHAT_KEPT`. */
  chat: ChatMessage[];
  /** Host only: users waiting for approval, by `JOIN_REQUESTED`. */
  joinRequests: UserRef[];
  /** Set by `ROOM_EXPIRED` or `ROOM_DELETED`: the room is over. */
  ended: boolean;
}

/** A view from a snapshot, replacing all earlier state but a newer playback. */
export function fromSnapshot(snapshot: RoomSnapshot, previous?: RoomView): RoomView {
  return {
    room: { ...snapshot.room },
    you: { ...snapshot.you },
    participants: snapshot.participants.map((p) => ({ ...p, user: { ...p.user } })),
    listsEveryone: snapshot.participants_total === undefined,
    playback: newerPlayback(previous?.playback, snapshot.playback),
    chat: snapshot.chat.slice(-CHAT_KEPT),
    joinRequests: previous?.joinRequests ?? [],
    ended: snapshot.room.state === "EXPIRED" || snapshot.room.state === "DELETED",
  };
}

/** The one with the higher version; `next` on a tie (the server's latest word). */
export function newerPlayback(current: Playback | undefined, next: Playback): Playback {
  if (current !== undefined && current.version > next.version) {
    return current;
  }
  return {
    playing: next.playing,
    position_ms: next.position_ms,
    rate: next.rate,
    updated_at_ms: next.updated_at_ms,
    version: next.version,
  };
}

function setOnline(view: RoomView, user: UserRef, online: boolean): void {
  const found = view.participants.find((p) => p.user.id === user.id);
  if (found !== undefined) {
    found.online = online;
  } else if (online) {
    view.participants.push({ user: { ...user }, status: "APPROVED", is_host: view.room.host.id === user.id, online });
  }
}

function removeParticipant(view: RoomView, userId: string): void {
  view.participants = view.participants.filter((p) => p.user.id !== userId);
}

function setMuted(view: RoomView, userId: string, untilMs: number | undefined): void {
  for (const p of view.participants) {
    if (p.user.id === userId) {
      if (untilMs === undefined) {
        delete p.muted_until_ms;
      } else {
        p.muted_until_ms = untilMs;
      }
    }
  }
  if (view.you.user.id === userId) {
    if (untilMs === undefined) {
      delete view.you.muted_until_ms;
    } else {
      view.you.muted_until_ms = untilMs;
    }
  }
}

/** A mute without end, as `Participant.muted_until_ms` shows it (protocol 5.2). */
export const MUTED_FOREVER = Number.MAX_SAFE_INTEGER;

/**
 * Applies one event, in `seq` order, to `view` (mutated). A snapshot replaces the view: use
 * `fromSnapshot`. Events a view does not hold (replies such as `PONG`) change nothing but a
 * newer playback they carry; events of a newer server are ignored.
 */
export function apply(view: RoomView, event: ServerEvent): void {
  switch (event.type) {
    case "ROOM_SNAPSHOT":
      Object.assign(view, fromSnapshot(event.data, view));
      return;
    case "ROOM_RESUMED":
      return;
    case "PLAYBACK_STATE":
      view.playback = newerPlayback(view.playback, event.data);
      return;
    case "CHAT_MESSAGE":
      view.chat.push(event.data);
      if (view.chat.length > CHAT_KEPT) {
        view.chat.splice(0, view.chat.length - CHAT_KEPT);
      }
      return;
    case "USER_JOINED":
      setOnline(view, event.data.user, true);
      view.room.viewers = event.data.viewers;
      view.joinRequests = view.joinRequests.filter((u) => u.id !== event.data.user.id);
      return;
    case "USER_LEFT":
      setOnline(view, event.data.user, false);
      view.room.viewers = event.data.viewers;
      return;
    case "PRESENCE_CHANGED":
      if (event.data.joined_total !== undefined || event.data.left_total !== undefined) {
        view.listsEveryone = false;
      }
      for (const user of event.data.joined) {
        setOnline(view, user, true);
      }
      for (const gone of event.data.left) {
        setOnline(view, gone.user, false);
      }
      view.room.viewers = event.data.viewers;
      return;
    case "HOST_DISCONNECTED":
      view.room.state = "GRACE";
      view.room.grace_deadline_ms = event.data.grace_deadline_ms;
      return;
    case "HOST_RECONNECTED":
      view.room.state = "LIVE";
      delete view.room.grace_deadline_ms;
      return;
    case "ROOM_EXPIRED":
      view.room.state = "EXPIRED";
      view.ended = true;
      return;
    case "ROOM_DELETED":
      view.room.state = "DELETED";
      view.ended = true;
      return;
    case "ROOM_UPDATED": {
      const { name, state, is_private, entry_mode, chat_enabled, viewers, grace_deadline_ms } = event.data;
      if (name != null) view.room.name = name;
      if (is_private != null) view.room.is_private = is_private;
      if (entry_mode != null) view.room.entry_mode = entry_mode;
      if (chat_enabled != null) view.room.chat_enabled = chat_enabled;
      if (viewers != null) view.room.viewers = viewers;
      if (grace_deadline_ms != null) view.room.grace_deadline_ms = grace_deadline_ms;
      if (state != null) {
        view.room.state = state;
        if (state !== "GRACE") {
          delete view.room.grace_deadline_ms;
        }
      }
      return;
    }
    case "MEDIA_CHANGED":
      view.room.media = event.data.media;
      view.room.embed_url = event.data.embed_url;
      return;
    case "HOST_CHANGED":
      view.room.host = event.data.host;
      for (const p of view.participants) {
        p.is_host = p.user.id === event.data.host.id;
      }
      view.you.is_host = view.you.user.id === event.data.host.id;
      return;
    case "USER_MUTED":
      setMuted(view, event.data.user.id, event.data.until_ms ?? MUTED_FOREVER);
      return;
    case "USER_UNMUTED":
      setMuted(view, event.data.user.id, undefined);
      return;
    case "USER_KICKED":
    case "USER_BANNED":
      removeParticipant(view, event.data.user.id);
      return;
    case "JOIN_REQUESTED":
      if (!view.joinRequests.some((u) => u.id === event.data.user.id)) {
        view.joinRequests.push(event.data.user);
      }
      return;
    case "PONG":
      return;
    case "SYNC_CORRECTION":
      view.playback = newerPlayback(view.playback, event.data.playback);
      return;
    case "ERROR":
      if (event.data.current != null) {
        view.playback = newerPlayback(view.playback, event.data.current);
      }
      return;
    default:
      ignoreNewer(event);
  }
}

/** Events of a newer server pass through `apply` unchanged (protocol 3). */
function ignoreNewer(_event: never): void {}
