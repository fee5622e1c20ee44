// Ordering of room broadcasts (protocol 6.7): which frame to apply, which to drop, and when
// something was missed and a RESYNC must mend it. Pure: the connection feeds it frames.

/** What to do with one broadcast. */
export type Verdict =
  | { action: "apply" }
  | { action: "drop" }
  | { action: "resync"; sinceSeq: number; epoch: string | undefined };

/** Where a reconnecting client left off, for `since_seq` and `epoch` (protocol 6.1). */
export interface ResumePoint {
  sinceSeq: number;
  epoch: string;
}

/** The `seq` bookkeeping of one room. */
export class Sequencer {
  #lastSeq: number | undefined;
  #epoch: string | undefined;
  #resyncing = false;

  /** The last `seq` applied; every broadcast up to it was applied, with no hole. */
  get lastSeq(): number | undefined {
    return this.#lastSeq;
  }

  /** The history epoch of the last snapshot, when the server can replay. */
  get epoch(): string | undefined {
    return this.#epoch;
  }

  /** Whether a RESYNC is outstanding (broadcasts are dropped until its answer). */
  get resyncing(): boolean {
    return this.#resyncing;
  }

  /** A `ROOM_SNAPSHOT`: everything before starts over from its `seq`. */
  snapshot(seq: number, epoch: string | undefined): void {
    this.#lastSeq = seq;
    this.#epoch = epoch;
    this.#resyncing = false;
  }

  /** A `ROOM_RESUMED`: the missed broadcasts follow, from `lastSeq + 1`. */
  resumed(epoch: string): void {
    this.#epoch = epoch;
    this.#resyncing = false;
  }

  /** Steps 2 to 4 of the client algorithm for a frame whose envelope carries `seq`. */
  broadcast(seq: number): Verdict {
    if (this.#lastSeq === undefined || this.#resyncing || seq <= this.#lastSeq) {
      return { action: "drop" };
    }
    if (seq === this.#lastSeq + 1) {
      this.#lastSeq = seq;
      return { action: "apply" };
    }
    this.#resyncing = true;
    return { action: "resync", sinceSeq: this.#lastSeq, epoch: this.#epoch };
  }

  /** A new socket: an outstanding RESYNC died with the old one. */
  reconnecting(): void {
    this.#resyncing = false;
  }

  /** Where to resume from on the next connect, when the server can replay. */
  resumePoint(): ResumePoint | undefined {
    if (this.#lastSeq === undefined || this.#epoch === undefined) {
      return undefined;
    }
    return { sinceSeq: this.#lastSeq, epoch: this.#epoch };
  }
}
