import type { PatternDetector } from './library/types.ts';
import { isValidNhsNumber } from './library/checksums.ts';
import { redactIdentifier } from './library/redact.ts';
import { strong, weak } from './library/score.ts';
import { afterCallingCode, labelledOtherwise } from './library/labels.ts';

/** 943 476 5919, 943-476-5919, or with non-breaking spaces (Word and Outlook put them in). */
function isSpaced334(s: string): boolean {
  return s.length === 12 && (s[3] === ' ' || s[3] === '-' || s[3] === '\u00a0') && s[7] === s[3];
}

export const ukNhsNumber: PatternDetector = {
  kind: 'pattern',
  id: 'uk-nhs-number',
  description: "A patient's NHS number: ten digits with a check digit (mod 11), often written 3-3-4.",
  category: 'identifier',
  patterns: ['\\b[0-9]{3}[ \\x{00A0}-]?[0-9]{3}[ \\x{00A0}-]?[0-9]{4}\\b'],
  prefilter: 'digits',
  wordBounded: true,
  validate: isValidNhsNumber,
  fitsByChance: true,
  // Not "chi", though Scotland's CHI number is an NHS-style number: it is Welsh for "you" (a
  // Welsh school's "Diolch i chi … Cyfeirnod 2501167341" would be held). A CHI number near a
  // pupil's name still counts (src/decide/model.ts, numbers that fit a check digit).
  context: { words: ['nhs', 'health', 'hospital', 'gp', 'patient', 'medical', 'doctor'], before: 40, after: 10 },
  score: (m) => {
    // Never after a calling code (+44 117 496 0000 is Bristol's number for callers abroad, and a
    // city's number without its 0 has this shape) or a word saying what else it is (an ISBN, a
    // meeting's id, a telephone number).
    if (!m.validated || afterCallingCode(m.before) || labelledOtherwise(m.before)) return null;
    if (m.contextNear || isSpaced334(m.value)) return strong(m.contextNear ? 0.95 : 0.75);
    return weak(m.contextInText ? 0.5 : 0.35);
  },
  redact: (v) => redactIdentifier(v, 3),
  reason: (m) =>
    m.contextNear || isSpaced334(m.value)
      ? 'An NHS number (its check digit is correct)'
      : 'A ten-digit number whose check digit fits an NHS number',
  examples: {
    match: [
      { text: 'NHS number: 943 476 5919', strength: 'strong' },
      { text: 'NHS No 9434765919', strength: 'strong' },
      { text: 'ref 943-476-5919', strength: 'strong' },
      { text: 'Ref 4010232137', strength: 'weak' },
      // Welsh "chi" is "you": a booking reference that fits the check digit stays a weak guess.
      { text: 'Diolch i chi am eich archeb. Cyfeirnod archebu: 2501167341', strength: 'weak' },
      { text: 'NHS number 943\u00a0476\u00a05919 (typed in Word)', strength: 'strong' },
    ],
    noMatch: [
      'NHS number: 943 476 5918', // wrong check digit
      'NHS 1234567890', // check digit would be 10: never issued
      'Invoice 4010232138',
      'Phone 01632 960 001',
      'Tel: +44 117 496 0000', // Bristol, for callers abroad (1174960000 fits the check digit)
      'T +44 (0)117 496 0000',
      'phone 0044 117 496 0000',
      'Tel: +44\u00a0117\u00a0496\u00a00000', // non-breaking spaces, as Outlook writes a signature
      'Call (+44) 117 496 0000',
      'or +44-117-496-0000',
      'Matilda, ISBN 0140328726', // every ISBN-10 without an X fits the NHS number's check digit
      'Zoom Meeting ID: 841 234 5673',
      'Toll free: 800-555-0103',
    ],
  },
};
