// A long text kept as its UTF-8 bytes, read like a string where the rules read it.
//
// A 20 MB letter decodes to a string of 40 MB (one accent anywhere makes V8 store every character
// in two bytes), and building it costs V8 about as long as every detector's reading of the bytes.
// The detectors read the bytes; the personal-data model and the rules read only around what was
// found (a line, a name, the first lines of a greeting, the first megabyte for a forward), by
// string index. This gives them that, from the bytes, and builds the whole string only for a
// reader that asks for all of it.
import { Utf8Offsets } from '../detect/utf16.ts';

/** What the model and the rules read of a text: a string, or a Utf8Text standing in for one. */
export interface TextLike {
  readonly length: number;
  slice(start?: number, end?: number): string;
  indexOf(search: string, position?: number): number;
  lastIndexOf(search: string, position?: number): number;
  toString(): string;
}

/** A slice index as String.prototype.slice takes it: whole, negative from the end, within 0..n. */
function clampIndex(i: number, n: number): number {
  const t = Math.trunc(i) || 0;
  return t < 0 ? Math.max(0, n + t) : Math.min(t, n);
}

/**
 * Reads as the string would wherever an index falls between characters, as every index the
 * detectors, the model and the rules use does. An index between the two halves of a surrogate
 * pair (an emoji) is taken as the character's start: the string would give half a character.
 */
export class Utf8Text implements TextLike {
  /** Valid UTF-8, never changed. */
  readonly bytes: Buffer;
  readonly offsets: Utf8Offsets;
  #text: string | undefined;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
    this.offsets = new Utf8Offsets(bytes);
  }

  /** In UTF-16 code units, as the string's. */
  get length(): number {
    return this.offsets.length;
  }

  /** String.prototype.slice: indices in code units, negative ones from the end. */
  slice(start = 0, end = this.length): string {
    const n = this.length;
    const s = clampIndex(start, n);
    const e = clampIndex(end, n);
    if (e <= s) return '';
    if (this.#text !== undefined) return this.#text.slice(s, e);
    return this.bytes.toString('utf8', this.offsets.toUtf8(s), this.offsets.toUtf8(e));
  }

  /** String.prototype.indexOf (a whole character's bytes only ever match at a character's start). */
  indexOf(search: string, position = 0): number {
    // toUtf8 clamps as indexOf does: below 0 or NaN from the start, past the end at the end.
    const at = this.bytes.indexOf(search, this.offsets.toUtf8(position), 'utf8');
    return at < 0 ? -1 : this.offsets.toUtf16(at);
  }

  /** String.prototype.lastIndexOf: the last match starting at or before `position`. */
  lastIndexOf(search: string, position = Infinity): number {
    // NaN searches from the end, as the string's does; toUtf8 clamps the rest.
    const at = this.bytes.lastIndexOf(search, this.offsets.toUtf8(Number.isNaN(position) ? this.length : position), 'utf8');
    return at < 0 ? -1 : this.offsets.toUtf16(at);
  }

  /** The whole string, built once when first asked for. */
  toString(): string {
    this.#text ??= this.bytes.toString('utf8');
    return this.#text;
  }
}
