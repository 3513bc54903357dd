import type { PatternDetector } from './library/types.ts';
import { isValidScottishCandidateNumber } from './library/checksums.ts';
import { redactIdentifier } from './library/redact.ts';
import { strong, weak } from './library/score.ts';

// The SQA's Scottish Candidate Number: a Scottish pupil's number from primary 1 on, as a UPN is an
// English pupil's (some councils even make it the pupil's email address). Nine digits with a
// check digit: one random nine-digit number in eleven passes, and nine-digit order, invoice, VAT
// and account numbers are common, so it is reported only where the text says SCN: strong beside
// the word, weak elsewhere in a text that has it (a column of SCNs under its header), which
// counts only two or more at once or beside a pupil's name (src/decide/model.ts, as a bare NHS
// number or ULN does). "Scottish", "SQA" and "candidate" alone are not enough: a Scottish
// school's charity and VAT numbers, an SQA invoice and a job agency's candidate reference are not
// a pupil's number.
export const scottishCandidateNumber: PatternDetector = {
  kind: 'pattern',
  id: 'scottish-candidate-number',
  description: "A pupil's Scottish Candidate Number (SCN) from the SQA: nine digits with a check digit.",
  category: 'identifier',
  patterns: ['\\b[0-9]{9}\\b', '\\b[0-9]{3} [0-9]{3} [0-9]{3}\\b'],
  prefilter: 'digits',
  wordBounded: true,
  validate: isValidScottishCandidateNumber,
  fitsByChance: true,
  requiresContext: 'text',
  context: { words: ['scn', 'scns'], before: 40, after: 10 },
  score: (m) => (!m.validated ? null : m.contextNear ? strong(0.9) : m.contextInText ? weak(0.45) : null),
  redact: (v) => redactIdentifier(v, 2),
  reason: (m) =>
    m.contextNear
      ? 'A Scottish Candidate Number (its check digit is correct and it is labelled as an SCN)'
      : 'A nine-digit number whose check digit fits a Scottish Candidate Number, in a text about SCNs',
  examples: {
    match: [
      { text: 'SCN: 123456785', strength: 'strong' },
      { text: 'Scottish Candidate Number (SCN) 051234561, issued 2005', strength: 'strong' },
      { text: 'her SCN is 140 000 019', strength: 'strong' },
      { text: 'Name, Class, SCN\nIsla Grant, P7B, 219876548', strength: 'strong' },
      { text: 'SCNs for the entries are listed below the signatures for each family that asked.\n\nIsla Grant (P7B): 219876548', strength: 'weak' },
    ],
    noMatch: [
      'SCN: 123456786', // wrong check digit
      'SCN: 991234560', // its check would be 10: never issued
      'Order 123456785 was dispatched', // fits, but nothing says it is an SCN
      'Candidate reference 123456785 for the teaching post', // a job agency's candidate, not the SQA's
      'Scottish Charity No SC012345 | VAT No 200023757', // a Scottish school's signature
      'Please pay invoice 200023757 from Scottish Water',
      'The SQA invoice number 200023757',
      'SCN 1234567850', // ten digits
      'SCN: 000000000',
    ],
  },
};
