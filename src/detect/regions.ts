// Phase 2 of a scan, its geometry: where in a text the identifier patterns are read. Words with
// digits are grouped into regions (RegionTracker); regions are widened to word boundaries and
// merged; the fast paths blank what they found in a reused copy of the text.

// Letters a match can have before its first digit or after its last ("March 12, 2014", "AB 12 34 56 C").
export const REGION_PAD = 16;

/** Words with digits closer than this share a region (one RE2 call costs about as much as reading 200 bytes). */
export const REGION_MERGE = 96;

/**
 * Words with digits this close (bytes between them) form one cluster: every identifier pattern's
 * digits lie in one cluster ("AB 12 34 56 C", "+44 (0)1632 960 000"), and a numeric date's in one
 * joined by single date separators ("12/03/2014"), so a region is only read by RE2 when one of its
 * clusters has enough digits. A class list's "12,12B" (year, form) on every row is then not an
 * identifier region.
 */
export const CLUSTER_GAP = 3;

/** / . - between the parts of a numeric date. */
export function isDateSeparator(c: number): boolean {
  return c === 0x2f || c === 0x2e || c === 0x2d;
}

export function isWordByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 0x80;
}

let maskScratch = Buffer.alloc(0);

/** A mask copy larger than this is let go after its scan rather than kept for the next. */
const KEEP_MASK = 1 << 20;

/**
 * The text as the identifier patterns read it: with what the fast paths found blanked, so the
 * patterns report only the rest. Only a region a blank falls in is copied (into a scratch buffer
 * reused from region to region and scan to scan: scans are synchronous and each thread has its own
 * module); other regions are read in place. A 20 MB body was copied whole before, for a few
 * regions' sake. Call wipe() when the scan is done: no message text stays behind.
 */
export class BlankedText {
  /** [start, end) pairs, in text order. */
  readonly #spans: number[] = [];
  #next = 0;
  #used = 0;
  readonly #buf: Buffer;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  /** Blank [start, end): spans come in text order. */
  blank(start: number, end: number): void {
    this.#spans.push(start, end);
  }

  /** [start, end) with its blanks; regions come in text order. Valid until the next call. */
  region(start: number, end: number): Buffer {
    const s = this.#spans;
    while (this.#next < s.length && s[this.#next + 1] <= start) this.#next += 2;
    if (this.#next >= s.length || s[this.#next] >= end) return this.#buf.subarray(start, end);
    const n = end - start;
    if (maskScratch.length < n) {
      maskScratch.fill(0, 0, this.#used); // the smaller one, let go, keeps no text either
      maskScratch = Buffer.allocUnsafe(Math.max(n, 2 * maskScratch.length, 4096));
    }
    this.#buf.copy(maskScratch, 0, start, end);
    for (let k = this.#next; k < s.length && s[k] < end; k += 2) maskScratch.fill(0x20, Math.max(start, s[k]) - start, Math.min(end, s[k + 1]) - start);
    if (n > this.#used) this.#used = n;
    return maskScratch.subarray(0, n);
  }

  /** Zero what the scratch holds (and let a big one go). */
  wipe(): void {
    if (this.#used) maskScratch.fill(0, 0, Math.min(this.#used, maskScratch.length));
    if (maskScratch.length > KEEP_MASK) maskScratch = Buffer.alloc(0);
  }
}

/** The scanner's own copy of a Buffer it was given (findings read their evidence from it later). */
export function ownCopy(text: Buffer): Buffer {
  const own = Buffer.allocUnsafe(text.length);
  text.copy(own, 0, 0, text.length);
  return own;
}

/** Widen digit regions so patterns that start or end with letters ("12 March 2014") fit, on word boundaries. */
export function padRegions(buf: Buffer, regions: number[]): number[] {
  const widened: number[] = [];
  for (let r = 0; r < regions.length; r += 2) widened.push(regions[r] - REGION_PAD, regions[r + 1] + REGION_PAD);
  const out = alignRegions(buf, widened);
  let total = 0;
  for (let r = 0; r < out.length; r += 2) total += out[r + 1] - out[r];
  // Mostly digits anyway: one pass over the whole text is cheaper than many small ones.
  if (total > buf.length * 0.8) return [0, buf.length];
  return out;
}

/** Clamp regions to the text, move their edges off the middle of words, merge overlaps (and gaps up to `mergeGap` bytes). */
export function alignRegions(buf: Buffer, regions: number[], mergeGap = 0): number[] {
  const n = buf.length;
  const out: number[] = [];
  for (let r = 0; r < regions.length; r += 2) {
    let s = Math.max(0, regions[r]);
    let e = Math.min(n, regions[r + 1]);
    if (e <= s) continue;
    while (s > 0 && isWordByte(buf[s - 1]) && isWordByte(buf[s])) s--;
    while (e < n && isWordByte(buf[e - 1]) && isWordByte(buf[e])) e++;
    if (out.length && s <= out[out.length - 1] + mergeGap) out[out.length - 1] = Math.max(out[out.length - 1], e);
    else out.push(s, e);
  }
  return out;
}

/**
 * Groups the words holding digits into the regions the identifier patterns read. Words closer than
 * REGION_MERGE share a region; inside one, words closer than CLUSTER_GAP form a cluster (a
 * date's parts only when joined by one separator, 12/03/2014). A region is read only where one
 * cluster holds enough digits for an identifier, or for a date where dates count, or a word ends
 * like a postcode. One tracker per kind of region (every word; the words no fast path took).
 */
export class RegionTracker {
  /** Regions found so far: start, end pairs. */
  readonly regions: number[] = [];
  private readonly minIdDigits: number;
  private readonly minDateDigits: number;
  private start = -1;
  private end = -1;
  private cluster = 0;
  private most = 0;
  private dateCluster = 0;
  private mostDate = 0;
  private post = 0;

  constructor(minIdDigits: number, minDateDigits: number) {
    this.minIdDigits = minIdDigits;
    this.minDateDigits = minDateDigits;
  }

  /** The next word with digits: [st, en), `count` digits, `post` when it ends like a postcode. */
  add(st: number, en: number, count: number, post: number, dateJoin: boolean): void {
    if (this.end >= 0 && st - this.end <= REGION_MERGE) {
      this.cluster = st - this.end <= CLUSTER_GAP ? this.cluster + count : count;
      this.dateCluster = st - this.end === 1 && dateJoin ? this.dateCluster + count : count;
      if (this.cluster > this.most) this.most = this.cluster;
      if (this.dateCluster > this.mostDate) this.mostDate = this.dateCluster;
      this.end = en;
      this.post |= post;
      return;
    }
    this.close();
    this.start = st;
    this.end = en;
    this.cluster = this.most = this.dateCluster = this.mostDate = count;
    this.post = post;
  }

  /** Ends the region being built (before a new one, and after the last word). */
  close(): void {
    if (this.end >= 0 && (this.most >= this.minIdDigits || this.mostDate >= this.minDateDigits || this.post)) this.regions.push(this.start, this.end);
    this.end = -1;
  }
}
