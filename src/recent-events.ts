// How many times something happened lately, by key (a client address): a sliding window, for the
// relay's connections a minute from one address and the sender page's requests from one address.
// Keys whose events have all left the window are dropped once there are many keys.
export class RecentEvents {
  readonly #seen = new Map<string, number[]>();
  readonly #windowMs: number;
  readonly #now: () => number;
  constructor(windowMs: number, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Records one event for `key`; returns how many it has had in the window, this one included. */
  count(key: string): number {
    const t = this.#now();
    const times = (this.#seen.get(key) ?? []).filter((x) => t - x < this.#windowMs);
    times.push(t);
    this.#seen.set(key, times);
    if (this.#seen.size > 10_000) for (const [k, ts] of this.#seen) if (ts.every((x) => t - x >= this.#windowMs)) this.#seen.delete(k);
    return times.length;
  }
}
