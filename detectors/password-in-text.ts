import type { PatternDetector } from './types.ts';
import { redactAll } from './redact.ts';
import { strong } from './score.ts';

// Words that follow "password is/:" without being a password.
const NOT_A_PASSWORD = new Set(
  `sent send sending separately separate to the a an in on by via below above attached enclosed
  protected protection required needed same your my his her their our not being been shared
  changed change reset expired incorrect wrong following provided available coming texted emailed
  phoned known needed please see case for of and or with under from when if you it this that
  protect set`.split(/\s+/).filter(Boolean),
);

function isMasked(v: string): boolean {
  for (const ch of v) if (!'*•●xX._-#?'.includes(ch)) return false;
  return true;
}

// A password disclosed in the text ("password: …", "the password is …", "pw - …"). The finding's
// span is the password itself, so the policy can pair it with an encrypted attachment in the
// same email (the password must travel another way).
export const passwordInText: PatternDetector = {
  kind: 'pattern',
  id: 'password-in-text',
  description: 'A password written in the email itself (for example "the password is …"), which defeats protecting the attachment.',
  category: 'password',
  patterns: [
    '\\b(?:password|passcode|passphrase|passwd|pwd|pw|pin(?: code| number)?)\\b' +
      '(?:\\s+(?:for|to open|to unlock|on)\\s+(?:the\\s+|this\\s+|that\\s+|your\\s+|my\\s+)?(?:attached\\s+)?' +
      '(?:attachment|file|document|spreadsheet|zip|folder|pdf|report|it|them)s?\\b)?' +
      '(?:\\s*(?::|=|–|—|-)\\s*|\\s+(?:is|was|will be)\\s*:?\\s*)' +
      '["\'“‘]?(?P<value>[^\\s"\'“”‘’<>]{3,64})',
  ],
  keywords: ['password', 'passcode', 'passphrase', 'passwd', 'pwd', 'pw', 'pin'],
  // The match starts at the keyword: "password for the attached spreadsheet will be: …" fits.
  keywordWindow: { before: 8, after: 200 },
  trimTrailing: '.,;:)]',
  validate: (v) => {
    const lower = v.toLowerCase();
    if (NOT_A_PASSWORD.has(lower)) return false;
    if (isMasked(v)) return false;
    if (lower.startsWith('http') || lower.startsWith('[')) return false;
    return true;
  },
  score: (m) => (m.validated === false ? null : strong(0.9)),
  redact: redactAll,
  reason: () => 'A password written in the email text (it should be sent another way, not with the protected file)',
  examples: {
    match: [
      { text: 'The password is Tr33house!', value: 'Tr33house!' },
      { text: 'password: hunter22', value: 'hunter22' },
      { text: 'pw - Blue.Kettle.42', value: 'Blue.Kettle.42' },
      { text: 'Password for the attachment: 7Gh-aa91.', value: '7Gh-aa91' },
      { text: 'PIN: 4821', value: '4821' },
      { text: 'the password to open it is "Summer2026"', value: 'Summer2026' },
    ],
    noMatch: [
      'Forgot your password? Reset it here.',
      'The password will be sent separately by text.',
      'This file is password-protected.',
      'Password: ********',
      'Please choose a strong password.',
      'The password is the same as last term.',
    ],
  },
};
