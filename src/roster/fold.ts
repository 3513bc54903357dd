// Byte-level word folding shared by the roster (building the name index) and the scanner
// (reading message text). Both sides MUST fold through this one table so that a name in the
// roster and the same name in an email hash to the same value.
//
// A word is a run of letters and digits. Folding: ASCII case-folded; Latin letters with
// diacritics reduced to their base letters (Zoë = Zoe, Łukasz = Lukasz, Şahin = Sahin,
// ß = ss, Æ = ae); combining marks skipped; apostrophes (' ’ ‘ ʼ `) inside a word are dropped
// (O'Brien = O’Brien = OBrien) except before a possessive "s" (Hill's = Hill); everything
// else (spaces, punctuation, hyphens, dashes, quotes, symbols) separates words. Other scripts
// (Greek, Cyrillic, Arabic, CJK …) are word characters hashed by code point, without folding.

/** Per-code-point fold value for the whole Basic Multilingual Plane. */
export const FOLD = new Uint16Array(0x10000);
/** A separator (not part of any word). */
export const SEP = 0;
/** A combining mark: part of the word, contributes nothing to its hash. */
export const SKIP = 0xfffe;
/** An apostrophe: joins two letters of one word, else a separator. */
export const APOS = 0xfffd;
/** A word character we do not fold: hashed by code point. */
export const RAW = 0xffff;

// Values 1..0x7f7f are one or two folded ASCII characters packed as c1 | c2 << 8.

const SPECIAL_FOLDS: Record<string, string> = {
  'ß': 'ss', 'ẞ': 'ss', 'æ': 'ae', 'Æ': 'ae', 'œ': 'oe', 'Œ': 'oe', 'ø': 'o', 'Ø': 'o',
  'đ': 'd', 'Đ': 'd', 'ð': 'd', 'Ð': 'd', 'þ': 'th', 'Þ': 'th', 'ł': 'l', 'Ł': 'l',
  'ħ': 'h', 'Ħ': 'h', 'ŧ': 't', 'Ŧ': 't', 'ı': 'i', 'ĸ': 'k', 'ŉ': 'n', 'ŋ': 'n', 'Ŋ': 'n',
  'ſ': 's', 'ĳ': 'ij', 'Ĳ': 'ij', 'ƒ': 'f', 'ƶ': 'z', 'Ƶ': 'z', 'ǝ': 'e', 'ə': 'e', 'Ə': 'e',
};

function packAscii(s: string): number {
  if (s.length === 0 || s.length > 2) return RAW;
  const c1 = s.charCodeAt(0);
  const c2 = s.length === 2 ? s.charCodeAt(1) : 0;
  return c1 | (c2 << 8);
}

function isAsciiWord(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57))) return false;
  }
  return s.length > 0;
}

(function buildFoldTable() {
  // ASCII
  for (let c = 0; c < 0x80; c++) {
    if (c >= 65 && c <= 90) FOLD[c] = c + 32;
    else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) FOLD[c] = c;
    else if (c === 0x27 || c === 0x60) FOLD[c] = APOS;
    else FOLD[c] = SEP;
  }
  // Everything else defaults to a raw word character, then we carve out separators, folds,
  // apostrophes and combining marks.
  for (let cp = 0x80; cp < 0x10000; cp++) FOLD[cp] = RAW;
  // Latin-1 punctuation and symbols (NBSP, «, », ·, ©, °, ×, ÷ …).
  for (let cp = 0x80; cp <= 0xbf; cp++) FOLD[cp] = SEP;
  FOLD[0xd7] = SEP; // ×
  FOLD[0xf7] = SEP; // ÷
  // Latin-1 supplement letters, Latin Extended-A/B, Latin Extended Additional (Vietnamese …).
  const ranges: Array<[number, number]> = [[0xc0, 0x24f], [0x1e00, 0x1eff]];
  for (const [lo, hi] of ranges) {
    for (let cp = lo; cp <= hi; cp++) {
      if (cp === 0xd7 || cp === 0xf7) continue;
      const ch = String.fromCharCode(cp);
      let folded = SPECIAL_FOLDS[ch];
      if (folded === undefined) {
        folded = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
      }
      if (isAsciiWord(folded)) FOLD[cp] = packAscii(folded);
    }
  }
  // Combining diacritical marks (text in NFD form): skipped inside words.
  for (let cp = 0x300; cp <= 0x36f; cp++) FOLD[cp] = SKIP;
  for (let cp = 0x1ab0; cp <= 0x1aff; cp++) FOLD[cp] = SKIP;
  for (let cp = 0x1dc0; cp <= 0x1dff; cp++) FOLD[cp] = SKIP;
  for (let cp = 0xfe20; cp <= 0xfe2f; cp++) FOLD[cp] = SKIP;
  // Apostrophe look-alikes.
  FOLD[0x2018] = APOS; // ‘
  FOLD[0x2019] = APOS; // ’
  FOLD[0x02bc] = APOS; // ʼ
  FOLD[0x02bb] = APOS; // ʻ
  FOLD[0x02b9] = APOS; // ʹ
  FOLD[0x2032] = APOS; // ′
  // General punctuation, spaces, dashes, quotes, bullets, symbols, arrows, box drawing.
  for (let cp = 0x2000; cp <= 0x2bff; cp++) if (FOLD[cp] !== APOS) FOLD[cp] = SEP;
  FOLD[0x2019] = APOS;
  FOLD[0x2018] = APOS;
  FOLD[0x2032] = APOS;
  for (let cp = 0x3000; cp <= 0x303f; cp++) FOLD[cp] = SEP; // CJK punctuation, ideographic space
  // Invisible format characters: skipped inside words, as combining marks are. Pasted text and
  // HTML's &shy; put them inside names, and a reader sees the name whole ("A\u200Bm\u200Be…").
  FOLD[0xad] = SKIP; // soft hyphen
  FOLD[0x200b] = SKIP; // zero-width space
  FOLD[0x200c] = SKIP; // zero-width non-joiner
  FOLD[0x200d] = SKIP; // zero-width joiner
  FOLD[0x2060] = SKIP; // word joiner
  FOLD[0xfeff] = SKIP; // byte order mark / zero-width no-break space
  for (let cp = 0xfff0; cp <= 0xffff; cp++) FOLD[cp] = SEP; // specials, replacement character
  for (let cp = 0xd800; cp <= 0xdfff; cp++) FOLD[cp] = SEP; // surrogates never appear in UTF-8
  for (let cp = 0xe000; cp <= 0xf8ff; cp++) FOLD[cp] = SEP; // private use
})();

/**
 * The scanner's per-byte table: ASCII bytes map to their folded character (1..127) or 0 for a
 * separator; 255 means "look closer" (an apostrophe, or a byte of a multi-byte character).
 */
export const FOLD8 = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const v = c < 0x80 ? FOLD[c] : RAW;
  FOLD8[c] = v === SEP ? 0 : v < 0x80 ? v : 255;
}

export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 16777619;

/**
 * Fold a (trusted, short) string the way the scanner folds bytes, returning its words.
 * Used to build the roster's name index and the keyword tables; never on message text.
 */
export function foldWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  const cps = Array.from(s.normalize('NFC'));
  for (let k = 0; k < cps.length; k++) {
    const cp = cps[k].codePointAt(0)!;
    const v = cp < 0x10000 ? FOLD[cp] : RAW;
    if (v === SEP) {
      if (cur) words.push(cur);
      cur = '';
    } else if (v === SKIP) {
      continue;
    } else if (v === APOS) {
      const next = k + 1 < cps.length ? foldCodePoint(cps[k + 1].codePointAt(0)!) : '';
      const after = k + 2 < cps.length ? foldCodePoint(cps[k + 2].codePointAt(0)!) : '';
      const nextIsWord = next !== '' && next !== "'" && next !== ' ';
      const possessive = next === 's' && (after === '' || after === "'");
      if (cur && nextIsWord && !possessive) continue; // O'Brien → obrien
      if (cur) words.push(cur);
      cur = '';
    } else if (v === RAW) {
      cur += String.fromCodePoint(cp);
    } else {
      cur += String.fromCharCode(v & 0xff);
      if (v >> 8) cur += String.fromCharCode(v >> 8);
    }
  }
  if (cur) words.push(cur);
  return words;
}

/** Fold one code point for look-ahead: '' separator, "'" apostrophe, ' ' combining, else chars. */
function foldCodePoint(cp: number): string {
  const v = cp < 0x10000 ? FOLD[cp] : RAW;
  if (v === SEP) return '';
  if (v === APOS) return "'";
  if (v === SKIP) return ' ';
  if (v === RAW) return String.fromCodePoint(cp);
  return String.fromCharCode(v & 0xff) + (v >> 8 ? String.fromCharCode(v >> 8) : '');
}

/** FNV-1a over a folded word exactly as the scanner computes it (int32, never 0). */
export function hashFoldedWord(word: string): number {
  let h = FNV_OFFSET;
  for (const ch of word) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      h = Math.imul(h ^ cp, FNV_PRIME);
    } else {
      h = Math.imul(h ^ (cp & 0xff), FNV_PRIME);
      h = Math.imul(h ^ ((cp >>> 8) | 0x100), FNV_PRIME);
    }
  }
  return h === 0 ? 1 : h;
}

/** Length of a folded word as the scanner counts it (bytes of ASCII + 2 per raw code point). */
export function foldedLength(word: string): number {
  let n = 0;
  for (const ch of word) n += ch.codePointAt(0)! < 0x80 ? 1 : 2;
  return n;
}
