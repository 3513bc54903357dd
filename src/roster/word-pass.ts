// The word pass: the one walk over a message's bytes that everything else builds on. Each word
// is folded (ASCII case, Latin diacritics, apostrophes) and hashed in place with FNV-1a, then
// looked up in the roster's word table. Out come three flat lists:
//
//   tokens    name-sequence words: start, end, hash, word id, run flag (stride 5)
//   keywords  words that are keywords of a detector: word id, start, end (stride 3)
//   digits    words holding a digit: start, end, info (stride 3): digits (up to 255), +256 when
//             it ends like a postcode (2AB), +512 when it holds an apostrophe or a non-ASCII
//             character (RE2's ASCII word boundaries can then fall inside it)
//
// It runs in C (src/roster/native/word-pass.c, built by `npm install`), two to three times the
// speed of the same loop in JavaScript below, which stays as the reference: the tests run both
// over the same texts and require identical lists, and it is what runs if the native module was
// not built (the gateway says so at start-up).

import { createRequire } from 'node:module';
import { FOLD, FOLD8, SEP, SKIP, APOS, RAW } from './fold.ts';
import { type NameIndex, F_SEQ, F_KEYWORD, F_TITLE } from './name-index.ts';

export const TOKEN_STRIDE = 5;
export const KEYWORD_STRIDE = 3;
export const DIGIT_STRIDE = 3;

/** The lists of one pass. Scratch arrays reused by the next pass: read them before scanning again. */
export interface WordLists {
  tokens: Int32Array;
  tokenCount: number;
  keywords: Int32Array;
  keywordCount: number;
  digits: Int32Array;
  digitCount: number;
  /** Calls into the pass this scan took (more than one when a list had to grow). */
  calls: number;
}

interface NativeWordPass {
  table(fold: Uint16Array, fold8: Uint8Array, keys: Int32Array, ids: Int32Array, flags: Uint8Array): object;
  pass(table: object, text: Uint8Array, tokens: Int32Array, keywords: Int32Array, digits: Int32Array, state: Int32Array): number;
}

function loadNative(): { native?: NativeWordPass; why?: string } {
  if (process.env.HALLMONITOR_WORD_PASS === 'javascript') return { why: 'HALLMONITOR_WORD_PASS=javascript' };
  try {
    return { native: createRequire(import.meta.url)('../../build/Release/word_pass.node') as NativeWordPass };
  } catch (e) {
    return { why: (e as Error).message.split('\n')[0] };
  }
}

const loaded = loadNative();

/** Which implementation scans: 'native' normally; 'javascript' when the module is not built. */
export const wordPassEngine: 'native' | 'javascript' = loaded.native ? 'native' : 'javascript';
/** Why the native word pass is not in use (for the start-up warning), if it is not. */
export const wordPassFallbackReason: string | undefined = loaded.why;

// state[] shared with the C code: where the pass is, so it can resume after a list was grown.
const S_POS = 0, S_PREV_WAS_NAME = 1, S_PREV_END = 2, S_TITLE_END = 3, S_TOKENS = 4, S_KEYWORDS = 5, S_DIGITS = 6;
const FAR = -1e9;

const scratch: { tokens: Int32Array; keywords: Int32Array; digits: Int32Array; state: Int32Array } = {
  tokens: new Int32Array(0),
  keywords: new Int32Array(0),
  digits: new Int32Array(0),
  state: new Int32Array(8),
};
const lists: WordLists = { tokens: scratch.tokens, tokenCount: 0, keywords: scratch.keywords, keywordCount: 0, digits: scratch.digits, digitCount: 0, calls: 0 };

/**
 * Start the lists again at their first size (they grow to fit the largest text scanned). The
 * tests use it to make a pass grow its lists; nothing else needs to.
 */
export function shrinkWordLists(): void {
  scratch.tokens = new Int32Array(4096 * TOKEN_STRIDE);
  scratch.keywords = new Int32Array(256 * KEYWORD_STRIDE);
  scratch.digits = new Int32Array(4096 * DIGIT_STRIDE);
}
shrinkWordLists();

const tables = new WeakMap<NameIndex, object>();

function tableOf(native: NativeWordPass, ix: NameIndex): object {
  let t = tables.get(ix);
  if (!t) {
    t = native.table(FOLD, FOLD8, ix.wordKeys, ix.wordIds, ix.wordFlags);
    tables.set(ix, t);
  }
  return t;
}

function grown(a: Int32Array, stride: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2 + stride * 64);
  b.set(a);
  return b;
}

/** Run the word pass over `buf` (native when built, else JavaScript). */
export function wordPass(buf: Uint8Array, ix: NameIndex, engine: 'native' | 'javascript' = wordPassEngine): WordLists {
  const st = scratch.state;
  st[S_POS] = 0;
  st[S_PREV_WAS_NAME] = 0;
  st[S_PREV_END] = FAR;
  st[S_TITLE_END] = FAR;
  st[S_TOKENS] = 0;
  st[S_KEYWORDS] = 0;
  st[S_DIGITS] = 0;
  const native = engine === 'native' ? loaded.native : undefined;
  if (engine === 'native' && !native) throw new Error(`the native word pass is not available: ${loaded.why}`);
  const table = native ? tableOf(native, ix) : undefined;
  let calls = 0;
  for (;;) {
    calls++;
    const full = native ? native.pass(table!, buf, scratch.tokens, scratch.keywords, scratch.digits, st) : wordPassJs(buf, ix, scratch.tokens, scratch.keywords, scratch.digits, st);
    if (full === 0) break;
    // A list is full: grow whichever has no room for one more word, and go on from where it stopped.
    if (st[S_TOKENS] * TOKEN_STRIDE + TOKEN_STRIDE > scratch.tokens.length) scratch.tokens = grown(scratch.tokens, TOKEN_STRIDE);
    if (st[S_KEYWORDS] * KEYWORD_STRIDE + KEYWORD_STRIDE > scratch.keywords.length) scratch.keywords = grown(scratch.keywords, KEYWORD_STRIDE);
    if (st[S_DIGITS] * DIGIT_STRIDE + DIGIT_STRIDE > scratch.digits.length) scratch.digits = grown(scratch.digits, DIGIT_STRIDE);
  }
  lists.tokens = scratch.tokens;
  lists.tokenCount = st[S_TOKENS];
  lists.keywords = scratch.keywords;
  lists.keywordCount = st[S_KEYWORDS];
  lists.digits = scratch.digits;
  lists.digitCount = st[S_DIGITS];
  lists.calls = calls;
  return lists;
}

// --- The JavaScript reference (word-pass.c is the same loop) ------------------------------

let decodedLength = 1;

/** Decode the code point at buf[i] (a byte >= 0x80). Invalid UTF-8 is read as Latin-1/1252. */
export function decodeAt(buf: Uint8Array, i: number, n: number): number {
  const c = buf[i];
  if (c >= 0xc2 && c <= 0xdf && i + 1 < n && (buf[i + 1] & 0xc0) === 0x80) {
    decodedLength = 2;
    return ((c & 0x1f) << 6) | (buf[i + 1] & 0x3f);
  }
  if (c >= 0xe0 && c <= 0xef && i + 2 < n && (buf[i + 1] & 0xc0) === 0x80 && (buf[i + 2] & 0xc0) === 0x80) {
    const cp = ((c & 0x0f) << 12) | ((buf[i + 1] & 0x3f) << 6) | (buf[i + 2] & 0x3f);
    if (cp >= 0x800) {
      decodedLength = 3;
      return cp;
    }
  }
  if (c >= 0xf0 && c <= 0xf4 && i + 3 < n && (buf[i + 1] & 0xc0) === 0x80 && (buf[i + 2] & 0xc0) === 0x80 && (buf[i + 3] & 0xc0) === 0x80) {
    decodedLength = 4;
    return ((c & 0x07) << 18) | ((buf[i + 1] & 0x3f) << 12) | ((buf[i + 2] & 0x3f) << 6) | (buf[i + 3] & 0x3f);
  }
  decodedLength = 1;
  return c; // a Latin-1 byte in text that is not UTF-8: fold it as the Latin-1 character
}

/** The fold value of the character at buf[i]; its length in bytes is left in `decodedLength`. */
export function foldAt(buf: Uint8Array, i: number, n: number): number {
  const c = buf[i];
  if (c < 0x80) {
    decodedLength = 1;
    return FOLD[c];
  }
  const cp = decodeAt(buf, i, n);
  return cp < 0x10000 ? FOLD[cp] : RAW;
}

/** Byte length of the character last read by foldAt/decodeAt. */
export function lastLength(): number {
  return decodedLength;
}

/**
 * After an apostrophe at i: does the word go on (O'Brien) or end here (Hill's, Jones')?
 * Returns the byte length of the apostrophe to skip, or 0 when the word ends.
 */
function apostropheJoins(buf: Uint8Array, i: number, n: number): number {
  foldAt(buf, i, n);
  const aposLen = decodedLength;
  const j = i + aposLen;
  if (j >= n) return 0;
  const v = foldAt(buf, j, n);
  if (v === SEP || v === APOS || v === SKIP) return 0;
  if (v === 115 /* s */) {
    const k = j + decodedLength;
    if (k >= n) return 0;
    const after = foldAt(buf, k, n);
    if (after === SEP || after === APOS) return 0; // possessive: Hill's
  }
  return aposLen;
}

// Set by foldInWord: how many values to hash (0, 1, 2) and the values.
let foldedCount = 0;
let foldedA = 0;
let foldedB = 0;

/**
 * A non-ASCII byte or an apostrophe inside a word at i: how many bytes it takes (0 = the word
 * ends here), with the values to hash in foldedA/foldedB (foldedCount of them).
 */
function foldInWord(buf: Uint8Array, i: number, n: number): number {
  const x = foldAt(buf, i, n);
  const len = decodedLength;
  foldedCount = 0;
  if (x === SEP) return 0;
  if (x === APOS) return apostropheJoins(buf, i, n);
  if (x === SKIP) {
    // Between a small letter and a capital ("Hafsa<zero-width space>Ahmed") it ends the word as a
    // space would (the reader sees two capitalised words run together); elsewhere it is skipped
    // ("H<zwsp>a<zwsp>f…" reads as one word). A small letter: ASCII, or the end of any non-ASCII
    // letter; a capital: ASCII or Latin-1 (À–Þ, not ×). The C pass does the same.
    const before = buf[i - 1];
    const j = i + len;
    const after = j < n ? buf[j] : 0;
    const small = (before >= 97 && before <= 122) || (before >= 0x80 && before <= 0xbf);
    const capital = (after >= 65 && after <= 90) || (after === 0xc3 && j + 1 < n && buf[j + 1] >= 0x80 && buf[j + 1] <= 0x9e && buf[j + 1] !== 0x97);
    if (small && capital) return 0;
    return len;
  }
  if (x === RAW) {
    const cp = decodeAt(buf, i, n);
    foldedA = cp & 0xff;
    foldedB = (cp >>> 8) | 0x100;
    foldedCount = 2;
    return len;
  }
  foldedA = x & 0xff;
  foldedB = x >>> 8;
  foldedCount = foldedB === 0 ? 1 : 2;
  return len;
}

function isDigitAscii(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A letter that can end a postcode ([ABD-HJLNP-UW-Z], either case). */
function isInwardLetter(c: number): boolean {
  const u = c >= 97 && c <= 122 ? c - 32 : c;
  return u >= 65 && u <= 90 && u !== 67 && u !== 73 && u !== 75 && u !== 77 && u !== 79 && u !== 86;
}

/** The pass in JavaScript, resumable like the C one: 0 when done, 1 when a list is full. */
export function wordPassJs(buf: Uint8Array, ix: NameIndex, tok: Int32Array, kw: Int32Array, dig: Int32Array, st: Int32Array): number {
  const n = buf.length;
  const F8 = FOLD8;
  const wordKeys = ix.wordKeys;
  const wordIds = ix.wordIds;
  const wordFlags = ix.wordFlags;
  const mask = ix.wordMask;
  const tokCap = (tok.length / TOKEN_STRIDE) | 0;
  const kwCap = (kw.length / KEYWORD_STRIDE) | 0;
  const digCap = (dig.length / DIGIT_STRIDE) | 0;
  let i = st[S_POS];
  let prevWasName = st[S_PREV_WAS_NAME];
  let prevEnd = st[S_PREV_END];
  let titleEnd = st[S_TITLE_END];
  let nTok = st[S_TOKENS];
  let nKw = st[S_KEYWORDS];
  let nDig = st[S_DIGITS];
  let full = 0;

  while (i < n) {
    let v = F8[buf[i]];
    if (v === 0) {
      i++;
      continue;
    }
    if (v === 255) {
      // An apostrophe or a multi-byte character where a word might start.
      const x = foldAt(buf, i, n);
      if (x === SEP || x === APOS || x === SKIP) {
        i += decodedLength;
        continue;
      }
    }
    // A word starts at i. Room for whatever it turns out to be, or stop here.
    if (nTok >= tokCap || nKw >= kwCap || nDig >= digCap) {
      full = 1;
      break;
    }
    const start = i;
    let h = -2128831035; // FNV-1a offset basis (literal: module imports are slow in hot loops)
    let digit = 0;
    let irregular = 0;
    for (;;) {
      // The common case: ASCII letters and digits, folded by one table lookup.
      while (v !== 0 && v !== 255) {
        h = Math.imul(h ^ v, 16777619);
        if (v < 58) digit++;
        if (++i >= n) {
          v = 0;
          break;
        }
        v = F8[buf[i]];
      }
      if (v === 0) break;
      // An apostrophe or a multi-byte character inside the word.
      const skip = foldInWord(buf, i, n);
      if (skip === 0) break;
      irregular = 512;
      if (foldedCount !== 0) {
        h = Math.imul(h ^ foldedA, 16777619);
        if (foldedCount === 2) h = Math.imul(h ^ foldedB, 16777619);
      }
      i += skip;
      if (i >= n) break;
      v = F8[buf[i]];
    }

    if (digit !== 0) {
      // A word ending digit + two letters that can end a postcode (2AB, not 3pm).
      const post = i - start >= 3 && isDigitAscii(buf[i - 3]) && isInwardLetter(buf[i - 2]) && isInwardLetter(buf[i - 1]) ? 256 : 0;
      const d = DIGIT_STRIDE * nDig++;
      dig[d] = start;
      dig[d + 1] = i;
      dig[d + 2] = (digit > 255 ? 255 : digit) | post | irregular;
      prevWasName = 0;
      continue;
    }

    if (h === 0) h = 1;
    let slot = (h ^ (h >>> 16)) & mask;
    let id = -1;
    for (;;) {
      const k = wordKeys[slot];
      if (k === h) {
        id = wordIds[slot];
        break;
      }
      if (k === 0) break;
      slot = (slot + 1) & mask;
    }
    if (id < 0) {
      prevWasName = 0;
      continue;
    }
    const f = wordFlags[id];
    if ((f & F_KEYWORD) !== 0) {
      const k = KEYWORD_STRIDE * nKw++;
      kw[k] = id;
      kw[k + 1] = start;
      kw[k + 2] = i;
    }
    if ((f & F_SEQ) !== 0) {
      const e = TOKEN_STRIDE * nTok++;
      tok[e] = start;
      tok[e + 1] = i;
      tok[e + 2] = h;
      tok[e + 3] = id;
      tok[e + 4] = prevWasName === 0 || start - prevEnd > 32 ? (start - titleEnd <= 3 ? 3 : 1) : 0;
      prevWasName = 1;
      prevEnd = i;
    } else {
      prevWasName = 0;
      if ((f & F_TITLE) !== 0) titleEnd = i;
    }
  }
  st[S_POS] = i;
  st[S_PREV_WAS_NAME] = prevWasName;
  st[S_PREV_END] = prevEnd < FAR ? FAR : prevEnd;
  st[S_TITLE_END] = titleEnd < FAR ? FAR : titleEnd;
  st[S_TOKENS] = nTok;
  st[S_KEYWORDS] = nKw;
  st[S_DIGITS] = nDig;
  return full;
}
