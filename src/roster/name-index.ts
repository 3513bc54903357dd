// The roster's name index: every word of every pupil's (and staff member's) names, folded and
// hashed into a small open-addressing table, plus a second table of whole names (sequences of
// words: "jane smith", "smith jane", "mary jane o brien" …). The scanner hashes each word of a
// message in place and looks it up here; only when adjacent words are all name words does it
// hash the sequence and look that up. Built once per roster, in tens of milliseconds.

import { foldWords, hashFoldedWord } from './fold.ts';
import { ORDINARY_WORD_NAMES, ADULT_TITLES } from './ordinary-words.ts';

export const F_FORENAME = 1;
export const F_SURNAME = 2;
export const F_ORDINARY = 4;
export const F_STAFF = 8;
export const F_KEYWORD = 16;
/** Part of at least one pupil or staff name sequence. */
export const F_SEQ = 32;
/** Part of at least one pupil's name (not only staff). */
export const F_PUPIL = 64;
export const F_TITLE = 128;

export const V_FORENAME_FIRST = 1;
export const V_SURNAME_FIRST = 2;
export const V_STAFF = 4;
export const V_PUPIL = 8;
export const V_ALL_ORDINARY = 16;
export const V_PREFERRED = 32;

/** Longest name, in words, that the scanner will try to match. */
export const MAX_NAME_WORDS = 8;

export interface NameSource {
  forenames: string[];
  surnames: string[];
  middleNames?: string[];
  /** Which forenames/surnames are preferred (known-as) forms, for the explanation. */
  preferred?: { forenames?: string[]; surnames?: string[] };
}

export interface NameIndex {
  // Word table (open addressing): slot → hash, folded length, word id.
  wordKeys: Int32Array;
  wordIds: Int32Array;
  wordMask: number;
  // Per word id.
  words: string[];
  wordFlags: Uint8Array;
  /** Pupil indices whose names contain this word (first 16), and how many in all. */
  wordPupils: Array<number[] | undefined>;
  wordPupilCount: Uint32Array;
  /** Keyword ids carried by this word (see `keywords`). */
  wordKeywords: Array<number[] | undefined>;
  keywords: string[];
  // Sequence table: slot → sequence hash, variant id.
  seqKeys: Int32Array;
  seqIds: Int32Array;
  seqMask: number;
  // Per variant.
  variantFlags: Uint8Array;
  variantWordStart: Uint32Array;
  variantWordCount: Uint8Array;
  variantWords: Int32Array; // word hashes, flat
  variantPupils: Array<number[]>;
  maxWords: number;
  stats: { pupilVariants: number; staffVariants: number; words: number; bytes: number };
}

/** Hash of a sequence of word hashes: values[(from + k) * stride + at] for k < count. */
export function seqHash(values: ArrayLike<number>, from: number, count: number, stride = 1, at = 0): number {
  let h = 0x9e3779b9 | 0;
  for (let k = 0; k < count; k++) {
    h = Math.imul(h ^ values[(from + k) * stride + at], 0x85ebca6b);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (count * 0x27d4eb2f), 0xc2b2ae35);
  h ^= h >>> 13;
  return h === 0 ? 1 : h;
}

export function slotOf(hash: number, mask: number): number {
  return (hash ^ (hash >>> 16)) & mask;
}

function tableSize(n: number): number {
  let size = 1024;
  while (size < n * 4) size <<= 1; // load factor ≤ 0.25: a miss usually costs one probe
  return size;
}

export interface BuildNameIndexInput {
  pupils: NameSource[];
  staff?: Array<{ forenames: string[]; surnames: string[] }>;
  /** Whole words (folded by the same rules) whose occurrences the scanner should report. */
  keywords?: string[];
}

export function buildNameIndex(input: BuildNameIndexInput): NameIndex {
  const ordinary = new Set(ORDINARY_WORD_NAMES);
  const wordIdOf = new Map<string, number>();
  const words: string[] = [];
  const flags: number[] = [];
  const pupilsOf: Array<number[] | undefined> = [];
  const pupilCount: number[] = [];
  const keywordsOf: Array<number[] | undefined> = [];

  const wordId = (w: string): number => {
    let id = wordIdOf.get(w);
    if (id === undefined) {
      id = words.length;
      wordIdOf.set(w, id);
      words.push(w);
      flags.push(ordinary.has(w) ? F_ORDINARY : 0);
      pupilsOf.push(undefined);
      pupilCount.push(0);
      keywordsOf.push(undefined);
    }
    return id;
  };

  const variantKey = new Map<string, number>();
  const vFlags: number[] = [];
  const vWords: number[][] = [];
  const vPupils: number[][] = [];
  let pupilVariants = 0;
  let staffVariants = 0;
  let maxWords = 2;

  const addVariant = (ids: number[], vf: number, pupil: number) => {
    if (ids.length < 2 || ids.length > MAX_NAME_WORDS) return;
    const key = ids.join(',');
    let v = variantKey.get(key);
    if (v === undefined) {
      v = vFlags.length;
      variantKey.set(key, v);
      let allOrdinary = true;
      for (const id of ids) if (!(flags[id] & F_ORDINARY)) allOrdinary = false;
      vFlags.push(vf | (allOrdinary ? V_ALL_ORDINARY : 0));
      vWords.push(ids);
      vPupils.push([]);
      if (ids.length > maxWords) maxWords = ids.length;
      if (vf & V_PUPIL) pupilVariants++;
      else staffVariants++;
    } else {
      const had = vFlags[v];
      // A forename-first reading wins over surname-first for the explanation.
      let merged = had | (vf & (V_STAFF | V_PUPIL));
      if (!(had & V_PUPIL) && vf & V_PUPIL) {
        merged = (merged & ~(V_FORENAME_FIRST | V_SURNAME_FIRST | V_PREFERRED)) | (vf & (V_FORENAME_FIRST | V_SURNAME_FIRST | V_PREFERRED));
        pupilVariants++;
      }
      vFlags[v] = merged;
    }
    if (pupil >= 0) {
      const list = vPupils[v];
      if (list[list.length - 1] !== pupil) list.push(pupil);
    }
  };

  const folded = (names: string[] | undefined): string[][] => {
    const out: string[][] = [];
    const seen = new Set<string>();
    for (const n of names ?? []) {
      if (!n) continue;
      const ws = foldWords(n);
      if (ws.length === 0) continue;
      const key = ws.join(' ');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(ws);
    }
    return out;
  };

  input.pupils.forEach((p, pupilIndex) => {
    const forenames = folded(p.forenames);
    const surnames = folded(p.surnames);
    const middles = folded(p.middleNames);
    const preferredF = new Set(folded(p.preferred?.forenames).map((w) => w.join(' ')));
    const preferredS = new Set(folded(p.preferred?.surnames).map((w) => w.join(' ')));
    // A multi-word forename ("Jane Elizabeth") is also written as its first word.
    for (const f of [...forenames]) {
      if (f.length > 1 && !forenames.some((g) => g.length === 1 && g[0] === f[0])) forenames.push([f[0]]);
    }
    const mark = (ws: string[], fl: number) => {
      for (const w of ws) {
        const id = wordId(w);
        flags[id] |= fl | F_SEQ | F_PUPIL;
        const list = pupilsOf[id] ?? (pupilsOf[id] = []);
        if (list[list.length - 1] !== pupilIndex) {
          pupilCount[id]++;
          if (list.length < 16) list.push(pupilIndex);
        }
      }
    };
    for (const f of forenames) mark(f, F_FORENAME);
    for (const s of surnames) mark(s, F_SURNAME);
    for (const f of forenames) {
      for (const s of surnames) {
        const pref = preferredF.has(f.join(' ')) || preferredS.has(s.join(' ')) ? V_PREFERRED : 0;
        const fIds = f.map(wordId);
        const sIds = s.map(wordId);
        addVariant([...fIds, ...sIds], V_FORENAME_FIRST | V_PUPIL | pref, pupilIndex);
        addVariant([...sIds, ...fIds], V_SURNAME_FIRST | V_PUPIL | pref, pupilIndex);
        for (const m of middles) {
          const mIds = m.map(wordId);
          for (const id of mIds) flags[id] |= F_SEQ;
          addVariant([...fIds, ...mIds, ...sIds], V_FORENAME_FIRST | V_PUPIL | pref, pupilIndex);
          addVariant([...sIds, ...fIds, ...mIds], V_SURNAME_FIRST | V_PUPIL | pref, pupilIndex);
        }
      }
    }
  });

  for (const s of input.staff ?? []) {
    const forenames = folded(s.forenames);
    const surnames = folded(s.surnames);
    for (const ws of [...forenames, ...surnames]) for (const w of ws) flags[wordId(w)] |= F_STAFF | F_SEQ;
    for (const f of forenames) {
      for (const sn of surnames) {
        const fIds = f.map(wordId);
        const sIds = sn.map(wordId);
        addVariant([...fIds, ...sIds], V_FORENAME_FIRST | V_STAFF, -1);
        addVariant([...sIds, ...fIds], V_SURNAME_FIRST | V_STAFF, -1);
      }
    }
  }

  const keywords: string[] = [];
  for (const k of input.keywords ?? []) {
    const ws = foldWords(k);
    if (ws.length !== 1) throw new Error(`keyword "${k}" must be a single word`);
    const kid = keywords.length;
    keywords.push(ws[0]);
    const id = wordId(ws[0]);
    flags[id] |= F_KEYWORD;
    (keywordsOf[id] ??= []).push(kid);
  }
  for (const t of ADULT_TITLES) flags[wordId(t)] |= F_TITLE;

  // Word table.
  const wSize = tableSize(words.length);
  const wordKeys = new Int32Array(wSize);
  const wordIds = new Int32Array(wSize).fill(-1);
  const wordMask = wSize - 1;
  const hashOfWord = new Int32Array(words.length);
  for (let id = 0; id < words.length; id++) {
    const h = hashFoldedWord(words[id]);
    hashOfWord[id] = h;
    let slot = slotOf(h, wordMask);
    // Two different words with one hash: the scanner confirms single words by their text, and a
    // whole name by every word's hash, so a collision can only cost a lookup, never a match.
    while (wordKeys[slot] !== 0) slot = (slot + 1) & wordMask;
    wordKeys[slot] = h;
    wordIds[slot] = id;
  }

  // Sequence table.
  const nV = vFlags.length;
  const sSize = tableSize(nV);
  const seqKeys = new Int32Array(sSize);
  const seqIds = new Int32Array(sSize).fill(-1);
  const seqMask = sSize - 1;
  let totalWords = 0;
  for (const ws of vWords) totalWords += ws.length;
  const variantWords = new Int32Array(totalWords);
  const variantWordStart = new Uint32Array(nV);
  const variantWordCount = new Uint8Array(nV);
  let off = 0;
  for (let v = 0; v < nV; v++) {
    const ids = vWords[v];
    variantWordStart[v] = off;
    variantWordCount[v] = ids.length;
    for (const id of ids) variantWords[off++] = hashOfWord[id];
    const h = seqHash(variantWords, variantWordStart[v], ids.length);
    let slot = slotOf(h, seqMask);
    while (seqKeys[slot] !== 0) slot = (slot + 1) & seqMask;
    seqKeys[slot] = h;
    seqIds[slot] = v;
  }

  const bytes =
    wordKeys.byteLength + wordIds.byteLength + seqKeys.byteLength + seqIds.byteLength +
    variantWords.byteLength + variantWordStart.byteLength + variantWordCount.byteLength + nV;

  const index: NameIndex = {
    wordKeys,
    wordIds,
    wordMask,
    words,
    wordFlags: Uint8Array.from(flags),
    wordPupils: pupilsOf,
    wordPupilCount: Uint32Array.from(pupilCount),
    wordKeywords: keywordsOf,
    keywords,
    seqKeys,
    seqIds,
    seqMask,
    variantFlags: Uint8Array.from(vFlags),
    variantWordStart,
    variantWordCount,
    variantWords,
    variantPupils: vPupils,
    maxWords,
    stats: { pupilVariants, staffVariants, words: words.length, bytes },
  };
  return index;
}
