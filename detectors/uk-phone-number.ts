import type { PatternDetector } from './library/types.ts';
import { isPlausibleUkPhone, isUkMobile } from './library/checksums.ts';
import { redactIdentifier } from './library/redact.ts';
import { strong, weak } from './library/score.ts';

// UK phone numbers, only next to a phone word (numbers of every shape fill school mail).
// A mobile number is personal; a landline is usually an office, so it stays weak.
export const ukPhoneNumber: PatternDetector = {
  kind: 'pattern',
  id: 'uk-phone-number',
  description: 'A UK telephone number written next to a word like "mobile", "tel" or "phone".',
  category: 'contact',
  // Starts at the "44" of "+44" or at the leading 0 (after any bracket) and ends on a digit, so
  // every match is word-bounded.
  patterns: ['\\b(?:44 ?(?:\\(0\\) ?)?|0)[1-9][0-9]{1,4}\\)?[ -]?[0-9]{3,4}[ -]?[0-9]{3,4}\\b'],
  prefilter: 'digits',
  wordBounded: true,
  requiresContext: 'near',
  validate: isPlausibleUkPhone,
  context: {
    words: ['tel', 'telephone', 'phone', 'phones', 'mobile', 'mob', 'call', 'ring', 'text', 'whatsapp', 'landline', 'contact'],
    before: 40,
    after: 10,
  },
  score: (m) => {
    if (!m.validated || !m.contextNear) return null;
    return isUkMobile(m.value) ? strong(0.8) : weak(0.5);
  },
  redact: (v) => redactIdentifier(v, 3),
  reason: (m) => (isUkMobile(m.value) ? 'A UK mobile phone number' : 'A UK phone number'),
  examples: {
    match: [
      { text: 'Mobile: 07700 900123', strength: 'strong' },
      { text: 'Tel 01632 960001', strength: 'weak' },
      { text: 'please call +44 (0)20 7946 0123', strength: 'weak' },
      { text: 'her phone is 07700900456', strength: 'strong' },
    ],
    noMatch: [
      '07700 900123', // no phone word nearby
      'Tel: 12345',
      'Invoice 01632960001 attached',
    ],
  },
};
