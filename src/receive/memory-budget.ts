// A memory budget shared by every message being checked at once. Reading a message (decoding its
// parts, extracting attachments, the texts the detectors scan) costs several times its size, so
// twenty large messages at once from a school's server retrying a big mailing, or from a hostile
// client, could push the process into the kernel's OOM killer, which loses every message in
// flight at once. Each message reserves an estimate before its journey starts; one that does not
// fit waits (bounded) for others to finish, or is answered 451 4.3.1 so its server retries later.
// A message alone is always admitted, however large (max_message_bytes bounds it).

/**
 * Working memory of one message's examination, as a multiple of its size. A large plain body: its
 * bytes and 2.2× more, whether or not it has an accent (bench/memory/examine.ts); until the body
 * stayed as its bytes, one curly apostrophe made that 5.3× more (V8 stores such a string in two
 * bytes a character). Archives: up to 3.5× the file inside them (bench/inspect; BENCHMARKS.md).
 */
export const EXAMINATION_FACTOR = 4;

interface Waiter { bytes: number; admit: (release: () => void) => void }

/** Bytes of each arriving message not counted: ordinary mail always arrives, whatever else is going on. */
export const ARRIVAL_ALLOWANCE = 1 << 20;

/** The bytes of one message still arriving, counted against the same budget. */
export interface Arrival {
  /** Counts `n` more bytes; false when they do not fit (the message should be refused, 4.3.1). */
  add(n: number): boolean;
  release(): void;
}

export class MemoryBudget {
  readonly limitBytes: number;
  #used = 0;
  #count = 0;
  #arriving = 0;
  #arrivals = 0;
  readonly #waiting: Waiter[] = [];

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Bytes reserved by the messages being examined now, and by the large ones still arriving. */
  get used(): number {
    return this.#used + this.#arriving;
  }

  /**
   * A message's bytes as they arrive: past its first ARRIVAL_ALLOWANCE, each chunk is counted, and
   * one that does not fit is refused, unless this message is the only one in the gateway. Without
   * this, a hundred large messages arriving at once would all be buffered before any budget check.
   */
  arrival(): Arrival {
    this.#arrivals++;
    let seen = 0;
    let counted = 0;
    let done = false;
    return {
      add: (n) => {
        seen += n;
        const more = Math.max(0, seen - ARRIVAL_ALLOWANCE) - counted;
        if (more <= 0) return true;
        const alone = this.#count === 0 && this.#arrivals === 1;
        if (!alone && this.#used + this.#arriving + more > this.limitBytes) return false;
        this.#arriving += more;
        counted += more;
        return true;
      },
      release: () => {
        if (done) return;
        done = true;
        this.#arrivals--;
        this.#arriving -= counted;
        counted = 0;
        this.#admitWaiting();
      },
    };
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
    return this.#count === 0 || this.#used + this.#arriving + bytes <= this.limitBytes;
  }

  #admitWaiting(): void {
    // First come, first served: the oldest waiter that fits is admitted next.
    while (this.#waiting.length && this.#fits(this.#waiting[0].bytes)) {
      const w = this.#waiting.shift()!;
      w.admit(this.#take(w.bytes));
    }
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
      this.#admitWaiting();
    };
  }
}
