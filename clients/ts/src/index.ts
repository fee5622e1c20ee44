// The StreamIt TypeScript client, for browsers and Node 20:
//
// - rest.ts: the HTTP API (`Api` for calls without a login, `Session` for the rest), typed by
//   the OpenAPI document through openapi.ts, which also proves it identical to the wire types;
// - room.ts: `RoomConnection`, a live room over WebSocket that orders, resyncs, resumes,
//   syncs its clock and reconnects by itself, with typed events;
// - view.ts: `RoomView`, the room folded from events by one pure function;
// - sequence.ts, clock.ts, backoff.ts: the protocol's ordering, clock and reconnect rules,
//   pure and unit-tested;
// - messages.ts: frames, the Playback maths, close codes; env.ts: what the host provides.
//
// The wire types themselves are schemas/streamit.ts, generated from the Rust crate.

export { Api, ApiError, Session, type ApiOptions } from "./rest.ts";
export {
  RoomConnection,
  type Disconnect,
  type PingOptions,
  type RoomAuth,
  type RoomConnectionOptions,
  type RoomEvents,
} from "./room.ts";
export { type RoomView, apply, fromSnapshot, newerPlayback, CHAT_KEPT, MUTED_FOREVER } from "./view.ts";
export { Sequencer, type ResumePoint, type Verdict } from "./sequence.ts";
export { ClockSync, type ClockEstimate, type ClockSample } from "./clock.ts";
export { Backoff, type BackoffOptions } from "./backoff.ts";
export { describe, frame, parseServerMessage, positionAt, reconnectAfter } from "./messages.ts";
export type { FetchLike, WebSocketConstructor, WebSocketLike } from "./env.ts";
export type * from "../../../schemas/streamit.ts";
