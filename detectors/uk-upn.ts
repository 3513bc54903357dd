import type { PatternDetector } from './library/types.ts';
import { hasLowerCase, isValidUpn, upnCheckAt } from './library/checksums.ts';
import { redactIdentifier } from './library/redact.ts';
import { boundaryBefore, boundaryAfter, isAsciiWordByte, isDigitByte } from './library/bytes.ts';
import { strong } from './library/score.ts';

/** [A-HJ-NP-RT-Z]: the 23 letters a UPN may use (no I, O, S). */
function isUpnLetter(c: number): boolean {
  return c >= 65 && c <= 90 && c !== 73 && c !== 79 && c !== 83;
}

/** Byte-level twin of the pattern below, for class lists with a UPN on every row. */
function upnAt(buf: Uint8Array, start: number): number {
  const end = start + 13;
  if (end > buf.length || !isUpnLetter(buf[start]) || !boundaryBefore(buf, start)) return -1;
  for (let k = 1; k < 12; k++) if (!isDigitByte(buf[start + k])) return -1;
  const last = buf[start + 12];
  if (!isDigitByte(last) && !isUpnLetter(last)) return -1;
  return boundaryAfter(buf, end) ? end : -1;
}

/** The text before a value ends with the word UPN (any case) and at most a colon, "is" or "no." between. */
function afterUpnWord(before: string): boolean {
  let s = before.toLowerCase().trimEnd();
  for (const tail of [':', 'is', 'no.', 'no', 'number']) if (s.endsWith(tail)) s = s.slice(0, -tail.length).trimEnd();
  return s.endsWith('upn') && (s.length === 3 || !isAsciiWordByte(s.charCodeAt(s.length - 4)));
}

// DfE Unique Pupil Number. The letters I, O and S are never used, so the pattern excludes them.
export const ukUpn: PatternDetector = {
  kind: 'pattern',
  id: 'uk-upn',
  description: "A pupil's Unique Pupil Number (UPN): the 13-character number the DfE gives every pupil in England, with its check letter verified.",
  category: 'identifier',
  // Printed in capitals; typed in lower case now and then ("upn p820200112001"), which counts only
  // beside a UPN word (see score). The fast path reads capitals only; RE2 reads the rest.
  patterns: ['\\b[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]\\b'],
  caseSensitive: false,
  prefilter: 'digits',
  wordBounded: true,
  tokenMatch: upnAt,
  tokenMatchWord: [13, 13],
  validate: isValidUpn,
  tokenValidate: (buf, start) => upnCheckAt(buf, start),
  context: { words: ['upn', 'upns', 'pupil', 'unique'], before: 40, after: 10 },
  score: (m) => {
    if (!m.validated) return null;
    // In lower case, only right after "UPN" itself ("pupil" is in half a school's mail, and one
    // lower-case reference in 23 passes the check letter).
    if (hasLowerCase(m.value)) return afterUpnWord(m.before) ? strong(0.9) : null;
    return strong(m.contextNear ? 1 : 0.95);
  },
  redact: (v) => redactIdentifier(v, 5),
  reason: (m) => {
    const last = m.value.charCodeAt(m.value.length - 1);
    return last >= 48 && last <= 57
      ? 'A Unique Pupil Number (its check letter is correct)'
      : 'A temporary Unique Pupil Number (its check letter is correct)';
  },
  examples: {
    match: [
      { text: 'UPN: P820200112001', strength: 'strong' },
      { text: 'Pupils B938201912345 and Y20612345678B (temporary)', strength: 'strong' },
      { text: 'K30410231500A', strength: 'strong' },
      { text: "Ellie's upn is p820200112001", strength: 'strong' },
    ],
    noMatch: [
      'UPN: P820200112002', // wrong check letter
      'I820200112001', // I is never a check letter
      'Order ref XP820200112001', // part of a longer code
      'p820200112001', // in lower case, it needs a UPN word beside it
      'Tracking p820200112001 dispatched', // lower case, no UPN word
      'Pupil reference p820200112001', // lower case, beside "pupil" but not "UPN"
      'Parcel A12345678901234', // too long
    ],
  },
};
