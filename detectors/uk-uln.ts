import type { PatternDetector } from './library/types.ts';
import { isValidUln } from './library/checksums.ts';
import { redactIdentifier } from './library/redact.ts';
import { strong, weak } from './library/score.ts';
import { labelledOtherwise } from './library/labels.ts';

// Learning Records Service Unique Learner Number. Ten digits with a check digit: one random
// ten-digit number in eleven passes, so without a context word it is only a weak signal.
export const ukUln: PatternDetector = {
  kind: 'pattern',
  id: 'uk-uln',
  description: "A learner's Unique Learner Number (ULN) from the Learning Records Service: ten digits with a check digit.",
  category: 'identifier',
  patterns: ['\\b[1-9][0-9]{9}\\b'],
  prefilter: 'digits',
  wordBounded: true,
  validate: isValidUln,
  fitsByChance: true,
  // Not 'pupil': school mail says it everywhere, and with it anywhere in the text any ten-digit
  // invoice or asset number that fits (one in eleven) was taken for a pupil's ULN.
  context: { words: ['uln', 'ulns', 'learner', 'lrs'], before: 40, after: 10 },
  score: (m) => {
    if (!m.validated || labelledOtherwise(m.before)) return null;
    if (m.contextNear) return strong(0.9);
    return weak(m.contextInText ? 0.5 : 0.35);
  },
  redact: (v) => redactIdentifier(v, 3),
  reason: (m) =>
    m.contextNear
      ? 'A Unique Learner Number (its check digit is correct and it is labelled as a ULN)'
      : 'A ten-digit number whose check digit fits a Unique Learner Number',
  examples: {
    match: [
      { text: 'ULN: 1234567899', strength: 'strong' },
      { text: 'Unique learner number 4002134562', strength: 'strong' },
      { text: 'Ref 7654321987', strength: 'weak' },
    ],
    noMatch: [
      'ULN: 1234567890', // wrong check digit
      'ULN: 0123456789', // ULNs never start with 0
      'Tel 01234567899', // eleven digits
      'ISBN 1234567899', // a book
    ],
  },
};
