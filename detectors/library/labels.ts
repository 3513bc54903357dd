// What the words just before a number say it is, when that is not a person's identifier: a ten-
// digit number that fits an NHS number's or a ULN's check digit (one in eleven does) is often an
// ISBN (every ISBN-10 without an X fits the NHS number's mod 11, the same sum), a telephone
// number for callers abroad, or a video meeting's id written 3-3-4. Read from the match's
// `before` (its last 16 bytes).

/** Words that, among the last ones before a number, say it is something else. */
const OTHER_LABELS = new Set(['isbn', 'isbn10', 'isbn-10', 'tel', 'telephone', 'phone', 'mobile', 'fax', 'meeting', 'webinar', 'conference', 'toll', 'whatsapp', 'zoom', 'teams', 'passcode']);

/** Whether the number follows a country's calling code: +44 (0)117 …, +44-117-…, (+44) 117 …, 0044 …, +1 800-…, +353 87 …. */
export function afterCallingCode(before: string): boolean {
  let s = before.trimEnd();
  if (s.endsWith('(0)')) s = s.slice(0, -3).trimEnd();
  if (s.endsWith('-')) s = s.slice(0, -1).trimEnd();
  if (s.endsWith('(+44)')) return true;
  const plus = s.lastIndexOf('+');
  if (plus >= 0 && s.length - plus <= 4 && s.length - plus >= 2) {
    for (let i = plus + 1; i < s.length; i++) if (s[i] < '0' || s[i] > '9') return false;
    return true;
  }
  return s.endsWith('0044');
}

/** Whether the words just before the number label it as an ISBN, a telephone number or a meeting's id. */
export function labelledOtherwise(before: string): boolean {
  const words: string[] = [];
  let word = '';
  for (const ch of before.toLowerCase() + ' ') {
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch === '-' && word)) word += ch;
    else if (word) {
      words.push(word.endsWith('-') ? word.slice(0, -1) : word);
      word = '';
    }
  }
  return words.slice(-3).some((w) => OTHER_LABELS.has(w));
}
