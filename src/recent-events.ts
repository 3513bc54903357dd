// How many times something happened lately, by key (a client address): a sliding window, for the
// relay's connections a minute from one address and the sender page's requests from one address.
// Keys whose events have all left the window are dropped once there are many keys, at most once a
// window (a flood from many addresses must not make every count a sweep of them all).
export class RecentEvents {
  readonly #seen = new Map<string, number[]>();
  #sweptAt = -Infinity;
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
    if (this.#seen.size > 10_000 && t - this.#sweptAt >= this.#windowMs) {
      this.#sweptAt = t;
      for (const [k, ts] of this.#seen) if (ts.every((x) => t - x >= this.#windowMs)) this.#seen.delete(k);
    }
    return times.length;
  }
}
