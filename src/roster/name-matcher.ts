// The fast name matcher: one pass over the message bytes. Each word is folded (ASCII case,
// Latin diacritics, apostrophes) and hashed in place with FNV-1a, then looked up in the name
// index's open-addressing table. Adjacent name words ("runs", any whitespace or punctuation
// between them, up to MAX_GAP bytes) are checked as whole names against the sequence table,
// longest first. The same pass reports keyword words (for the pattern detectors' prefilter and
// context) and the regions that contain digits (where identifier patterns can match), so the
// message is walked once for all of this. No regular expression runs here.

import { FOLD, SEP, SKIP, APOS, RAW, FNV_OFFSET, FNV_PRIME } from './fold.ts';
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

/** Most bytes of spaces/punctuation allowed between two words of one name. */
export const MAX_GAP = 32;
/** Digit-bearing words closer than this are merged into one region for the identifier patterns. */
export const DIGIT_MERGE = 192;
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
  /** Byte regions [start, end) (flat pairs) around digit-bearing words. */
  digitRegions: number[];
  digitWords: number;
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
  const F = FOLD;
  const wordKeys = ix.wordKeys;
  const wordLens = ix.wordLens;
  const wordIds = ix.wordIds;
  const wordFlags = ix.wordFlags;
  const mask = ix.wordMask;

  const names: NameHit[] = [];
  const keywordHits: number[] = [];
  const digitRegions: number[] = [];
  let digitWords = 0;
  let regStart = -1;
  let regEnd = -1;

  // The current run of adjacent name words.
  const runStart = new Int32Array(MAX_RUN);
  const runEnd = new Int32Array(MAX_RUN);
  const runHash = new Uint32Array(MAX_RUN);
  const runWord = new Int32Array(MAX_RUN);
  let runLen = 0;
  let titleEnd = -1e9;
  let runTitled = false;

  const flush = () => {
    flushRun(buf, ix, names, runStart, runEnd, runHash, runWord, runLen, runTitled);
    runLen = 0;
  };

  let i = 0;
  while (i < n) {
    let c = buf[i];
    let v: number;
    let clen = 1;
    if (c < 0x80) {
      v = F[c];
      if (v === SEP || v === APOS) {
        i++;
        continue;
      }
    } else {
      v = foldAt(buf, i, n);
      clen = decodedLength;
      if (v === SEP || v === APOS || v === SKIP) {
        i += clen;
        continue;
      }
    }
    // A word starts at i.
    const start = i;
    let h = FNV_OFFSET;
    let len = 0;
    let digit = 0;
    for (;;) {
      if (v < 0x80) {
        h = Math.imul(h ^ v, FNV_PRIME);
        len++;
        if (v < 58) digit = 1;
        i += clen;
      } else if (v === RAW) {
        const cp = buf[i] < 0x80 ? buf[i] : decodeAt(buf, i, n);
        h = Math.imul(h ^ (cp & 0xff), FNV_PRIME);
        h = Math.imul(h ^ ((cp >>> 8) | 0x100), FNV_PRIME);
        len += 2;
        i += clen;
      } else if (v === SKIP) {
        i += clen;
      } else if (v === APOS) {
        const skip = apostropheJoins(buf, i, n);
        if (skip === 0) break;
        i += skip;
      } else {
        h = Math.imul(h ^ (v & 0xff), FNV_PRIME);
        h = Math.imul(h ^ (v >>> 8), FNV_PRIME);
        len += 2;
        i += clen;
      }
      if (i >= n) break;
      c = buf[i];
      if (c < 0x80) {
        v = F[c];
        clen = 1;
        if (v === SEP) break;
      } else {
        v = foldAt(buf, i, n);
        clen = decodedLength;
        if (v === SEP) break;
      }
    }
    const end = i;

    if (digit) {
      digitWords++;
      if (regEnd >= 0 && start - regEnd <= DIGIT_MERGE) regEnd = end;
      else {
        if (regEnd >= 0) digitRegions.push(regStart, regEnd);
        regStart = start;
        regEnd = end;
      }
      if (runLen) flush();
      continue;
    }

    const hh = h === 0 ? 1 : h >>> 0;
    const lenKey = len > 255 ? 255 : len;
    let slot = (hh ^ (hh >>> 16)) & mask;
    let id = -1;
    for (;;) {
      const k = wordKeys[slot];
      if (k === 0) break;
      if (k === hh && wordLens[slot] === lenKey) {
        id = wordIds[slot];
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (id < 0) {
      if (runLen) flush();
      continue;
    }
    const f = wordFlags[id];
    if (f & F_KEYWORD) {
      const kws = ix.wordKeywords[id]!;
      for (let k = 0; k < kws.length; k++) keywordHits.push(kws[k], start, end);
    }
    if (f & F_SEQ) {
      if (runLen && (start - runEnd[runLen - 1] > MAX_GAP || runLen === MAX_RUN)) flush();
      if (runLen === 0) runTitled = start - titleEnd <= 3;
      runStart[runLen] = start;
      runEnd[runLen] = end;
      runHash[runLen] = hh;
      runWord[runLen] = id;
      runLen++;
    } else {
      if (runLen) flush();
      if (f & F_TITLE) titleEnd = end;
    }
  }
  if (runLen) flush();
  if (regEnd >= 0) digitRegions.push(regStart, regEnd);
  return { names, keywordHits, digitRegions, digitWords };
}

function flushRun(
  buf: Uint8Array,
  ix: NameIndex,
  names: NameHit[],
  runStart: Int32Array,
  runEnd: Int32Array,
  runHash: Uint32Array,
  runWord: Int32Array,
  runLen: number,
  titled: boolean,
): void {
  let i = 0;
  while (i < runLen) {
    let matched = 0;
    const longest = Math.min(ix.maxWords, runLen - i);
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
        names.push({ kind: HIT_STRONG, start, end, ref: v });
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
    if (f & F_PUPIL && !(i === 0 && titled) && isCapitalisedAt(buf, runStart[i])) {
      if (!(f & F_ORDINARY) || !isSentenceStart(buf, runStart[i])) {
        names.push({ kind: HIT_WEAK_WORD, start: runStart[i], end: runEnd[i], ref: w });
      }
    }
    i++;
  }
}
