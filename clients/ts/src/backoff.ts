// Reconnect delays (protocol 7): exponential, capped, with jitter so that the members of a
// room a server dropped do not all come back in the same instant.

/** Backoff settings, ms. */
export interface BackoffOptions {
  /** The first delay before jitter (default 1 000). */
  initialMs?: number;
  /** The largest delay (default 30 000). */
  maxMs?: number;
  /** A connection that lasted this long resets the sequence (default 30 000). */
  resetAfterMs?: number;
}

/** Delays `initial × 2^attempt`, capped, each drawn uniformly from its upper half. */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly resetAfterMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.initialMs = Math.max(1, options.initialMs ?? 1_000);
    this.maxMs = Math.max(this.initialMs, options.maxMs ?? 30_000);
    this.resetAfterMs = options.resetAfterMs ?? 30_000;
    this.#random = random;
  }

  /** Attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The next delay, ms; counts one attempt. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  /** Starts again from the first delay. */
  reset(): void {
    this.#attempt = 0;
  }

  /** Resets when a connection that just ended lasted long enough to count as healthy. */
  connectionEnded(lastedMs: number): void {
    if (lastedMs >= this.resetAfterMs) {
      this.reset();
    }
  }
}
