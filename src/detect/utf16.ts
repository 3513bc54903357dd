// Byte offsets in UTF-8 and indices into the JavaScript string it decodes to, both ways.
import { isAscii } from 'node:buffer';

/** Bytes per block that isAscii() clears at once (native, vectorised). */
const ASCII_BLOCK = 4096;
/** Bytes per part: a mapping re-reads at most one part's bytes. */
const PART = 64;
const PARTS_PER_BLOCK = ASCII_BLOCK / PART;

/**
 * Where UTF-8 bytes and the UTF-16 string they decode to line up: byte offsets to string indices
 * and back, for offsets between characters. A UTF-16 index is the byte offset less the
 * continuation bytes before it, plus one for each 4-byte sequence (a surrogate pair) before it.
 * The difference is kept at the start of every 64-byte part, with a mark on the parts that are not
 * all ASCII (5 bytes a part: about 8% of the text, whatever its script); an offset is mapped by
 * re-reading at most its part's bytes. Mail is mostly ASCII: whole 4 KB blocks are cleared
 * natively, and the others are read here four bytes at a time (English prose has a curly quote or
 * an accent in nine blocks of ten; read a byte at a time, they cost 45 ms of a 20 MB letter's
 * examination, 14 ms four at a time).
 */
export class Utf8Offsets {
  /** The string's length in UTF-16 code units. */
  readonly length: number;
  /** True when every byte is ASCII: offsets and indices agree. */
  readonly ascii: boolean;
  readonly #buf: Buffer;
  readonly #parts: number;
  /** The difference (index less offset) at each part's start. */
  readonly #delta: Int32Array;
  /** 1 for a part holding a byte that is not ASCII. */
  readonly #mixed: Uint8Array;

  constructor(buf: Buffer) {
    const n = buf.length;
    const parts = Math.ceil(n / PART);
    this.#buf = buf;
    this.#parts = parts;
    this.#delta = new Int32Array(parts + 1);
    this.#mixed = new Uint8Array(parts + 1);
    let delta = 0;
    let ascii = true;
    for (let s = 0; s < n; s += ASCII_BLOCK) {
      const e = Math.min(n, s + ASCII_BLOCK);
      const first = s / PART;
      if (isAscii(buf.subarray(s, e))) {
        this.#delta.fill(delta, first, Math.min(parts, first + PARTS_PER_BLOCK));
        continue;
      }
      ascii = false;
      // Four bytes at a time where the bytes are aligned for it (a Buffer of its own is).
      const words = (buf.byteOffset & 3) === 0 ? new Int32Array(buf.buffer, buf.byteOffset + s, (e - s) >> 2) : undefined;
      for (let p = first; p * PART < e; p++) {
        this.#delta[p] = delta;
        const q = Math.min(e, (p + 1) * PART);
        let i = p * PART;
        if (words) {
          // Per byte of a word: its top bit (not ASCII), and that with the next bit clear (a
          // continuation byte) or with the next three set (the lead of four). Counted by summing
          // the bytes' flags into the top byte.
          let high = 0;
          for (const end = s + ((q - s) & ~3); i < end; i += 4) {
            const w = words[(i - s) >> 2];
            const top = w & 0x80808080;
            if (top === 0) continue;
            high = 1;
            const continuation = top & ~(w << 1);
            const four = top & (w << 1) & (w << 2) & (w << 3);
            delta += (Math.imul(four >>> 7, 0x01010101) >>> 24) - (Math.imul(continuation >>> 7, 0x01010101) >>> 24);
          }
          if (high) this.#mixed[p] = 1;
        }
        for (; i < q; i++) {
          const c = buf[i];
          if (c < 0x80) continue;
          this.#mixed[p] = 1;
          if ((c & 0xc0) === 0x80) delta--;
          else if (c >= 0xf0) delta++;
        }
      }
    }
    this.#delta[parts] = delta;
    this.length = n + delta;
    this.ascii = ascii;
  }

  /** The string index of a byte offset (a 4-byte lead counts as soon as it is before the offset). */
  toUtf16(offset: number): number {
    if (this.ascii) return offset;
    if (offset >= this.#buf.length) return this.length;
    const p = Math.floor(offset / PART);
    let d = this.#delta[p];
    if (this.#mixed[p]) {
      const buf = this.#buf;
      for (let i = p * PART; i < offset; i++) {
        const c = buf[i];
        if (c < 0x80) continue;
        if ((c & 0xc0) === 0x80) d--;
        else if (c >= 0xf0) d++;
      }
    }
    return offset + d;
  }

  /** The byte offset of a string index (0 to length; an index inside a surrogate pair gives its character's start). */
  toUtf8(index: number): number {
    if (this.ascii) return index;
    const buf = this.#buf;
    if (!(index > 0)) return 0; // NaN too
    index = Math.trunc(index);
    if (index >= this.length) return buf.length;
    // The last part starting at or before the index (indices at part starts only grow).
    let lo = 0;
    let hi = this.#parts - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (mid * PART + this.#delta[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    let at = lo * PART;
    let unit = at + this.#delta[lo];
    if (!this.#mixed[lo] && index - unit < PART) return at + (index - unit);
    // Read on from the part's start: a continuation byte is no unit of its own (an index is
    // placed after it, at its character's end), a 4-byte lead two.
    for (; at < buf.length; at++) {
      const c = buf[at];
      const continuation = (c & 0xc0) === 0x80;
      if (unit === index && !continuation) return at;
      if (continuation) continue;
      if (c >= 0xf0) {
        if (unit + 1 === index) return at; // between the two halves of a surrogate pair
        unit += 2;
      } else unit++;
    }
    return buf.length;
  }
}
