// The fast name matcher: one pass over the message bytes. Each word is folded (ASCII case,
// Latin diacritics, apostrophes) and hashed in place with FNV-1a, then looked up in the name
// index's open-addressing table. Adjacent name words ("runs", any whitespace or punctuation
// between them, up to MAX_GAP bytes) are checked as whole names against the sequence table,
// longest first. The same pass reports keyword words (for the pattern detectors' prefilter and
// context) and the regions that contain digits (where identifier patterns can match), so the
// message is walked once for all of this. No regular expression runs here.

import { FOLD, FOLD8, SEP, SKIP, APOS, RAW, FNV_OFFSET } from './fold.ts';
import {
  type NameIndex,
  F_SEQ,
  F_KEYWORD,
  F_PUPIL,
  F_ORDINARY,
  F_TITLE,
  V_PUPIL,
  V_STAFF,
  V_ALL_ORDINARY,
  seqHash,
  slotOf,
} from './name-index.ts';

/** Most bytes of spaces/punctuation allowed between two words of one name (inlined in scanWords). */
export const MAX_GAP = 32;
const MAX_RUN = 64;

export const HIT_STRONG = 1;
export const HIT_WEAK_NAME = 2; // a full name that is not trusted alone (lower-case ordinary words, or also staff)
export const HIT_WEAK_WORD = 3; // one name word alone
export const HIT_STAFF = 4; // a staff member's name: not reported as a pupil

export interface NameHit {
  kind: number;
  start: number;
  end: number;
  /** Variant id for full names, word id for single words. */
  ref: number;
  /** Why a full name was downgraded or a word reported. */
  note?: 'lowercase-ordinary' | 'also-staff';
}

export interface WordScan {
  names: NameHit[];
  /** Keyword occurrences: keyword id, start, end (flat triples). */
  keywordHits: number[];
  digitWords: number;
  /**
   * Start offsets of the words holding digits, ascending (the first `digitWords` entries). A
   * scratch array reused by the next scan: read it before scanning again.
   */
  digitStarts: Int32Array;
  /** End offsets of those words. */
  digitEnds: Int32Array;
  /** Per word: number of digits (up to 255), plus 256 when it ends like a postcode (2AB). */
  digitInfo: Int32Array;
}

let decodedLength = 1;

/** Decode the code point at buf[i] (a byte >= 0x80). Invalid UTF-8 is read as Latin-1/1252. */
function decodeAt(buf: Uint8Array, i: number, n: number): number {
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

function foldAt(buf: Uint8Array, i: number, n: number): number {
  const c = buf[i];
  if (c < 0x80) {
    decodedLength = 1;
    return FOLD[c];
  }
  const cp = decodeAt(buf, i, n);
  return cp < 0x10000 ? FOLD[cp] : RAW;
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

export function isCapitalisedAt(buf: Uint8Array, i: number): boolean {
  const c = buf[i];
  if (c >= 65 && c <= 90) return true;
  if (c < 0x80) return false;
  const cp = decodeAt(buf, i, buf.length);
  const ch = String.fromCodePoint(cp);
  return ch !== ch.toLowerCase() && ch === ch.toUpperCase();
}

/** Is the word at `start` the first of a sentence, line or list item? */
export function isSentenceStart(buf: Uint8Array, start: number): boolean {
  let i = start - 1;
  let budget = 16;
  while (i >= 0 && budget-- > 0) {
    const c = buf[i];
    if (c === 0x2e || c === 0x21 || c === 0x3f || c === 0x0a || c === 0x0d || c === 0x3a) return true;
    if (c === 0x20 || c === 0x09 || c === 0x22 || c === 0x27 || c === 0x28 || c === 0x2a || c === 0x2d || c >= 0x80) {
      i--;
      continue;
    }
    return false;
  }
  return i < 0;
}

export function scanWords(buf: Uint8Array, ix: NameIndex): WordScan {
  const n = buf.length;
  const F8 = FOLD8;
  const wordKeys = ix.wordKeys;
  const wordIds = ix.wordIds;
  const wordFlags = ix.wordFlags;
  const mask = ix.wordMask;

  const keywordHits: number[] = [];
  let digitWords = 0;

  // Name words are only collected here (start, end, hash, word id, flags); grouping them into
  // runs and matching whole names happens afterwards, outside the hot loop.
  // Scratch arrays are reused across scans (allocating typed arrays per scan costs GC time).
  let cap = scratch.cap;
  let tokStart = scratch.start;
  let tokEnd = scratch.end;
  let tokHash = scratch.hash;
  let tokWord = scratch.word;
  let tokFlag = scratch.flag; // 1: starts a new run, 2: run follows a title (Mrs …)
  let digitStarts = scratch.digits;
  let digitEnds = scratch.digitEnds;
  let digitInfo = scratch.digitInfo;
  let nTok = 0;
  let prevWasName = 0;
  let prevEnd = -1e9;
  let titleEnd = -1e9;

  let i = 0;
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
    // A word starts at i.
    const start = i;
    let h = -2128831035; // FNV-1a offset basis (literal: module imports are slow in hot loops)
    let digit = 0;
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
      if (foldedCount !== 0) {
        h = Math.imul(h ^ foldedA, 16777619);
        if (foldedCount === 2) h = Math.imul(h ^ foldedB, 16777619);
      }
      i += skip;
      if (i >= n) break;
      v = F8[buf[i]];
    }

    if (digit !== 0) {
      if (digitWords === digitStarts.length) {
        digitStarts = grow(digitStarts, digitStarts.length * 2);
        digitEnds = grow(digitEnds, digitStarts.length);
        digitInfo = grow(digitInfo, digitStarts.length);
        scratch.digits = digitStarts;
        scratch.digitEnds = digitEnds;
        scratch.digitInfo = digitInfo;
      }
      // A word ending digit + two letters that can end a postcode (2AB, not 3pm).
      const post = i - start >= 3 && isDigitAscii(buf[i - 3]) && isInwardLetter(buf[i - 2]) && isInwardLetter(buf[i - 1]) ? 256 : 0;
      digitStarts[digitWords] = start;
      digitEnds[digitWords] = i;
      digitInfo[digitWords++] = (digit > 255 ? 255 : digit) | post;
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
      const kws = ix.wordKeywords[id]!;
      for (let k = 0; k < kws.length; k++) keywordHits.push(kws[k], start, i);
    }
    if ((f & F_SEQ) !== 0) {
      if (nTok === cap) {
        cap *= 2;
        tokStart = grow(tokStart, cap);
        tokEnd = grow(tokEnd, cap);
        tokHash = grow(tokHash, cap);
        tokWord = grow(tokWord, cap);
        const nf = new Uint8Array(cap);
        nf.set(tokFlag);
        tokFlag = nf;
        scratch = { ...scratch, cap, start: tokStart, end: tokEnd, hash: tokHash, word: tokWord, flag: tokFlag };
      }
      const newRun = prevWasName === 0 || start - prevEnd > 32;
      tokFlag[nTok] = newRun ? (start - titleEnd <= 3 ? 3 : 1) : 0;
      tokStart[nTok] = start;
      tokEnd[nTok] = i;
      tokHash[nTok] = h;
      tokWord[nTok] = id;
      nTok++;
      prevWasName = 1;
      prevEnd = i;
    } else {
      prevWasName = 0;
      if ((f & F_TITLE) !== 0) titleEnd = i;
    }
  }

  const names: NameHit[] = [];
  let r = 0;
  while (r < nTok) {
    let e = r + 1;
    while (e < nTok && tokFlag[e] === 0 && e - r < MAX_RUN) e++;
    flushRun(buf, ix, names, tokStart, tokEnd, tokHash, tokWord, r, e, (tokFlag[r] & 2) !== 0);
    r = e;
  }
  return { names, keywordHits, digitWords, digitStarts, digitEnds, digitInfo };
}

let scratch: {
  cap: number;
  start: Int32Array<ArrayBuffer>;
  end: Int32Array<ArrayBuffer>;
  hash: Int32Array<ArrayBuffer>;
  word: Int32Array<ArrayBuffer>;
  flag: Uint8Array<ArrayBuffer>;
  digits: Int32Array<ArrayBuffer>;
  digitEnds: Int32Array<ArrayBuffer>;
  digitInfo: Int32Array<ArrayBuffer>;
} = {
  cap: 4096,
  start: new Int32Array(4096),
  end: new Int32Array(4096),
  hash: new Int32Array(4096),
  word: new Int32Array(4096),
  flag: new Uint8Array(4096),
  digits: new Int32Array(4096),
  digitEnds: new Int32Array(4096),
  digitInfo: new Int32Array(4096),
};

function grow(a: Int32Array<ArrayBuffer>, cap: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}

function isDigitAscii(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A letter that can end a postcode ([ABD-HJLNP-UW-Z], either case). */
function isInwardLetter(c: number): boolean {
  const u = c >= 97 && c <= 122 ? c - 32 : c;
  return u >= 65 && u <= 90 && u !== 67 && u !== 73 && u !== 75 && u !== 77 && u !== 79 && u !== 86;
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
  if (x === SKIP) return len;
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

/** Is the word at [start, end) this folded word? (Confirms a hash lookup; no allocation for ASCII.) */
export function tokenIs(buf: Uint8Array, start: number, end: number, word: string): boolean {
  if (end - start === word.length) {
    let ascii = true;
    for (let i = 0; i < word.length; i++) {
      let c = buf[start + i];
      if (c >= 0x80 || c === 0x27 || c === 0x60) {
        ascii = false;
        break;
      }
      if (c >= 65 && c <= 90) c += 32;
      if (c !== word.charCodeAt(i)) return false;
    }
    if (ascii) return true;
  }
  return foldToken(buf, start, end) === word;
}

/** The folded text of one word, exactly as the scanner hashed it (to confirm a lookup). */
export function foldToken(buf: Uint8Array, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const v = foldAt(buf, i, end);
    const len = decodedLength;
    if (v === RAW) out += String.fromCodePoint(buf[i] < 0x80 ? buf[i] : decodeAt(buf, i, end));
    else if (v !== SEP && v !== SKIP && v !== APOS) {
      out += String.fromCharCode(v & 0xff);
      if (v > 0xff) out += String.fromCharCode(v >>> 8);
    }
    i += len;
  }
  return out;
}

function flushRun(
  buf: Uint8Array,
  ix: NameIndex,
  names: NameHit[],
  runStart: Int32Array,
  runEnd: Int32Array,
  runHash: Int32Array,
  runWord: Int32Array,
  from: number,
  to: number,
  titled: boolean,
): void {
  let i = from;
  while (i < to) {
    let matched = 0;
    const longest = Math.min(ix.maxWords, to - i);
    for (let len = longest; len >= 2; len--) {
      const sh = seqHash(runHash, i, len);
      let slot = slotOf(sh, ix.seqMask);
      let v = -1;
      for (;;) {
        const k = ix.seqKeys[slot];
        if (k === 0) break;
        if (k === sh) {
          const cand = ix.seqIds[slot];
          if (ix.variantWordCount[cand] === len) {
            const off = ix.variantWordStart[cand];
            let same = true;
            for (let q = 0; q < len; q++) if (ix.variantWords[off + q] !== runHash[i + q]) same = false;
            if (same) {
              v = cand;
              break;
            }
          }
        }
        slot = (slot + 1) & ix.seqMask;
      }
      if (v < 0) continue;
      const vf = ix.variantFlags[v];
      const start = runStart[i];
      const end = runEnd[i + len - 1];
      if (!(vf & V_PUPIL)) {
        names.push({ kind: HIT_STAFF, start, end, ref: v });
      } else if (vf & V_STAFF) {
        names.push({ kind: HIT_WEAK_NAME, start, end, ref: v, note: 'also-staff' });
      } else if (vf & V_ALL_ORDINARY) {
        let capitalised = true;
        for (let q = 0; q < len; q++) if (!isCapitalisedAt(buf, runStart[i + q])) capitalised = false;
        names.push(
          capitalised ? { kind: HIT_STRONG, start, end, ref: v } : { kind: HIT_WEAK_NAME, start, end, ref: v, note: 'lowercase-ordinary' },
        );
      } else {
        // A name word that is also an ordinary word, written in lower case, is the word, not the
        // name: "Mr Thompson will cover" is not the pupil Will Thompson, "Mrs Patel may be late"
        // not May Patel.
        let lowerOrdinary = false;
        for (let q = 0; q < len; q++) {
          const w = runWord[i + q];
          if (w >= 0 && ix.wordFlags[w] & F_ORDINARY && !isCapitalisedAt(buf, runStart[i + q])) lowerOrdinary = true;
        }
        names.push(lowerOrdinary ? { kind: HIT_WEAK_NAME, start, end, ref: v, note: 'lowercase-ordinary' } : { kind: HIT_STRONG, start, end, ref: v });
      }
      matched = len;
      break;
    }
    if (matched) {
      i += matched;
      continue;
    }
    // One name word alone: a weak signal, only when written like a name (capitalised), never
    // after a title (Mrs Hill is an adult), and for ordinary words (Grace, May, Will) only in
    // the middle of a sentence.
    const w = runWord[i];
    const f = ix.wordFlags[w];
    if (f & F_PUPIL && !(i === from && titled) && isCapitalisedAt(buf, runStart[i])) {
      if ((!(f & F_ORDINARY) || !isSentenceStart(buf, runStart[i])) && tokenIs(buf, runStart[i], runEnd[i], ix.words[w])) {
        names.push({ kind: HIT_WEAK_WORD, start: runStart[i], end: runEnd[i], ref: w });
      }
    }
    i++;
  }
}

/**
 * Run every branch of the scanner once on synthetic text before real mail arrives. V8 compiles
 * the hot loop after a few calls; a comparison that has never run by then (a diacritic, an
 * apostrophe, a title) makes the optimised code bail out each time it is reached. Feeding each
 * branch first keeps the optimised loop stable.
 */
export function warmUpScanner(ix: NameIndex): void {
  const sample = Buffer.from(
    "Mrs Hill met Jack Hill, HILL Jack and zoë o’brien (Zoë O'Brien's) at 9.15am on 12/03/2014; " +
      'Zoe\u0308 Łukasz Wiśniewski Ωmega Иван 東京 ß Æ ʼ ‘x’ Jones\' café x1 A123 £24.50 tel 07700 900123 password: x ' +
      'will may Grace hope Will Young. May Smith-Jones, Mary-Jane\r\n\tSMITH\u00a0Jane — “quoted” … \u00e9\xff',
    'utf8',
  );
  const latin1 = Buffer.from([0x5a, 0x6f, 0xeb, 0x20, 0x4f, 0x27, 0x42, 0x72, 0x69, 0x65, 0x6e, 0x20, 0xe9, 0xc3]);
  for (let k = 0; k < 3; k++) {
    scanWords(sample, ix);
    scanWords(latin1, ix);
  }
}
