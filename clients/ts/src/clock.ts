// Clock synchronisation from PING/PONG exchanges (protocol 6.8): each exchange gives an
// offset and a round trip; the estimate is the offset of the exchange with the smallest round
// trip in a window of recent ones, since queueing only ever adds delay.

/** One PING/PONG exchange. */
export interface ClockSample {
  /** Local clock when the PING left, ms. */
  sentMs: number;
  /** Local clock when the PONG arrived, ms. */
  receivedMs: number;
  /** Server clock when it answered, Unix epoch ms. */
  serverMs: number;
}

/** The current estimate. */
export interface ClockEstimate {
  /** Server clock minus local clock, ms: server time is `local + offsetMs`. */
  offsetMs: number;
  /** Round trip of the sample the offset comes from, ms; `Infinity` before any PONG. */
  rttMs: number;
  /** Exchanges in the window. */
  samples: number;
}

interface Kept {
  offsetMs: number;
  rttMs: number;
  receivedMs: number;
}

/** Keeps the last `window` exchanges and estimates the offset from the fastest of them. */
export class ClockSync {
  readonly #window: number;
  #samples: Kept[] = [];
  #rough: number | undefined;

  /** `window`: how many recent exchanges to choose from (at least 1). */
  constructor(window = 16) {
    this.#window = Math.max(1, Math.floor(window));
  }

  /** Adds one exchange; returns false for one that cannot be right (a negative round trip). */
  add(sample: ClockSample): boolean {
    const rttMs = sample.receivedMs - sample.sentMs;
    if (!Number.isFinite(rttMs) || rttMs < 0 || !Number.isFinite(sample.serverMs)) {
      return false;
    }
    const offsetMs = sample.serverMs - (sample.sentMs + sample.receivedMs) / 2;
    this.#samples.push({ offsetMs, rttMs, receivedMs: sample.receivedMs });
    if (this.#samples.length > this.#window) {
      this.#samples.shift();
    }
    return true;
  }

  /**
   * Notes a server timestamp (a frame's `ts`) seen at local time `localMs`: until the first
   * PONG it stands in for the offset, off by the one-way delay.
   */
  observe(serverMs: number, localMs: number): void {
    if (this.#rough === undefined && Number.isFinite(serverMs)) {
      this.#rough = serverMs - localMs;
    }
  }

  /** Forgets every exchange: the path to the server may differ after a reconnect. */
  reset(): void {
    this.#samples = [];
    this.#rough = undefined;
  }

  /** The offset and round trip of the fastest exchange in the window. */
  estimate(): ClockEstimate {
    let best: Kept | undefined;
    for (const sample of this.#samples) {
      if (best === undefined || sample.rttMs < best.rttMs) {
        best = sample;
      }
    }
    if (best === undefined) {
      return { offsetMs: this.#rough ?? 0, rttMs: Infinity, samples: 0 };
    }
    return { offsetMs: best.offsetMs, rttMs: best.rttMs, samples: this.#samples.length };
  }

  /** Server time, Unix epoch ms, at local time `localMs`. */
  serverTime(localMs: number): number {
    return localMs + this.estimate().offsetMs;
  }
}
