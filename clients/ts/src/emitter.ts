// A small typed event emitter, the same in browsers and Node.

import { setTimer } from "./env.ts";

/** A listener of events of one kind. */
export type Handler<T> = (payload: T) => void;

/** Emits the events of `Events`, a map from name to payload. */
export class Emitter<Events> {
  readonly #handlers = new Map<keyof Events, Set<Handler<never>>>();

  /** Calls `handler` for each event `name`; returns a function that stops it. */
  on<K extends keyof Events>(name: K, handler: Handler<Events[K]>): () => void {
    let set = this.#handlers.get(name);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(name, set);
    }
    set.add(handler);
    return () => this.off(name, handler);
  }

  /** Stops `handler`. */
  off<K extends keyof Events>(name: K, handler: Handler<Events[K]>): void {
    this.#handlers.get(name)?.delete(handler);
  }

  /** Calls every handler of `name`; one that throws does not stop the others. */
  protected emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    const set = this.#handlers.get(name) as Set<Handler<Events[K]>> | undefined;
    for (const handler of [...(set ?? [])]) {
      try {
        handler(payload);
      } catch (error) {
        setTimer(() => {
          throw error;
        }, 0);
      }
    }
  }
}
