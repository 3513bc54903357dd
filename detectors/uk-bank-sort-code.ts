import type { PatternDetector } from './library/types.ts';
import { redactIdentifier } from './library/redact.ts';
import { strong } from './library/score.ts';

export const ukBankSortCode: PatternDetector = {
  kind: 'pattern',
  id: 'uk-bank-sort-code',
  description: 'A bank sort code (six digits) written next to "sort code".',
  category: 'financial',
  patterns: ['\\b[0-9]{2}[- ][0-9]{2}[- ][0-9]{2}\\b', '\\b[0-9]{6}\\b'],
  prefilter: 'digits',
  wordBounded: true,
  requiresContext: 'near',
  context: { words: ['sort', 'sortcode', 'branch'], before: 30, after: 5 },
  score: (m) => (m.contextNear ? strong(0.8) : null),
  redact: (v) => redactIdentifier(v, 2),
  reason: () => 'A bank sort code',
  examples: {
    match: [{ text: 'Sort code: 12-34-56', strength: 'strong' }, 'sort code 123456'],
    noMatch: ['12-34-56', 'Sort code: 12-34-5', 'Room 123456 booked'],
  },
};
