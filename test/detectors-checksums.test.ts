// Checksum and calendar edge cases for UK identifiers (synthetic numbers only).
import { describe, it, expect } from 'vitest';
import {
  isValidUpn,
  isTemporaryUpn,
  upnCheckLetter,
  isValidUln,
  isValidNhsNumber,
  isValidNiNumber,
  isValidScottishCandidateNumber,
  parseUkDate,
  isPlausibleBirthDate,
  isPlausibleUkPhone,
  isUkMobile,
  atLeastYearsAgo,
  writtenAtLeastYearsAgo,
} from '../detectors/library/checksums.ts';
import { redactName, redactIdentifier, redactDate } from '../detectors/library/redact.ts';

describe('UPN (DfE mod-23 check letter)', () => {
  it.each([
    ['P820200112001', true],
    ['E873400112001', true],
    ['K30410231500A', true], // temporary UPN: last character a letter
    ['P87340012100A', true],
    ['P820200112002', false], // wrong check letter for this body
    ['Q820200112001', false],
    ['I820200112001', false], // I, O and S are never used
    ['P82020011200I', false],
    ['P8202001120', false], // too short
    ['P8202001120011', false], // too long
    ['P82020011200A1', false],
    ['p820200112001', true], // checksum ignores case (the pattern itself wants capitals)
  ])('%s → %s', (upn, ok) => {
    expect(isValidUpn(upn)).toBe(ok);
  });
  it('computes check letters from the 23-letter alphabet', () => {
    expect(upnCheckLetter('820200112001')).toBe('P');
    expect(upnCheckLetter('30410231500A')).toBe('K');
    expect(upnCheckLetter('30410231500I')).toBeUndefined(); // I is not in the alphabet
    expect(upnCheckLetter('3041023150A0')).toBeUndefined(); // a letter only in the last place
  });
  it('knows temporary UPNs', () => {
    expect(isTemporaryUpn('K30410231500A')).toBe(true);
    expect(isTemporaryUpn('P820200112001')).toBe(false);
  });
});

describe('Scottish Candidate Number (SQA, mod 11 with weights 3 2 7 6 5 4 3 2)', () => {
  it.each([
    ['123456785', true],
    ['051234561', true], // issued 2005: the leading zero is kept
    ['140000019', true],
    ['140 000 019', true],
    ['219876548', true],
    ['123456786', false], // wrong check digit
    ['991234560', false], // remainder 1: the check would be 10, never issued
    ['000000000', false],
    ['12345678', false],
    ['1234567850', false],
    ['12345678A', false],
  ])('%s → %s', (scn, ok) => {
    expect(isValidScottishCandidateNumber(scn)).toBe(ok);
  });
});

describe('ULN (LRS check digit)', () => {
  it.each([
    ['1234567899', true],
    ['4002134562', true],
    ['7654321987', true],
    ['1234567890', false], // wrong check digit
    ['0123456789', false], // never starts with 0
    ['123456789', false],
    ['12345678990', false],
    ['123456789A', false],
  ])('%s → %s', (uln, ok) => {
    expect(isValidUln(uln)).toBe(ok);
  });
  it('treats remainder 0 as invalid', () => {
    // 2,0,0,0,0,0,0,0,1 × weights 10..2 = 20 + 2 = 22 → remainder 0: no check digit fits.
    for (let d = 0; d <= 9; d++) expect(isValidUln(`200000001${d}`)).toBe(false);
  });
});

describe('NHS number (mod 11)', () => {
  it.each([
    ['9434765919', true],
    ['943 476 5919', true],
    ['943-476-5919', true],
    ['4010232137', true],
    ['6000000006', true],
    ['9434765918', false],
    ['1234567890', false], // check digit would be 10: never issued
    ['0000000000', false],
    ['943476591', false],
  ])('%s → %s', (nhs, ok) => {
    expect(isValidNhsNumber(nhs)).toBe(ok);
  });
  it('treats a check value of 11 as 0', () => {
    // 0,1,0,0,0,0,0,0,1 × weights 10..2 = 9 + 2 = 11 → remainder 0 → 11 − 0 = 11 → check digit 0.
    expect(isValidNhsNumber('0100000010')).toBe(true);
    expect(isValidNhsNumber('0100000011')).toBe(false);
  });
  it('treats a check value of 10 as never issued', () => {
    // 1,0,0,0,0,0,0,0,1 → 10 + 2 = 12 → remainder 1 → 11 − 1 = 10: no check digit fits.
    for (let d = 0; d <= 9; d++) expect(isValidNhsNumber(`100000001${d}`)).toBe(false);
  });
});

describe('National Insurance number (HMRC prefix rules)', () => {
  it.each([
    ['AB123456C', true],
    ['AB 12 34 56 C', true],
    ['CE123456', true], // suffix sometimes left off
    ['JK123456D', true],
    ['DA123456A', false], // D never first
    ['FA123456A', false],
    ['IA123456A', false],
    ['QA123456A', false],
    ['UA123456A', false],
    ['VA123456A', false],
    ['AO123456A', false], // O never second
    ['AD123456A', false], // nor D, F, I, Q, U, V
    ['BG123456A', false], // never-issued prefixes
    ['GB123456A', false],
    ['KN123456A', false],
    ['NK123456A', false],
    ['NT123456A', false],
    ['TN123456A', false],
    ['ZZ123456A', false],
    ['AB123456E', false], // suffix A–D only
    ['AB12345C', false],
  ])('%s → %s', (ni, ok) => {
    expect(isValidNiNumber(ni)).toBe(ok);
  });
  it('can insist on the suffix', () => {
    expect(isValidNiNumber('CE123456', true)).toBe(false);
  });
});

describe('how old a written date is (writtenAtLeastYearsAgo)', () => {
  it('answers as parsing the date would, in every way a date is written, near the edge or not', () => {
    const months = ['January', 'Feb', 'March', 'Sept', 'Medi'];
    const now = new Date();
    let checked = 0;
    for (let back = -400; back < 365 * 30; back += 17) {
      const d = new Date(now.getTime() - back * 86_400_000);
      const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
      const dd = String(day).padStart(2, '0');
      const mm = String(m).padStart(2, '0');
      const written = [`${dd}/${mm}/${y}`, `${day}.${m}.${String(y).slice(2)}`, `${y}-${mm}-${dd}`, `${day} ${months[m % months.length]} ${y}`];
      for (const w of written) {
        const iso = parseUkDate(w);
        if (iso === undefined) continue;
        for (const years of [2, 25]) {
          expect(writtenAtLeastYearsAgo(w, years), `${w} ${years}`).toBe(atLeastYearsAgo(iso, years));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });
});

describe('dates', () => {
  const today = new Date('2026-06-01T00:00:00Z');
  it.each([
    ['12/03/2014', '2014-03-12'],
    ['1.2.2014', '2014-02-01'],
    ['29/02/2012', '2012-02-29'],
    ['29/02/2013', undefined],
    ['29/02/1900', undefined], // 1900 was not a leap year
    ['29/02/2000', '2000-02-29'], // 2000 was
    ['31/04/2014', undefined],
    ['12/13/2014', undefined],
    ['2014-03-12', '2014-03-12'],
    ['3rd March 2014', '2014-03-03'],
    ['March 3, 2014', '2014-03-03'],
    ['12/03/14', '2014-03-12'],
    ['12/03/99', '1999-03-12'],
  ])('%s → %s', (s, iso) => {
    expect(parseUkDate(s, today)).toBe(iso);
  });
  it('a birth date is in the past and after 1900', () => {
    expect(isPlausibleBirthDate('2014-03-12', today)).toBe(true);
    expect(isPlausibleBirthDate('2027-01-01', today)).toBe(false);
    expect(isPlausibleBirthDate('1899-12-31', today)).toBe(false);
  });
});

describe('phones', () => {
  it.each([
    ['07700 900123', true, true],
    ['+44 7700 900123', true, true],
    ['44 (0)20 7946 0123', true, false],
    ['01632 960001', true, false],
    ['0044 1632 960001', true, false],
    ['12345', false, false],
    ['0000 000 0000', false, false],
  ])('%s → phone %s, mobile %s', (s, phone, mobile) => {
    expect(isPlausibleUkPhone(s)).toBe(phone);
    expect(isUkMobile(s)).toBe(mobile);
  });
});

describe('redaction', () => {
  it('keeps initials and shape only', () => {
    expect(redactName('Jane Smith')).toBe('J*** S****');
    expect(redactName("O'Brien, Zoë")).toBe('O******, Z**');
    expect(redactName('SMITH,\r\nJane')).toBe('S****,  J***');
    // Invisible characters and combining marks inside the words (which the scanner reads through)
    // do not make every letter after them the first of a word, shown.
    expect(redactName('E\u200br\u200bi\u200bn B\u200be\u200bg\u200bu\u200bm')).toBe('E*** B****');
    expect(redactName('Ru\u00adby Co\u2060x')).toBe('R*** C**');
    expect(redactName('Zoe\u0308y')).toBe('Z***');
    // Letters without case, and the vowel signs of scripts that write them as marks.
    expect(redactName('محمد علي')).toBe('م*** ع**');
    expect(redactName('राहुल शर्मा')).toBe('र** श**');
    expect(redactIdentifier('E873400112001', 5)).toBe('E8734********');
    expect(redactIdentifier('943 476 5919', 3)).toBe('943 *** ****');
    expect(redactDate('12/03/2014')).toBe('**/**/****');
    expect(redactDate('12 March 2014')).toBe('** ***** ****');
  });
});
