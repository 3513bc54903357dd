// Every detector proves itself: its examples that must match do, and those that must not
// don't (gitleaks style). The registry refuses duplicates and detectors without examples. And
// the speed tricks (byte-level fast paths, test()+search() locating) must never change results.
import { describe, it, expect } from 'vitest';
import { DETECTORS, checkRegistry } from '../detectors/index.ts';
import type { Detector, DetectorExample, RosterDetector } from '../detectors/library/types.ts';
import { compileDetectors, type Detection } from '../src/detect/index.ts';
import { makeRoster } from '../src/roster/index.ts';
import { syntheticPupils, syntheticCorpus, toRoster } from '../bench/detectors/corpus.ts';

const rosterDetector = DETECTORS.find((d): d is RosterDetector => d.kind === 'roster')!;
const exampleRoster = makeRoster(
  rosterDetector.exampleRoster.map((p, i) => ({ id: `row-${i + 2}`, line: i + 2, contacts: [], ...p })),
);
const exampleStaff = rosterDetector.exampleStaff ?? [];
const set = compileDetectors({ roster: exampleRoster, staff: exampleStaff });

function examplesOf(d: Detector): DetectorExample[] {
  return d.examples.match.map((m) => (typeof m === 'string' ? { text: m } : m));
}

describe.each(DETECTORS.map((d) => [d.id, d] as const))('detector %s', (_id, d) => {
  it.each(examplesOf(d).map((e) => [e.text, e] as const))('finds %j', (_text, e) => {
    const found = set.scan(e.text, 'body').filter((x) => x.detector === d.id);
    const fitting = found.filter(
      (x) => (!e.strength || x.strength === e.strength) && (!e.value || e.text.slice(x.start, x.end) === e.value),
    );
    expect(fitting, JSON.stringify(found)).not.toHaveLength(0);
    for (const x of fitting) {
      expect(x.evidence).not.toBe('');
      expect(x.reason.length).toBeGreaterThan(10);
      expect(x.category).toBe(d.category);
    }
  });
  it.each(d.examples.noMatch.map((t) => [t] as const))('does not find %j', (text) => {
    const found = set
      .scan(text, 'body')
      .filter((x) => x.detector === d.id && (d.kind === 'pattern' || x.strength === 'strong'));
    expect(found).toEqual([]);
  });
});

describe('the registry', () => {
  it('accepts the shipped detectors', () => {
    expect(() => checkRegistry()).not.toThrow();
    expect(DETECTORS.length).toBeGreaterThanOrEqual(19);
  });
  it('refuses a duplicate id', () => {
    const upn = DETECTORS.find((d) => d.id === 'uk-upn')!;
    expect(() => checkRegistry([...DETECTORS, upn])).toThrow(/duplicate detector id "uk-upn"/);
  });
  it('refuses a detector without examples that must not match', () => {
    const upn = DETECTORS.find((d) => d.id === 'uk-upn')!;
    expect(() => checkRegistry([{ ...upn, id: 'x-upn', examples: { match: ['x'], noMatch: [] } }])).toThrow(/examples/);
  });
  it('refuses a pattern that RE2 cannot compile (no backtracking features)', () => {
    const upn = DETECTORS.find((d) => d.id === 'uk-upn')!;
    const bad = { ...upn, id: 'backref', patterns: ['(a)\\1'] } as Detector;
    expect(() => compileDetectors({ detectors: [bad] })).toThrow(/RE2/);
  });
  it('refuses a pattern detector without keywords or a prefilter', () => {
    const pw = DETECTORS.find((d) => d.id === 'password-in-text')!;
    expect(() => checkRegistry([{ ...pw, keywords: [] } as Detector])).toThrow(/keywords or the digits prefilter/);
  });
});

describe('byte-level validators give the same answer as the string ones', () => {
  // Everything each fast path can match, valid or not: 20,000 random dates of every shape the
  // numeric date pattern takes (impossible days, leap years, the future, two-digit years) and
  // 20,000 random UPNs (right and wrong check letters, temporary ones).
  let seed = 12345;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  const dates: string[] = [];
  for (let k = 0; k < 20_000; k++) {
    const sep = '/.-'[rand(3)];
    const day = rand(33);
    const month = rand(14);
    const year = rand(2) ? 1890 + rand(150) : rand(100);
    dates.push(`${rand(2) ? pad(day, 2) : day}${sep}${rand(2) ? pad(month, 2) : month}${sep}${year < 100 ? pad(year, 2) : year}`);
  }
  dates.push('29/02/2012', '29/02/2013', '29/02/2000', '29/02/1900', '31/12/1899', '01/01/1900', '31/04/2014');
  const letters = 'ABCDEFGHJKLMNPQRTUVWXYZ';
  const upns: string[] = [];
  for (let k = 0; k < 20_000; k++) {
    let digits = '';
    for (let q = 0; q < 11; q++) digits += rand(10);
    upns.push(letters[rand(23)] + digits + (rand(3) ? String(rand(10)) : letters[rand(23)]));
  }
  it.each(DETECTORS.filter((d) => d.kind === 'pattern' && d.tokenValidate).map((d) => [d.id, d] as const))('%s', (_id, d) => {
    if (d.kind !== 'pattern') return;
    const values = d.id === 'uk-upn' ? upns : dates;
    let valid = 0;
    let shaped = 0;
    for (const v of values) {
      const buf = Buffer.from(` ${v} `, 'latin1');
      if (d.tokenMatch!(buf, 1) !== v.length + 1) continue; // not a shape the fast path takes
      shaped++;
      const expected = d.validate!(v);
      expect(d.tokenValidate!(buf, 1, v.length + 1), v).toBe(expected);
      if (expected) valid++;
    }
    // Both answers occur often: the comparison means something.
    expect(shaped).toBeGreaterThan(5_000);
    expect(valid).toBeGreaterThan(500);
    expect(shaped - valid).toBeGreaterThan(500);
  });
});

describe('speed tricks change nothing', () => {
  const key = (d: Detection) => `${d.detector}|${d.start}|${d.end}|${d.strength}|${d.score}|${d.evidence}|${d.near?.kind ?? ''}`;
  const pupils = syntheticPupils(400, 99);
  const roster = toRoster(pupils);
  const fast = compileDetectors({ roster });
  const exact = compileDetectors({ roster, fastPaths: false, exactLocate: true, wholeText: true });
  const docs = syntheticCorpus(150_000, pupils, 3);
  const extra = [
    ...DETECTORS.flatMap((d) => [...examplesOf(d).map((e) => e.text), ...d.examples.noMatch]),
    'DOB\nx_12/03/2014 é12/03/2014 12/03/2014_ 1/12/03/2014 123/03/2014 12/03/2114 32/01/2014 00/01/2014',
    'UPN E873400112001x E873400112001_ _E873400112001 e873400112001 E8734001120012 (E873400112001)',
    'sort code 12-03-14 DOB 12-03-14 account 12345678 tel +44 (0)20 7946 0123 and (01632) 960000',
    // Digits spread out: regions are read only where one cluster holds enough of them.
    'DOB,Year,Form\n12,12B,1\n7,7C,2/3\n1 2 3 4 5 6\n(0) 1 (2) 3-4 5\n12.3.14 1-2-14 2014-03-12 3rd March 2014 March 3, 2014',
    'NI AB 12 34 56 C, AB123456C, tel 0161 496 0000 ext 23, +44 (0) 1632 960000, 0 1 6 3 2 9 6 0 0 0 0, SW1A 1AA',
    'NHS 943 476 5919 and 943-476-5919, ULN 1234567890, UPN A123456789012 (12 / 03 / 2014)',
    // Words the scanner reads whole but where RE2's ASCII \b falls inside: a non-ASCII letter,
    // an emoji or an apostrophe glued on, and a word running on past a date the fast path took.
    'Flat 12, 34 Long Road, M1 1AEé. 12 Long Road, SW1A 1AA🙂 and SW1A 1AA’d, B33 8THü',
    'DOB 01/02/2014\'1234567805 ULN, pupil 12/03/2014’E873400112001, NI AB 12 34 56 Cé',
  ];
  it('gives identical findings with and without fast paths and cheap locating', () => {
    let compared = 0;
    for (const text of [...docs.map((d) => d.text), ...extra.map((t) => Buffer.from(t))]) {
      const a = fast.scan(text, 'body').map(key);
      const b = exact.scan(text, 'body').map(key);
      expect(a).toEqual(b);
      compared += a.length;
    }
    expect(compared).toBeGreaterThan(1000);
  });
});
