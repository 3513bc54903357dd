import type { PatternDetector } from './library/types.ts';
import { redactIdentifier } from './library/redact.ts';
import { strong } from './library/score.ts';

export const ukBankAccountNumber: PatternDetector = {
  kind: 'pattern',
  id: 'uk-bank-account-number',
  description: 'A bank account number (eight digits) written next to "account number".',
  category: 'financial',
  patterns: ['\\b[0-9]{8}\\b', '\\b[0-9]{4} [0-9]{4}\\b'],
  prefilter: 'digits',
  wordBounded: true,
  requiresContext: 'near',
  context: { words: ['account', 'acct', 'acc', 'bank'], before: 30, after: 5 },
  score: (m) => (m.contextNear ? strong(0.8) : null),
  redact: (v) => redactIdentifier(v, 0),
  reason: () => 'A bank account number',
  examples: {
    match: [{ text: 'Account number: 12345678', strength: 'strong' }, 'acc no 8765 4321'],
    noMatch: ['Order 12345678 shipped', 'Account number: 1234567', 'Account 123456789'],
  },
};
