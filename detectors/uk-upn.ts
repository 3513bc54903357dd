import type { PatternDetector } from './types.ts';
import { isValidUpn, isTemporaryUpn } from './checksums.ts';
import { redactIdentifier } from './redact.ts';

// DfE Unique Pupil Number. The letters I, O and S are never used, so the pattern excludes them.
export const ukUpn: PatternDetector = {
  kind: 'pattern',
  id: 'uk-upn',
  description: "A pupil's Unique Pupil Number (UPN): the 13-character number the DfE gives every pupil in England, with its check letter verified.",
  category: 'identifier',
  patterns: ['\\b[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]\\b'],
  caseSensitive: true,
  prefilter: 'digits',
  validate: isValidUpn,
  context: { words: ['upn', 'upns', 'pupil', 'unique'], before: 40, after: 10 },
  score: (m) => (m.validated ? { strength: 'strong', score: m.contextNear ? 1 : 0.95 } : null),
  redact: (v) => redactIdentifier(v, 5),
  reason: (m) =>
    isTemporaryUpn(m.value)
      ? 'A temporary Unique Pupil Number (its check letter is correct)'
      : 'A Unique Pupil Number (its check letter is correct)',
  examples: {
    match: [
      { text: 'UPN: P820200112001', strength: 'strong' },
      { text: 'Pupils B938201912345 and Y20612345678B (temporary)', strength: 'strong' },
      { text: 'K30410231500A', strength: 'strong' },
    ],
    noMatch: [
      'UPN: P820200112002', // wrong check letter
      'I820200112001', // I is never a check letter
      'Order ref XP820200112001', // part of a longer code
      'p820200112001', // UPNs are written in capitals
      'Parcel A12345678901234', // too long
    ],
  },
};
