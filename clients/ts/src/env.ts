// What the library needs from its JavaScript host, typed without the DOM or Node libraries so
// that it stays runnable in both: a WebSocket class, timers and a millisecond clock.

/**
 * A listener type checked bivariantly, as method parameters are: the browser's `WebSocket`
 * and the `ws` package declare their handlers with their own event classes, which carry at
 * least the fields read here.
 */
type Listener<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/** The part of a WebSocket (WHATWG or the `ws` package) the room connection uses. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Listener<unknown> | null;
  onmessage: Listener<{ data: unknown }> | null;
  onclose: Listener<{ code: number; reason: string }> | null;
  onerror: Listener<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `WebSocket` from `ws` in Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `WebSocket.OPEN`, the same in every implementation. */
export const OPEN = 1;

/** The subset of `fetch` the REST client uses. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; text(): Promise<string> }>;

/** An opaque timer handle (a number in browsers, an object in Node). */
export type TimerHandle = unknown;

interface Host {
  WebSocket?: WebSocketConstructor;
  fetch?: FetchLike;
  performance?: { now(): number; timeOrigin: number };
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

// Every runtime the library supports (browsers, Node 20) provides these globals; the lib
// setting keeps their declarations out so the library cannot lean on anything else.
const host = globalThis as unknown as Host;

export function setTimer(callback: () => void, ms: number): TimerHandle {
  return host.setTimeout(callback, ms);
}

export function clearTimer(handle: TimerHandle): void {
  host.clearTimeout(handle);
}

/**
 * Local time, Unix epoch ms, from a monotonic clock where there is one (protocol 6.8: a
 * wall-clock step on the client then does not spoil the clock offset).
 */
export function monotonicNow(): number {
  const performance = host.performance;
  return performance === undefined ? Date.now() : performance.timeOrigin + performance.now();
}

/** The host's WebSocket class, when it has one (browsers, Node 22 and later). */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return host.WebSocket;
}

/** The host's `fetch`, when it has one (browsers, Node 18 and later). */
export function globalFetch(): FetchLike | undefined {
  return host.fetch === undefined ? undefined : host.fetch.bind(globalThis);
}
