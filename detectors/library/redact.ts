// Redacted forms for findings, logs and notifications: enough to recognise, never the value.

const STARS: string[] = [];
for (let n = 0; n <= 64; n++) STARS.push('*'.repeat(n));

/** n stars (shared strings up to 64). */
export function stars(n: number): string {
  return n <= 64 ? STARS[n] : '*'.repeat(n);
}

function isAlnum(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}

/** What src/roster/fold.ts skips inside words (soft hyphen, zero-width characters, word joiner, BOM), and every combining mark (an accent, a Devanagari vowel sign). */
const INVISIBLE_IN_WORDS = /^[\u00ad\u200b-\u200d\u2060\ufeff\p{M}]$/u;

const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;

/** "Jane Smith" → "J*** S****"; keeps the first letter of each word and the separators. */
export function redactName(s: string): string {
  let out = '';
  let inWord = false;
  for (const ch of s) {
    // Invisible characters and combining marks, which the name scanner skips inside a word (a
    // zero-width space after every letter): dropped, so each letter after one is not taken for
    // the first of a new word and shown.
    if (INVISIBLE_IN_WORDS.test(ch)) continue;
    // Any letter or digit, cased or not (a name in Arabic or Devanagari is masked too).
    const isLetter = LETTER_OR_DIGIT.test(ch);
    if (isLetter) {
      out += inWord ? '*' : ch;
      inWord = true;
    } else if (ch === "'" || ch === '’') {
      out += inWord ? '*' : ch;
    } else {
      inWord = false;
      out += ch === '\r' || ch === '\n' || ch === '\t' ? ' ' : ch;
    }
  }
  return out;
}

/**
 * An identifier with only its first `keep` letters/digits shown and the rest masked:
 * "A123456789012" → "A1234********". Separators are kept so the shape stays recognisable.
 */
export function redactIdentifier(s: string, keep: number): string {
  if (isAlnum(s)) return s.slice(0, keep) + stars(s.length - Math.min(keep, s.length));
  let out = '';
  let shown = 0;
  for (const ch of s) {
    const alnum = (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
    if (!alnum) out += ch === '\r' || ch === '\n' || ch === '\t' ? ' ' : ch;
    else if (shown < keep) {
      out += ch;
      shown++;
    } else out += '*';
  }
  return out;
}

/** Fully masked, length kept (passwords, account numbers). */
export function redactAll(s: string): string {
  return '*'.repeat(Math.min(Math.max(s.length, 1), 32));
}

// A date with every digit and letter masked, separators kept ("12/03/2014" keeps only its slashes).
export function redactDate(s: string): string {
  if (s.length === 10 && (s[2] === '/' || s[2] === '.' || s[2] === '-') && s[5] === s[2]) return `**${s[2]}**${s[2]}****`;
  let out = '';
  for (const ch of s) {
    const alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    out += alnum ? '*' : ch === '\r' || ch === '\n' || ch === '\t' ? ' ' : ch;
  }
  return out;
}
