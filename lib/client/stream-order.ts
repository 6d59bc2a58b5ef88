/**
 * Ordering and deduplication of one stream (realtime.md "Streams, positions and resume"):
 * events leave in `pos` order, each once, whatever order and how many times they arrive
 * (live, replayed after a rejoin, or both around the seam). Pure: no timers, no I/O.
 */

export interface Positioned {
  /** Absent on nodes without the event log: such events pass straight through. */
  pos?: number;
}

export class StreamOrder<T extends Positioned> {
  /** The last position delivered (or known to be covered); null until the stream's start is known. */
  private last: number | null;
  /** Arrived ahead of a gap, by position. */
  private readonly ahead = new Map<number, T>();
  /** While held (a REST resync in progress): everything that arrives, in arrival order. */
  private held: T[] | null = null;
  /**
   * The highest position that arrived while `maxWaiting` events were already waiting and was
   * not kept: missing (a gap) until the stream is delivered up to it.
   */
  private notKept = 0;

  /**
   * `maxWaiting` bounds the events kept while waiting (ahead of a gap, or held): a stream stuck
   * behind a gap does not grow without end. One that arrives beyond it is not kept but stays
   * missing, so it is asked for again (a rejoin replays every position after the last one
   * delivered) like any other gap.
   */
  constructor(
    lastPos: number | null = null,
    private readonly maxWaiting = Infinity,
  ) {
    this.last = lastPos;
  }

  /** The last position delivered, or null while unknown. */
  get lastPos(): number | null {
    return this.last;
  }

  /** True while positions are missing: events wait for them, or arrived and were not kept. */
  get hasGap(): boolean {
    return this.ahead.size > 0 || (this.last !== null && this.last < this.notKept);
  }

  /** How many events wait (behind a gap, or held). */
  get waiting(): number {
    return this.ahead.size + (this.held?.length ?? 0);
  }

  /** Takes one arrival; returns the events now deliverable, in order (possibly none). */
  push(event: T): T[] {
    const pos = event.pos;
    if (this.held) {
      if (pos !== undefined && this.held.length >= this.maxWaiting) this.notKept = Math.max(this.notKept, pos);
      else this.held.push(event);
      return [];
    }
    if (pos === undefined) return [event];
    if (this.last === null) {
      // The first event of a stream whose start is unknown (a join without `since` whose ack
      // has not come yet): it is live, so it starts the stream.
      this.last = pos;
      return [event, ...this.drain()];
    }
    if (pos <= this.last || this.ahead.has(pos)) return [];
    // Full: only the next position (it may close the gap) is still taken.
    if (pos !== this.last + 1 && this.ahead.size >= this.maxWaiting) {
      this.notKept = Math.max(this.notKept, pos);
      return [];
    }
    this.ahead.set(pos, event);
    return this.drain();
  }

  /**
   * The stream's position is known to be `pos` (a join ack): events up to it count as
   * delivered. Ignored when the stream is already past it. Returns what became deliverable.
   */
  startAt(pos: number): T[] {
    if (this.last !== null && this.last >= pos) return this.drain();
    this.last = pos;
    for (const p of this.ahead.keys()) if (p <= pos) this.ahead.delete(p);
    return this.drain();
  }

  /**
   * Moves the start back to `pos` when positions after it were counted as delivered without
   * being delivered (a start that turned out too late); events waiting ahead stay.
   */
  restartAt(pos: number): void {
    if (this.last !== null && pos < this.last) this.last = pos;
  }

  /**
   * Forgets every position (the node's stream went back below the last one delivered, e.g.
   * its database restored from a backup): the next `startAt`, or the next arrival, starts it.
   */
  reset(): void {
    this.last = null;
    this.ahead.clear();
    this.notKept = 0;
  }

  /** Holds every arrival until `release` (while the gap is filled from elsewhere, e.g. REST). */
  hold(): void {
    this.held ??= [];
  }

  /** Ends a hold at position `pos`: what was held goes through the usual rules. */
  release(pos: number | null): T[] {
    const held = this.held ?? [];
    this.held = null;
    const out = pos === null ? [] : this.startAt(pos);
    for (const e of held) out.push(...this.push(e));
    return out;
  }

  private drain(): T[] {
    const out: T[] = [];
    while (this.last !== null && this.ahead.has(this.last + 1)) {
      this.last += 1;
      out.push(this.ahead.get(this.last)!);
      this.ahead.delete(this.last);
    }
    return out;
  }
}

/** A set that remembers the last `limit` keys (dedup of messages seen both live and through REST). */
export class RecentKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly limit = 2000) {}

  /** Adds `key`; false when it was already there. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.limit) this.keys.delete(this.keys.values().next().value!);
    return true;
  }
}
