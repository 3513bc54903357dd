// The name matcher: the word pass (./word-pass.ts, in C) walks the message bytes once, folding
// and hashing each word and looking it up in the name index. Here adjacent name words ("runs",
// any whitespace or punctuation between them, up to 32 bytes: the word pass marks where a run
// starts) are checked as whole names against the sequence table, longest first. The same pass
// reports keyword words (for the pattern detectors' prefilter and context) and the words that
// contain digits (where identifier patterns can match), so the message is walked once for all of
// this. No regular expression runs here.

import { SEP, SKIP, APOS, RAW } from './fold.ts';
import { wordPass, decodeAt, foldAt, lastLength, TOKEN_STRIDE, KEYWORD_STRIDE } from './word-pass.ts';
import {
  type NameIndex,
  F_PUPIL,
  F_ORDINARY,
  V_PUPIL,
  V_STAFF,
  V_ALL_ORDINARY,
  seqHash,
  slotOf,
} from './name-index.ts';

const MAX_RUN = 64;
/** Further than this from the start of a text, a name word cannot continue a run from before it (word-pass.c: 32 bytes, a title 3). */
const SETTLED_DISTANCE = 64;

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
   * Words holding digits, ascending, three numbers each: start, end, and the number of digits
   * (up to 255), plus 256 when the word ends like a postcode (2AB), plus 512 when it holds an
   * apostrophe or a non-ASCII character. A scratch array reused by the next scan: read it before
   * scanning again.
   */
  digits: Int32Array;
  /**
   * Where the name runs stop depending on what came before this text: a stretch of a longer text
   * (src/detect/stretches.ts) has the same names as the whole text from here on. 0 when the first
   * name word is far enough from the start that nothing before it could join its run; else the
   * first name word after it that starts a run of its own (a word that is not a name, or a gap,
   * before it); the text's length when there is none.
   */
  settledFrom: number;
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
  const lists = wordPass(buf, ix);
  const keywordHits: number[] = [];
  const kw = lists.keywords;
  for (let k = 0; k < lists.keywordCount * KEYWORD_STRIDE; k += KEYWORD_STRIDE) {
    const kws = ix.wordKeywords[kw[k]]!;
    for (let q = 0; q < kws.length; q++) keywordHits.push(kws[q], kw[k + 1], kw[k + 2]);
  }
  const names: NameHit[] = [];
  const tok = lists.tokens;
  const nTok = lists.tokenCount;
  let r = 0;
  while (r < nTok) {
    let e = r + 1;
    while (e < nTok && tok[e * TOKEN_STRIDE + 4] === 0 && e - r < MAX_RUN) e++;
    flushRun(buf, ix, names, tok, r, e, (tok[r * TOKEN_STRIDE + 4] & 2) !== 0);
    r = e;
  }
  // A run is continued across at most 32 bytes, a title across 3 (word-pass.c): a first name word
  // further in than that starts a run in any longer text too.
  let settledFrom = buf.length;
  if (nTok === 0 || tok[0] > SETTLED_DISTANCE) settledFrom = 0;
  else {
    for (let k = 1; k < nTok; k++) {
      if (tok[k * TOKEN_STRIDE + 4] !== 0) {
        settledFrom = tok[k * TOKEN_STRIDE];
        break;
      }
    }
  }
  return { names, keywordHits, digitWords: lists.digitCount, digits: lists.digits, settledFrom };
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
    const len = lastLength();
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
  tok: Int32Array,
  from: number,
  to: number,
  titled: boolean,
): void {
  let i = from;
  while (i < to) {
    let matched = 0;
    const longest = Math.min(ix.maxWords, to - i);
    for (let len = longest; len >= 2; len--) {
      const sh = seqHash(tok, i, len, TOKEN_STRIDE, 2);
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
            for (let q = 0; q < len; q++) if (ix.variantWords[off + q] !== tok[(i + q) * TOKEN_STRIDE + 2]) same = false;
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
      const start = tok[i * TOKEN_STRIDE];
      const end = tok[(i + len - 1) * TOKEN_STRIDE + 1];
      if (!(vf & V_PUPIL)) {
        names.push({ kind: HIT_STAFF, start, end, ref: v });
      } else if (vf & V_STAFF) {
        names.push({ kind: HIT_WEAK_NAME, start, end, ref: v, note: 'also-staff' });
      } else if (vf & V_ALL_ORDINARY) {
        let capitalised = true;
        for (let q = 0; q < len; q++) if (!isCapitalisedAt(buf, tok[(i + q) * TOKEN_STRIDE])) capitalised = false;
        names.push(
          capitalised ? { kind: HIT_STRONG, start, end, ref: v } : { kind: HIT_WEAK_NAME, start, end, ref: v, note: 'lowercase-ordinary' },
        );
      } else {
        // A name word that is also an ordinary word, written in lower case, is the word, not the
        // name: "Mr Thompson will cover" is not the pupil Will Thompson, "Mrs Patel may be late"
        // not May Patel.
        let lowerOrdinary = false;
        for (let q = 0; q < len; q++) {
          const w = tok[(i + q) * TOKEN_STRIDE + 3];
          if (w >= 0 && ix.wordFlags[w] & F_ORDINARY && !isCapitalisedAt(buf, tok[(i + q) * TOKEN_STRIDE])) lowerOrdinary = true;
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
    const w = tok[i * TOKEN_STRIDE + 3];
    const wStart = tok[i * TOKEN_STRIDE];
    const wEnd = tok[i * TOKEN_STRIDE + 1];
    const f = ix.wordFlags[w];
    if (f & F_PUPIL && !(i === from && titled) && isCapitalisedAt(buf, wStart)) {
      if ((!(f & F_ORDINARY) || !isSentenceStart(buf, wStart)) && tokenIs(buf, wStart, wEnd, ix.words[w])) {
        names.push({ kind: HIT_WEAK_WORD, start: wStart, end: wEnd, ref: w });
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
