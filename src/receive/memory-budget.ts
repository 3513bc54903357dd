// A memory budget shared by every message being checked at once. Reading a message (decoding its
// parts, extracting attachments, the texts the detectors scan) costs several times its size, so
// twenty large messages at once from a school's server retrying a big mailing, or from a hostile
// client, could push the process into the kernel's OOM killer, which loses every message in
// flight at once. Each message reserves an estimate before its journey starts; one that does not
// fit waits (bounded) for others to finish, or is answered 451 4.3.1 so its server retries later.
// A message alone is always admitted, however large (max_message_bytes bounds it).

/** Working memory of one message's examination, as a multiple of its size (measured: about 8×). */
export const EXAMINATION_FACTOR = 8;

interface Waiter { bytes: number; admit: (release: () => void) => void }

export class MemoryBudget {
  readonly limitBytes: number;
  #used = 0;
  #count = 0;
  readonly #waiting: Waiter[] = [];

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Bytes reserved by the messages being examined now. */
  get used(): number {
    return this.#used;
  }

  /** Reserves `bytes`; resolves with the release function, or undefined after `waitMs` without room. */
  reserve(bytes: number, waitMs: number): Promise<(() => void) | undefined> {
    if (this.#fits(bytes) && this.#waiting.length === 0) return Promise.resolve(this.#take(bytes));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes,
        admit: (release) => {
          clearTimeout(timer);
          resolve(release);
        },
      };
      const timer = setTimeout(() => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        resolve(undefined);
      }, waitMs);
      timer.unref();
      this.#waiting.push(waiter);
    });
  }

  #fits(bytes: number): boolean {
    return this.#count === 0 || this.#used + bytes <= this.limitBytes;
  }

  #take(bytes: number): () => void {
    this.#used += bytes;
    this.#count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= bytes;
      this.#count--;
      // First come, first served: the oldest waiter that fits is admitted next.
      while (this.#waiting.length && this.#fits(this.#waiting[0].bytes)) {
        const w = this.#waiting.shift()!;
        w.admit(this.#take(w.bytes));
      }
    };
  }
}
