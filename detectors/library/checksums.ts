// Checksums and calendar checks for UK identifiers. Pure functions over short strings that a
// pattern has already matched: no regular expressions, no allocation-heavy parsing.

const UPN_LETTERS = 'ABCDEFGHJKLMNPQRTUVWXYZ'; // 23 letters: no I, O, S

/** Keep only letters and digits, upper-cased ("A 123-456" → "A123456"). */
export function compact(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) out += s[i];
    else if (c >= 65 && c <= 90) out += s[i];
    else if (c >= 97 && c <= 122) out += String.fromCharCode(c - 32);
  }
  return out;
}

/** Does an identifier hold a lower-case letter (typed as "ab123456c" rather than printed)? */
export function hasLowerCase(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) return true;
  }
  return false;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * DfE Unique Pupil Number: 13 characters, a check letter then 12 characters (LA number 3,
 * establishment 4, year of allocation 2, serial 3). In a temporary UPN the last character is a
 * letter, valued by its position in the 23-letter alphabet. Check letter: sum of
 * value(char i) × i for positions 2..13, mod 23, indexes the same alphabet.
 */
export function upnCheckLetter(body12: string): string | undefined {
  if (body12.length !== 12) return undefined;
  let sum = 0;
  for (let i = 0; i < 12; i++) {
    const c = body12.charCodeAt(i);
    let value: number;
    if (isDigit(c)) value = c - 48;
    else if (i === 11) {
      value = UPN_LETTERS.indexOf(body12[i]);
      if (value < 0) return undefined;
    } else return undefined;
    sum += value * (i + 2);
  }
  return UPN_LETTERS[sum % 23];
}

export function isValidUpn(s: string): boolean {
  if (s.length !== 13) {
    const upn = compact(s);
    return upn.length === 13 && isValidUpn(upn);
  }
  return upnCheckAt(s, 0);
}

/**
 * The UPN check letter of the 13 characters at `from`, in a string or in bytes (the scanner's
 * fast path checks a class list's UPNs without making strings).
 */
export function upnCheckAt(s: string | Uint8Array, from: number): boolean {
  const str = typeof s === 'string';
  let sum = 0;
  for (let i = 1; i < 13; i++) {
    const c = str ? s.charCodeAt(from + i) : s[from + i];
    let value: number;
    if (isDigit(c)) value = c - 48;
    else if (i === 12) {
      value = UPN_LETTERS.indexOf(String.fromCharCode(c >= 97 && c <= 122 ? c - 32 : c));
      if (value < 0) return false;
    } else return false;
    sum += value * (i + 1);
  }
  let first = str ? s.charCodeAt(from) : s[from];
  if (first >= 97 && first <= 122) first -= 32;
  return UPN_LETTERS.charCodeAt(sum % 23) === first;
}

export function isTemporaryUpn(s: string): boolean {
  const upn = compact(s);
  return isValidUpn(upn) && !isDigit(upn.charCodeAt(12));
}

/**
 * Unique Learner Number (Learning Records Service): 10 digits, not starting with 0. Sum of the
 * first nine digits × weights 10..2, mod 11; remainder 0 is invalid; check digit = 10 − remainder.
 */
export function isValidUln(s: string): boolean {
  const d = compact(s);
  if (d.length !== 10 || d[0] === '0') return false;
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const c = d.charCodeAt(i);
    if (!isDigit(c)) return false;
    if (i < 9) sum += (c - 48) * (10 - i);
  }
  const r = sum % 11;
  if (r === 0) return false;
  return 10 - r === d.charCodeAt(9) - 48;
}

/** NHS number: 10 digits; sum of first nine × weights 10..2; check = 11 − (sum mod 11), 11 → 0, 10 invalid. */
export function isValidNhsNumber(s: string): boolean {
  const d = compact(s);
  if (d.length !== 10) return false;
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    const c = d.charCodeAt(i);
    if (!isDigit(c)) return false;
    if (i < 9) sum += (c - 48) * (10 - i);
  }
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  if (check === 10) return false;
  if (d === '0000000000') return false;
  return check === d.charCodeAt(9) - 48;
}

/**
 * Scottish Candidate Number (SQA): eight digits and a check digit, modulus 11 with weights
 * 3 2 7 6 5 4 3 2 (the check is 11 less the remainder; 11 is 0, 10 is never issued). The first
 * two digits are the year it was issued, so leading zeros are kept. As HESA's field guide gives it.
 */
export function isValidScottishCandidateNumber(s: string): boolean {
  const d = compact(s);
  if (d.length !== 9 || d === '000000000') return false;
  const weights = [3, 2, 7, 6, 5, 4, 3, 2];
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    const c = d.charCodeAt(i);
    if (!isDigit(c)) return false;
    if (i < 8) sum += (c - 48) * weights[i];
  }
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  return check !== 10 && check === d.charCodeAt(8) - 48;
}

const NI_BAD_FIRST = 'DFIQUV';
const NI_BAD_SECOND = 'DFIOQUV';
const NI_BAD_PREFIXES = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);

/** HMRC National Insurance number: prefix rules, six digits, optional suffix A–D. */
export function isValidNiNumber(s: string, requireSuffix = false): boolean {
  const ni = compact(s);
  if (ni.length !== 8 && ni.length !== 9) return false;
  if (requireSuffix && ni.length !== 9) return false;
  const a = ni[0];
  const b = ni[1];
  if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return false;
  if (NI_BAD_FIRST.includes(a) || NI_BAD_SECOND.includes(b)) return false;
  if (NI_BAD_PREFIXES.has(a + b)) return false;
  for (let i = 2; i < 8; i++) if (!isDigit(ni.charCodeAt(i))) return false;
  if (ni.length === 9 && !'ABCD'.includes(ni[8])) return false;
  return true;
}

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return [31, isLeapYear(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
}

export function isRealDate(y: number, m: number, d: number): boolean {
  return Number.isInteger(y) && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

function fullYear(twoDigits: number, today?: Date): number {
  const thisYear = today ? today.getUTCFullYear() : Number(todayIso().slice(0, 4));
  let y = Math.floor(thisYear / 100) * 100 + twoDigits;
  if (y > thisYear) y -= 100;
  return y;
}

/**
 * d/m/y with digits only (the common case): the ISO date, undefined if not a real date, or null
 * when the string has another shape (month names, ordinals, year first).
 */
function parseNumericDate(s: string, today?: Date): string | undefined | null {
  const ymd = numericDateAt(s, 0, s.length, today);
  if (ymd <= 0) return ymd === 0 ? undefined : null;
  const y = Math.floor(ymd / 10000);
  const m = Math.floor(ymd / 100) % 100;
  const d = ymd % 100;
  return `${y}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

/**
 * A d/m/y date in s[from, to) (a string or bytes) as the number yyyymmdd; 0 when it is not a real
 * date, -1 when it has another shape.
 */
function numericDateAt(s: string | Uint8Array, from: number, to: number, today?: Date): number {
  const str = typeof s === 'string';
  let p0 = 0, p1 = 0, p2 = 0;
  let l0 = 0, l1 = 0, l2 = 0;
  let k = 0;
  for (let i = from; i < to; i++) {
    const c = str ? s.charCodeAt(i) : s[i];
    if (isDigit(c)) {
      if (k === 0) (p0 = p0 * 10 + (c - 48)), l0++;
      else if (k === 1) (p1 = p1 * 10 + (c - 48)), l1++;
      else (p2 = p2 * 10 + (c - 48)), l2++;
    } else if (c === 0x2f || c === 0x2e || c === 0x2d) {
      if ((k === 0 ? l0 : k === 1 ? l1 : l2) === 0 || ++k > 2) return -1;
    } else return -1;
  }
  if (k !== 2 || l2 === 0 || l0 > 2) return -1;
  let y = p2;
  if (l2 === 2) y = fullYear(y, today);
  else if (l2 !== 4) return 0;
  if (!isRealDate(y, p1, p0)) return 0;
  return y * 10000 + p1 * 100 + p0;
}

/**
 * Is the numeric date (d/m/y) in bytes [from, to) a plausible date of birth? The same answer as
 * isPlausibleBirthDate(parseUkDate(text)) for such a date, without making strings.
 */
export function isPlausibleNumericBirthDateAt(buf: Uint8Array, from: number, to: number): boolean {
  const ymd = numericDateAt(buf, from, to);
  return ymd >= 19000101 && ymd <= todayNumber();
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Welsh month names by their first three letters (Ionawr … Rhagfyr): none is an English one's. */
const WELSH_MONTHS = ['ion', 'chw', 'maw', 'ebr', 'mai', 'meh', 'gor', 'aws', 'med', 'hyd', 'tac', 'rha'];

function monthFromWord(w: string): number {
  const k = w.slice(0, 3).toLowerCase();
  const m = MONTHS.indexOf(k);
  if (m >= 0) return m + 1;
  const welsh = WELSH_MONTHS.indexOf(k);
  return welsh < 0 ? 0 : welsh + 1;
}

/**
 * Parse a written date (UK order) into ISO yyyy-mm-dd, or undefined when it is not a real
 * calendar date. Accepts 12/03/2014, 12-3-14, 12.03.2014, 2014-03-12, 12 March 2014,
 * 12th Mar 2014, March 12, 2014. Two-digit years are read as within the last 100 years
 * from `today`.
 */
export function parseUkDate(s: string, today?: Date): string | undefined {
  const fast = parseNumericDate(s, today);
  if (fast !== null) return fast;
  // Tokenise into runs of digits and runs of letters.
  const parts: string[] = [];
  let cur = '';
  let kind = 0; // 1 digits, 2 letters
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const k = isDigit(c) ? 1 : (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? 2 : 0;
    if (k !== kind && cur) {
      parts.push(cur);
      cur = '';
    }
    kind = k;
    if (k) cur += s[i];
  }
  if (cur) parts.push(cur);
  const clean = parts.filter((p) => !['st', 'nd', 'rd', 'th', 'of'].includes(p.toLowerCase()));
  if (clean.length !== 3) return undefined;
  let d: number, m: number, y: number, yLen: number;
  const [p0, p1, p2] = clean;
  const num = (p: string) => (isDigit(p.charCodeAt(0)) ? Number(p) : NaN);
  if (isDigit(p0.charCodeAt(0)) && p0.length === 4) {
    y = Number(p0);
    yLen = 4;
    m = isDigit(p1.charCodeAt(0)) ? Number(p1) : monthFromWord(p1);
    d = num(p2);
  } else if (!isDigit(p0.charCodeAt(0))) {
    m = monthFromWord(p0);
    d = num(p1);
    y = num(p2);
    yLen = p2.length;
  } else {
    d = num(p0);
    m = isDigit(p1.charCodeAt(0)) ? Number(p1) : monthFromWord(p1);
    y = num(p2);
    yLen = p2.length;
  }
  if (yLen === 2) y = fullYear(y, today);
  else if (yLen !== 4) return undefined;
  if (!isRealDate(y, m, d)) return undefined;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

let todayCache = { iso: '', until: 0 };
let todayCalls = 0;

/** Today as yyyy-mm-dd (UTC). The clock is read at most every 256 calls and once a minute. */
export function todayIso(): string {
  if ((++todayCalls & 255) === 0 || todayCache.until === 0) {
    const now = Date.now();
    if (now >= todayCache.until) todayCache = { iso: new Date(now).toISOString().slice(0, 10), until: now + 60_000 };
  }
  return todayCache.iso;
}

let todayNumberCache = { iso: '', n: 0 };

/** Today as the number yyyymmdd (UTC). */
function todayNumber(): number {
  const iso = todayIso();
  if (iso !== todayNumberCache.iso) todayNumberCache = { iso, n: Number(iso.slice(0, 4)) * 10000 + Number(iso.slice(5, 7)) * 100 + Number(iso.slice(8, 10)) };
  return todayNumberCache.n;
}

/**
 * Is this ISO date at least `years` whole years before today? A date that only a text's "born" or
 * "birthday" elsewhere makes a date of birth must be old enough to be a pupil's (two years: a
 * school nursery's youngest); the last two years' dates in school mail are events and deadlines.
 */
export function atLeastYearsAgo(iso: string, years: number): boolean {
  const today = todayIso();
  return iso <= `${String(Number(today.slice(0, 4)) - years).padStart(4, '0')}${today.slice(4)}`;
}

/**
 * Is the written date (a date pattern's match: 12/03/2014, 2014-03-12, 3 March 2014) at least
 * `years` years before today? The year alone settles it for all but the dates near the edge,
 * which are parsed: a class list's column of dates of birth costs no parse each.
 */
export function writtenAtLeastYearsAgo(written: string, years: number): boolean {
  const thisYear = Number(todayIso().slice(0, 4));
  let year = NaN;
  if (written.length >= 4 && isDigit(written.charCodeAt(0)) && written.charCodeAt(4) === 45 /* - */) year = Number(written.slice(0, 4));
  else {
    let k = written.length;
    while (k > 0 && isDigit(written.charCodeAt(k - 1))) k--;
    const digits = written.length - k;
    if (digits === 4) year = Number(written.slice(k));
    else if (digits === 2) year = fullYear(Number(written.slice(k)));
  }
  if (year === year) {
    if (year < thisYear - years) return true;
    if (year > thisYear - years) return false;
  }
  const iso = parseUkDate(written);
  return iso !== undefined && atLeastYearsAgo(iso, years);
}

/** Could this ISO date be someone's date of birth (not in the future, not before 1900)? */
export function isPlausibleBirthDate(iso: string, today?: Date): boolean {
  if (iso < '1900') return false;
  return iso <= (today ? today.toISOString().slice(0, 10) : todayIso());
}

/** The national number of a UK phone number (digits after +44 / 0044 / 0), or '' if not one. */
function ukNationalNumber(s: string): string {
  let d = '';
  for (let i = 0; i < s.length; i++) if (isDigit(s.charCodeAt(i))) d += s[i];
  if (d.startsWith('0044')) d = d.slice(4);
  else if (d.startsWith('44') && d.length >= 11) d = d.slice(2);
  if (d.startsWith('0')) d = d.slice(1); // 0… or the (0) of +44 (0)20 …
  return d;
}

/** A UK phone number: a national number of 9–10 digits starting 1, 2, 3, 7, 8 or 9. */
export function isPlausibleUkPhone(s: string): boolean {
  const d = ukNationalNumber(s);
  if (d.length < 9 || d.length > 10) return false;
  return '123789'.includes(d[0]);
}

export function isUkMobile(s: string): boolean {
  const d = ukNationalNumber(s);
  return d.length === 10 && d[0] === '7';
}
