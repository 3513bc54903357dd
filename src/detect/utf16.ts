// Byte offsets in UTF-8 and indices into the JavaScript string it decodes to, both ways.
import { isAscii } from 'node:buffer';

/** Bytes per block that isAscii() clears at once (native, vectorised), and per part of a block. */
const ASCII_BLOCK = 4096;
const ASCII_PART = 256;

/**
 * Where UTF-8 bytes and the UTF-16 string they decode to line up: byte offsets to string indices
 * and back, for offsets between characters. A UTF-16 index is the byte offset less the
 * continuation bytes before it, plus one for each 4-byte sequence (a surrogate pair) before it.
 * Mail is mostly ASCII: whole blocks (and parts of blocks) are cleared natively, and only the
 * bytes of the others are read here. Each block keeps the difference at its start and its own
 * changes, so an offset is mapped by its block alone (no sorting of the offsets: a class list has
 * hundreds of thousands of findings).
 */
export class Utf8Offsets {
  /** The string's length in UTF-16 code units. */
  readonly length: number;
  /** True when every byte is ASCII: offsets and indices agree. */
  readonly ascii: boolean;
  readonly #bytes: number;
  readonly #blocks: number;
  /** The difference (index less offset) at each block's start, and where each block's changes start in #fixAt/#fixBy. */
  readonly #startDelta: Int32Array;
  readonly #firstFix: Int32Array;
  readonly #fixAt: number[] = [];
  /** -1 for a continuation byte (no unit of its own), +1 for a 4-byte lead (two units). */
  readonly #fixBy: number[] = [];

  constructor(buf: Buffer) {
    const blocks = Math.ceil(buf.length / ASCII_BLOCK);
    this.#bytes = buf.length;
    this.#blocks = blocks;
    this.#startDelta = new Int32Array(blocks + 1);
    this.#firstFix = new Int32Array(blocks + 1);
    const fixAt = this.#fixAt;
    const fixBy = this.#fixBy;
    let delta = 0;
    for (let b = 0; b < blocks; b++) {
      this.#startDelta[b] = delta;
      this.#firstFix[b] = fixAt.length;
      const s = b * ASCII_BLOCK;
      const e = Math.min(buf.length, s + ASCII_BLOCK);
      if (isAscii(buf.subarray(s, e))) continue;
      for (let p = s; p < e; p += ASCII_PART) {
        const q = Math.min(e, p + ASCII_PART);
        if (isAscii(buf.subarray(p, q))) continue;
        for (let i = p; i < q; i++) {
          const c = buf[i];
          if (c < 0x80) continue;
          if ((c & 0xc0) === 0x80) {
            fixAt.push(i);
            fixBy.push(-1);
            delta--;
          } else if (c >= 0xf0) {
            fixAt.push(i);
            fixBy.push(1);
            delta++;
          }
        }
      }
    }
    this.#startDelta[blocks] = delta;
    this.#firstFix[blocks] = fixAt.length;
    this.length = buf.length + delta;
    this.ascii = fixAt.length === 0;
  }

  /** The string index of a byte offset (a 4-byte lead counts once its whole character is behind the offset). */
  toUtf16(offset: number): number {
    if (this.ascii) return offset;
    const b = Math.min(this.#blocks, Math.floor(offset / ASCII_BLOCK));
    let d = this.#startDelta[b];
    for (let k = this.#firstFix[b], end = this.#firstFix[b + 1] ?? k; k < end && this.#fixAt[k] < offset; k++) d += this.#fixBy[k];
    return offset + d;
  }

  /** The byte offset of a string index (0 to length; an index inside a surrogate pair gives its character's start). */
  toUtf8(index: number): number {
    if (this.ascii) return index;
    if (index <= 0) return 0;
    if (index >= this.length) return this.#bytes;
    // The last block starting at or before the index (indices at block starts only grow).
    let lo = 0;
    let hi = this.#blocks - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (mid * ASCII_BLOCK + this.#startDelta[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    // Walk the block: the bytes between its changes are one unit each, a continuation byte none
    // (so an index is placed after it: the end of the character), a 4-byte lead two.
    let at = lo * ASCII_BLOCK;
    let unit = at + this.#startDelta[lo];
    for (let k = this.#firstFix[lo], end = this.#firstFix[lo + 1]; k < end; k++) {
      const fix = this.#fixAt[k];
      const gap = fix - at;
      const lead = this.#fixBy[k] > 0;
      if (index - unit < gap || (index - unit === gap && lead)) return at + (index - unit);
      unit += gap;
      if (lead) {
        if (index === unit + 1) return fix; // between the two halves of a surrogate pair
        unit += 2;
      }
      at = fix + 1;
    }
    return at + (index - unit);
  }
}
