// A live room over one WebSocket at a time (protocol 6 and 7): it orders broadcasts by `seq`
// and mends gaps with RESYNC, resumes after a reconnect with `since_seq` and `epoch`, keeps a
// clock offset from PING/PONG, reconnects with backoff and jitter after the close codes that
// allow it, and folds everything into a RoomView. Callers listen to typed events and send with
// typed methods; nobody has to drive it.

import type {
  ChatMessage,
  ClientEvent,
  ErrorEvent,
  MediaRef,
  Playback,
  PlayerEvent,
  RoomCode,
  RoomSnapshot,
  ServerMessage,
  UserId,
} from "../../../schemas/streamit.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { type ClockEstimate, ClockSync } from "./clock.ts";
import { Emitter } from "./emitter.ts";
import {
  OPEN,
  type TimerHandle,
  type WebSocketConstructor,
  type WebSocketLike,
  clearTimer,
  globalWebSocket,
  monotonicNow,
  setTimer,
} from "./env.ts";
import { frame, parseServerMessage, positionAt, reconnectAfter } from "./messages.ts";
import type { Api } from "./rest.ts";
import { Sequencer } from "./sequence.ts";
import { type RoomView, apply, fromSnapshot } from "./view.ts";

/** What a connection needs of a login: `Session` fits. */
export interface RoomAuth {
  readonly api: Pick<Api, "roomSocketUrl">;
  /** The access token to connect with; the server closes with 4001 when it is not valid. */
  accessToken(): Promise<string>;
  /** Renews the tokens; called once after a close with 4001 before connecting again. */
  refresh?(): Promise<unknown>;
}

/** How often to PING (protocol 6.8). */
export interface PingOptions {
  /** PINGs right after each connect (default 5). */
  burst?: number;
  /** Between those, ms (default 200). */
  burstIntervalMs?: number;
  /** Then one every this many ms (default 30 000). */
  intervalMs?: number;
  /** Exchanges the fastest is chosen from (default 16). */
  window?: number;
}

export interface RoomConnectionOptions {
  /** Defaults to `globalThis.WebSocket`; in Node 20 pass `WebSocket` from the `ws` package. */
  WebSocket?: WebSocketConstructor;
  backoff?: BackoffOptions;
  ping?: PingOptions;
  /**
   * How long a `RESYNC` sent to mend a gap may go unanswered, ms (default 10 000). Every
   * broadcast is dropped until its answer, so a lost one would freeze the room while PINGs
   * keep the socket alive: the socket is replaced instead, as when the server answers that
   * `RESYNC` with an `ERROR`, and the next one resumes where the gap began.
   */
  resyncTimeoutMs?: number;
  /** Resume with `since_seq` and `epoch` after a reconnect (default true). */
  resume?: boolean;
  /** Local clock, ms (default: monotonic, mapped to the epoch). */
  now?: () => number;
}

/** Why a socket ended, and what happens next. */
export interface Disconnect {
  /**
   * The close code; 1006 when the connection was lost without one, or when this client gave
   * up on a socket that could not mend a gap (`reason` says why).
   */
  code: number;
  reason: string;
  /** Whether the connection will try again. */
  reconnect: boolean;
}

/** The events a connection emits. */
export interface RoomEvents {
  /** The first frame of a socket arrived: a fresh snapshot, or a resume. */
  open: { resumed: boolean };
  /** Every frame the connection applied, in order (broadcasts by `seq`, then replies). */
  message: ServerMessage;
  /** A snapshot replaced the view. */
  snapshot: RoomSnapshot;
  /** The room's playback changed (a higher `version`). */
  playback: Playback;
  /** A chat line, in order. */
  chat: ChatMessage;
  /** The server refused a request. */
  refused: ErrorEvent & { ref?: string };
  /** A broadcast was missed: a RESYNC went out. */
  gap: { lastSeq: number; seq: number };
  /** A new clock estimate, after each PONG. */
  clock: ClockEstimate;
  /** A socket ended. */
  disconnected: Disconnect;
  /** The next connect is in `delayMs`. */
  reconnecting: { attempt: number; delayMs: number };
  /** The connection is over for good (a close code that forbids reconnecting, or `close()`). */
  closed: { code: number; reason: string };
}

/** Close codes for a connection lost without a close frame, treated like 1001 (protocol 7). */
const LOST = new Set([1005, 1006]);

function canReconnect(code: number): boolean {
  if (LOST.has(code)) {
    return true;
  }
  return (reconnectAfter as Record<number, boolean | undefined>)[code] ?? false;
}

/** One member's live connection to one room. */
export class RoomConnection extends Emitter<RoomEvents> {
  readonly code: RoomCode;
  readonly #auth: RoomAuth;
  readonly #WebSocket: WebSocketConstructor;
  readonly #now: () => number;
  readonly #backoff: Backoff;
  readonly #ping: Required<PingOptions>;
  readonly #resyncTimeoutMs: number;
  readonly #resume: boolean;
  readonly #sequencer = new Sequencer();
  readonly #clock: ClockSync;
  readonly #pingsSent = new Map<string, number>();
  #socket: WebSocketLike | undefined;
  #view: RoomView | undefined;
  #timers = new Set<TimerHandle>();
  /** The gap `RESYNC` this socket sent and is waiting on, and the timer that gives up on it. */
  #gap: { ref: string; timer: TimerHandle } | undefined;
  #nextRef = 0;
  #openedAt: number | undefined;
  #refreshedSinceOpen = false;
  #started = false;
  #closed = false;

  constructor(auth: RoomAuth, code: RoomCode, options: RoomConnectionOptions = {}) {
    super();
    const WebSocket = options.WebSocket ?? globalWebSocket();
    if (WebSocket === undefined) {
      throw new Error("no WebSocket: pass RoomConnectionOptions.WebSocket (the ws package in Node 20)");
    }
    this.code = code;
    this.#auth = auth;
    this.#WebSocket = WebSocket;
    this.#now = options.now ?? monotonicNow;
    this.#backoff = new Backoff(options.backoff);
    this.#ping = {
      burst: options.ping?.burst ?? 5,
      burstIntervalMs: options.ping?.burstIntervalMs ?? 200,
      intervalMs: options.ping?.intervalMs ?? 30_000,
      window: options.ping?.window ?? 16,
    };
    this.#clock = new ClockSync(this.#ping.window);
    this.#resyncTimeoutMs = options.resyncTimeoutMs ?? 10_000;
    this.#resume = options.resume ?? true;
  }

  /** Starts connecting (once; later calls do nothing); events tell the rest. */
  connect(): this {
    if (!this.#started) {
      this.#started = true;
      void this.#connect();
    }
    return this;
  }

  /** The room as last folded; `undefined` before the first snapshot. */
  get view(): RoomView | undefined {
    return this.#view;
  }

  /** The last broadcast `seq` applied. */
  get lastSeq(): number | undefined {
    return this.#sequencer.lastSeq;
  }

  /** The room's history epoch, from the last snapshot. */
  get epoch(): string | undefined {
    return this.#sequencer.epoch;
  }

  /** Whether a socket is open and past its first frame. */
  get connected(): boolean {
    return this.#socket !== undefined && this.#openedAt !== undefined;
  }

  /** The clock estimate. */
  get clock(): ClockEstimate {
    return this.#clock.estimate();
  }

  /** The server's clock now, Unix epoch ms. */
  serverNow(): number {
    return this.#clock.serverTime(this.#now());
  }

  /** Where the room's media is now, ms; `undefined` before the first snapshot. */
  position(): number | undefined {
    return this.#view === undefined ? undefined : positionAt(this.#view.playback, this.serverNow());
  }

  /**
   * Sends one event; returns its `ref`, or `undefined` when no socket is open (nothing is
   * queued: a control meant for the room as the user saw it should not fire later).
   */
  send(event: ClientEvent): string | undefined {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) {
      return undefined;
    }
    const ref = `c${++this.#nextRef}`;
    socket.send(frame(event, ref));
    return ref;
  }

  play(positionMs?: number, expectedVersion?: number): string | undefined {
    return this.send({ type: "PLAY", data: { position_ms: positionMs, expected_version: expectedVersion } });
  }

  pause(positionMs?: number, expectedVersion?: number): string | undefined {
    return this.send({ type: "PAUSE", data: { position_ms: positionMs, expected_version: expectedVersion } });
  }

  seek(positionMs: number, expectedVersion?: number): string | undefined {
    return this.send({ type: "SEEK", data: { position_ms: Math.round(positionMs), expected_version: expectedVersion } });
  }

  setRate(rate: number, expectedVersion?: number): string | undefined {
    return this.send({ type: "SET_RATE", data: { rate, expected_version: expectedVersion } });
  }

  setMedia(media: MediaRef): string | undefined {
    return this.send({ type: "SET_MEDIA", data: { media } });
  }

  chat(text: string): string | undefined {
    return this.send({ type: "CHAT", data: { text } });
  }

  setChatEnabled(enabled: boolean): string | undefined {
    return this.send({ type: "SET_CHAT_ENABLED", data: { enabled } });
  }

  mute(userId: UserId, durationS?: number): string | undefined {
    return this.send({ type: "MUTE_USER", data: { user_id: userId, duration_s: durationS } });
  }

  unmute(userId: UserId): string | undefined {
    return this.send({ type: "UNMUTE_USER", data: { user_id: userId } });
  }

  kick(userId: UserId): string | undefined {
    return this.send({ type: "KICK_USER", data: { user_id: userId } });
  }

  ban(userId: UserId): string | undefined {
    return this.send({ type: "BAN_USER", data: { user_id: userId } });
  }

  transferHost(userId: UserId): string | undefined {
    return this.send({ type: "TRANSFER_HOST", data: { user_id: userId } });
  }

  playerEvent(event: PlayerEvent): string | undefined {
    return this.send({ type: "PLAYER_EVENT", data: event });
  }

  /** Reports the local player's position; a `SYNC_CORRECTION` comes back when it is off. */
  syncCheck(positionMs: number): string | undefined {
    return this.send({ type: "SYNC_CHECK", data: { position_ms: Math.max(0, Math.round(positionMs)) } });
  }

  /** One clock exchange. */
  ping(): string | undefined {
    const sentMs = this.#now();
    const ref = this.send({ type: "PING", data: { client_ts: Math.floor(sentMs) } });
    if (ref !== undefined) {
      this.#pingsSent.set(ref, sentMs);
    }
    return ref;
  }

  /** Asks for a fresh snapshot. */
  resync(): string | undefined {
    return this.send({ type: "RESYNC", data: {} });
  }

  /** Ends the connection for good (close 1000); no reconnect follows. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#stopTimers();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      this.#detach(socket);
      socket.close(1000, "bye");
    }
    this.emit("closed", { code: 1000, reason: "closed by the client" });
  }

  #after(ms: number, run: () => void): TimerHandle {
    const handle = setTimer(() => {
      this.#timers.delete(handle);
      run();
    }, ms);
    this.#timers.add(handle);
    return handle;
  }

  #cancel(handle: TimerHandle): void {
    clearTimer(handle);
    this.#timers.delete(handle);
  }

  /** Ends a socket's timers and what they wait for (PONGs, a gap RESYNC's answer) with it. */
  #stopTimers(): void {
    for (const handle of this.#timers) {
      clearTimer(handle);
    }
    this.#timers.clear();
    this.#pingsSent.clear();
    this.#gap = undefined;
  }

  #detach(socket: WebSocketLike): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
  }

  async #connect(): Promise<void> {
    let token: string;
    try {
      token = await this.#auth.accessToken();
    } catch (error) {
      this.#finish(4001, `no access token: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (this.#closed) {
      return;
    }
    const resume = this.#resume ? this.#sequencer.resumePoint() : undefined;
    const socket = new this.#WebSocket(this.#auth.api.roomSocketUrl(this.code, token, resume));
    this.#socket = socket;
    this.#openedAt = undefined;
    this.#sequencer.reconnecting();
    this.#clock.reset();
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        this.#receive(event.data);
      }
    };
    socket.onclose = (event) => this.#ended(socket, event.code, event.reason);
    // A failed connect or a lost one reports an error, then a close; the close decides.
    socket.onerror = () => {};
  }

  #receive(text: string): void {
    const message = parseServerMessage(text);
    if (message === undefined) {
      return;
    }
    const now = this.#now();
    this.#clock.observe(message.ts, now);
    switch (message.type) {
      case "ROOM_SNAPSHOT":
        this.#answered(message.ref);
        this.#sequencer.snapshot(message.data.seq, message.data.epoch ?? undefined);
        this.#fold(message);
        this.emit("snapshot", message.data);
        this.#opened(false);
        return;
      case "ROOM_RESUMED":
        this.#answered(message.ref);
        this.#sequencer.resumed(message.data.epoch);
        this.emit("message", message);
        this.#opened(true);
        return;
      case "PONG":
        this.#pong(message.data.client_ts, message.data.server_ts, message.ref, now);
        break;
      default:
        break;
    }
    if (message.seq !== undefined) {
      this.#broadcast(message, message.seq);
    } else {
      this.#fold(message);
    }
    // After the fold, so the app hears the ERROR first; a listener that closed the connection
    // has cleared the gap with the socket.
    if (message.type === "ERROR" && message.ref !== undefined && message.ref === this.#gap?.ref) {
      this.#replace(`the server could not answer RESYNC: ${message.data.code}`);
    }
  }

  #broadcast(message: ServerMessage, seq: number): void {
    const lastSeq = this.#sequencer.lastSeq;
    const verdict = this.#sequencer.broadcast(seq);
    switch (verdict.action) {
      case "apply":
        this.#fold(message);
        return;
      case "drop":
        return;
      case "resync": {
        const ref = this.send({
          type: "RESYNC",
          data: verdict.epoch === undefined ? {} : { since_seq: verdict.sinceSeq, epoch: verdict.epoch },
        });
        if (ref !== undefined) {
          const ms = this.#resyncTimeoutMs;
          this.#gap = { ref, timer: this.#after(ms, () => this.#replace(`no answer to RESYNC in ${ms} ms`)) };
        }
        this.emit("gap", { lastSeq: lastSeq ?? verdict.sinceSeq, seq });
        return;
      }
    }
  }

  /** A `ROOM_SNAPSHOT` or `ROOM_RESUMED` answering `ref`: when that is the gap RESYNC, it is mended. */
  #answered(ref: string | undefined): void {
    if (this.#gap !== undefined && ref === this.#gap.ref) {
      this.#cancel(this.#gap.timer);
      this.#gap = undefined;
    }
  }

  /**
   * Gives up on the socket, whose gap the server will not mend: it is closed and the
   * connection reconnects as after a lost one, resuming from the last `seq` before the gap
   * (or with a fresh snapshot when the server cannot replay).
   */
  #replace(reason: string): void {
    const socket = this.#socket;
    if (socket === undefined) {
      return;
    }
    this.#ended(socket, 1006, reason);
    socket.close(1000, "RESYNC failed");
  }

  #fold(message: ServerMessage): void {
    const before = this.#view?.playback;
    if (message.type === "ROOM_SNAPSHOT") {
      this.#view = fromSnapshot(message.data, this.#view);
    } else if (this.#view !== undefined) {
      apply(this.#view, message);
    }
    this.emit("message", message);
    if (message.type === "CHAT_MESSAGE") {
      this.emit("chat", message.data);
    }
    if (message.type === "ERROR") {
      this.emit("refused", message.ref === undefined ? message.data : { ...message.data, ref: message.ref });
    }
    const after = this.#view?.playback;
    if (after !== undefined && after !== before) {
      this.emit("playback", after);
    }
  }

  #pong(clientTs: number, serverTs: number, ref: string | undefined, now: number): void {
    const sentMs = ref === undefined ? undefined : this.#pingsSent.get(ref);
    if (ref !== undefined) {
      this.#pingsSent.delete(ref);
    }
    if (this.#clock.add({ sentMs: sentMs ?? clientTs, receivedMs: now, serverMs: serverTs })) {
      this.emit("clock", this.#clock.estimate());
    }
  }

  #opened(resumed: boolean): void {
    if (this.#openedAt !== undefined) {
      return;
    }
    this.#openedAt = this.#now();
    this.#refreshedSinceOpen = false;
    this.emit("open", { resumed });
    this.#schedulePings(0);
  }

  #schedulePings(sent: number): void {
    const delay = sent === 0 ? 0 : sent < this.#ping.burst ? this.#ping.burstIntervalMs : this.#ping.intervalMs;
    this.#after(delay, () => {
      if (this.ping() !== undefined) {
        this.#schedulePings(sent + 1);
      }
    });
  }

  #ended(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.#socket) {
      return;
    }
    this.#detach(socket);
    this.#socket = undefined;
    this.#stopTimers();
    const openedAt = this.#openedAt;
    this.#openedAt = undefined;
    if (openedAt !== undefined) {
      this.#backoff.connectionEnded(this.#now() - openedAt);
    }
    const refresh = this.#auth.refresh;
    const refreshFirst = code === 4001 && refresh !== undefined && !this.#refreshedSinceOpen;
    const reconnect = !this.#closed && this.#view?.ended !== true && (canReconnect(code) || refreshFirst);
    this.emit("disconnected", { code, reason, reconnect });
    if (!reconnect) {
      this.#finish(code, reason);
      return;
    }
    if (refreshFirst) {
      this.#refreshedSinceOpen = true;
      refresh.call(this.#auth).then(
        () => this.#retry(0),
        (error: unknown) => this.#finish(4001, `refresh failed: ${error instanceof Error ? error.message : String(error)}`),
      );
      return;
    }
    this.#retry(this.#backoff.next());
  }

  #retry(delayMs: number): void {
    if (this.#closed) {
      return;
    }
    this.emit("reconnecting", { attempt: this.#backoff.attempt, delayMs });
    this.#after(delayMs, () => void this.#connect());
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#stopTimers();
    this.emit("closed", { code, reason });
  }
}
