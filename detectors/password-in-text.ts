import type { MatchInfo, PatternDetector } from './library/types.ts';
import { redactAll } from './library/redact.ts';
import { strong } from './library/score.ts';

// Words that follow "password is/:" without being a password.
const NOT_A_PASSWORD = new Set(
  `sent send sending separately separate to the a an in on by via below above attached enclosed
  protected protection required needed same your my his her their our not being been shared
  changed change reset expired incorrect wrong following provided available coming texted emailed
  phoned known needed please see case for of and or with under from when if you it this that
  protect set`.split(/\s+/).filter(Boolean),
);

const KEYWORDS = ['password', 'passcode', 'passphrase', 'passwd', 'pwd', 'pw', 'pin'];
/** Plurals the patterns take too ("Passwords: Falcon2291 and Owl4471"). */
const PLURALS = ['passwords', 'passcodes', 'pins'];
/** Keywords after which a run of digits alone is a plausible secret ("PIN 4821"). */
const NUMERIC_KEYWORDS = new Set(['pin', 'passcode']);

function isMasked(v: string): boolean {
  for (const ch of v) if (!'*•●xX._-#?'.includes(ch)) return false;
  return true;
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

/**
 * "password Falcon2291", with nothing but a space (or one line end) between the word and the value: ordinary prose
 * writes "password" before words too ("reset your password on the portal", "password 8+
 * characters"), so the value must look like a secret: four characters or more with a digit, and
 * if it is only digits, six or more (four after "PIN" or "passcode").
 */
function plausibleAfterSpace(m: MatchInfo): boolean {
  let prefix = m.match.slice(0, m.match.lastIndexOf(m.value)).trim().toLowerCase();
  if (PLURALS.includes(prefix)) prefix = prefix.slice(0, -1);
  if (!KEYWORDS.includes(prefix)) return true; // written with ':', 'is', '=' … : the other shapes
  const v = m.value;
  if (v.length < 4) return false;
  let digits = 0;
  for (const ch of v) if (isDigit(ch)) digits++;
  if (digits === 0) return false;
  if (digits === v.length) return v.length >= (NUMERIC_KEYWORDS.has(prefix) ? 4 : 6);
  return true;
}

// A password disclosed in the text ("password: …", "the password is …", "pw - …", "password
// Falcon2291", "the code to open it is …"). The finding's span is the password itself, so the
// policy can pair it with an encrypted attachment in the same email (the password must travel
// another way).
export const passwordInText: PatternDetector = {
  kind: 'pattern',
  id: 'password-in-text',
  description: 'A password written in the email itself (for example "the password is …"), which defeats protecting the attachment.',
  category: 'password',
  topic: 'a password',
  patterns: [
    '\\b(?:password|passcode|passphrase|passwd|pwd|pw|pin(?: code| number)?)s?\\b' +
      '(?:\\s+(?:for|to open|to unlock|on)\\s+(?:the\\s+|this\\s+|that\\s+|your\\s+|my\\s+)?(?:attached\\s+)?' +
      '(?:attachment|file|document|spreadsheet|zip|folder|pdf|report|it|them)s?\\b)?' +
      '(?:\\s*(?::|=|–|—|-)\\s*|\\s+(?:is|was|will be)\\s*:?\\s*)' +
      '["\'“‘]?(?P<value>[^\\s"\'“”‘’<>]{3,64})',
    // The word and the value with only a space between ("(password Falcon2291)"), or the value on
    // the next line under the word; a digit somewhere.
    '\\b(?:password|passcode|passphrase|passwd|pwd|pw|pin)s?(?:[ \\t]+|[ \\t]*\\r?\\n[ \\t]*)(?P<value>[^\\s"\'“”‘’<>:=]{0,63}[0-9][^\\s"\'“”‘’<>]{0,63})',
    // "the code to open it is …", "code for the zip: …".
    '\\bcode\\s+(?:to\\s+(?:open|unlock|access)|for)\\s+(?:it|them|(?:the|this|that)\\s+(?:attached\\s+)?' +
      '(?:attachment|file|document|spreadsheet|workbook|zip|folder|pdf|report|list)s?)' +
      '(?:\\s*(?::|=|–|—|-)\\s*|\\s+(?:is|was|will be)\\s*:?\\s*)' +
      '["\'“‘]?(?P<value>[^\\s"\'“”‘’<>]{3,64})',
  ],
  keywords: [...KEYWORDS, ...PLURALS, 'code'],
  // The match starts at the keyword: "password for the attached spreadsheet will be: …" fits.
  keywordWindow: { before: 8, after: 200 },
  trimTrailing: '.,;:)]',
  validate: (v) => {
    const lower = v.toLowerCase();
    if (v.length < 3) return false;
    if (NOT_A_PASSWORD.has(lower)) return false;
    if (isMasked(v)) return false;
    if (lower.startsWith('http') || lower.startsWith('[')) return false;
    return true;
  },
  score: (m) => (m.validated === false || !plausibleAfterSpace(m) ? null : strong(0.9)),
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
      { text: 'Year 6 list (password Falcon2291)', value: 'Falcon2291' },
      { text: 'pwd Kingswood26', value: 'Kingswood26' },
      { text: 'passcode 482913', value: '482913' },
      { text: 'PIN 4821 for the zip', value: '4821' },
      { text: 'The code to open it is Lapwing-0311', value: 'Lapwing-0311' },
      { text: 'code for the spreadsheet: Ridge!Climb7', value: 'Ridge!Climb7' },
      { text: 'Password\nFalcon2291', value: 'Falcon2291' },
      { text: 'Passwords: Owl4471 for the list, Heron2290 for the photos', value: 'Owl4471' },
      { text: 'passwords Owl4471', value: 'Owl4471' },
    ],
    noMatch: [
      'Forgot your password? Reset it here.',
      'The password will be sent separately by text.',
      'This file is password-protected.',
      'Password: ********',
      'Please choose a strong password.',
      'The password is the same as last term.',
      'Please reset your password on the portal.',
      'Your new password must be 8+ characters long.',
      'Passwords expire every 90 days; choose a password of 12 characters.',
      'Pin 100 posters to the board.',
      'The dress code for the disco is fancy dress.',
      'Use the password 2 times before it locks.',
      'Please reset your password\nThe portal opens on 12 January 2027.',
      'Passwords\n2026 policy attached.',
    ],
  },
};
