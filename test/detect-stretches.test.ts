// A long text is scanned a stretch at a time (src/detect/stretches.ts) for speed: the findings
// must be exactly those of the text scanned whole: the same names (a single name word once, with
// every occurrence), identifiers, context, anchors and offsets.
import { describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { compileDetectors, type Detection } from '../src/detect/index.ts';
import { stretchCounts } from '../src/detect/stretches.ts';
import { rng, pick } from '../bench/detectors/names.ts';
import { syntheticPupils, syntheticCorpus, toRoster } from '../bench/detectors/corpus.ts';

const pupils = syntheticPupils(400, 99);
const roster = toRoster(pupils);
const whole = compileDetectors({ roster, stretches: false });
// Small stretches, so a test text of a few hundred KB has many of them (the margin is longer
// than the corpus's longest class list, 8.5 KB: a region of words with digits starts afresh in it).
const small = compileDetectors({ roster, stretches: { bytes: 32768, margin: 12288, from: 0 } });
const plain = (ds: Detection[]) => ds.map((d) => JSON.parse(JSON.stringify(d)) as Detection);

/** Scan both ways; expect the same findings, and say how the stretched scan went. */
function compare(text: string | Buffer, opts: { staffNames?: boolean } = {}) {
  const before = { ...stretchCounts };
  const a = plain(whole.scan(text, 'body', opts));
  const b = plain(small.scan(text, 'body', opts));
  const went = { stretched: stretchCounts.stretched - before.stretched, again: stretchCounts.again - before.again, whole: stretchCounts.whole - before.whole };
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) if (!isDeepStrictEqual(a[i], b[i])) expect(b[i]).toEqual(a[i]);
  return { findings: a, went };
}

describe('a long text scanned a stretch at a time', () => {
  const docs = syntheticCorpus(600_000, pupils, 5);
  const text = Buffer.concat(docs.flatMap((d) => [d.text, Buffer.from('\r\n\r\n')]));

  it('finds exactly what the whole scan finds: letters, reports, class lists and newsletters (bytes and a string)', () => {
    const { findings, went } = compare(text);
    expect(went.stretched).toBe(1);
    expect(findings.length).toBeGreaterThan(5000);
    const kinds = new Set(findings.map((d) => d.detector));
    for (const k of ['pupil-name', 'uk-upn', 'date-of-birth', 'special-health']) expect(kinds).toContain(k);
    // Single name words reported once each, counting occurrences in many stretches.
    expect(findings.some((d) => (d.occurrences ?? 0) > 20 && d.mentions!.at(-1)! - d.mentions![0] > 100_000)).toBe(true);
    // A string: offsets in UTF-16 units (the corpus has accented names).
    const s = text.toString('utf8');
    expect(s.length).toBeLessThan(text.length);
    expect(compare(s).went.stretched).toBe(1);
    expect(compare(s, { staffNames: true }).went.stretched).toBe(1);
  });

  it('finds the same in random mixtures of names, identifiers, context words and odd characters', () => {
    const r = rng(11);
    const names = pupils.slice(0, 60).flatMap((p) => [`${p.legalForename} ${p.legalSurname}`, p.legalForename, p.legalSurname.toUpperCase(), `${p.legalSurname}, ${p.legalForename}`]);
    const bits = [
      ...names,
      ...pupils.slice(0, 30).flatMap((p) => [p.upn, p.dob.split('-').reverse().join('/'), `UPN: ${p.upn}`]),
      'date of birth', 'DOB', 'born', 'tel', 'NHS', '943 476 5919', 'AB 12 34 56 C', 'SW1A 1AA', 'sort code 12-03-14', 'account 12345678',
      '0161 496 0000', 'asthma', 'EHCP', 'child protection', 'exclusion', 'password: Tr1cky!pass', 'Mr', 'Mrs', 'and', 'the', 'will', 'May',
      '12', '2014', '7C', '1 2 3', 'é', 'Ş', 'n\u200Bame', '\u00AD', '🙂', '\t', ',', '.', '\n', '\r\n', '\n\n',
    ];
    // Paragraphs of random bits between sentences without digits (where regions start afresh).
    const sentence = '\n\nThank you for your continued support this term; the office will be open as usual on the days listed on the website.\n\n';
    let compared = 0;
    let stretched = 0;
    for (let t = 0; t < 6; t++) {
      const parts: string[] = [];
      let size = 0;
      while (size < 150_000) {
        const words = 5 + Math.floor(r() * 60);
        for (let w = 0; w < words; w++) {
          const b = pick(r, bits);
          parts.push(b, r() < 0.2 ? '\n' : ' ');
          size += b.length + 1;
        }
        parts.push(sentence);
        size += sentence.length;
      }
      const s = parts.join('');
      const { findings, went } = compare(Buffer.from(s));
      compared += findings.length;
      stretched += went.stretched;
      compare(s);
    }
    expect(stretched).toBe(6);
    expect(compared).toBeGreaterThan(10_000);
  });

  // A note on each pupil, each with a date (words with digits further apart than a region joins).
  const notes = (dates: boolean) =>
    pupils.slice(0, 300).map((p) => `${p.legalForename} ${p.legalSurname} (${dates ? p.dob.split('-').reverse().join('/') : 'no date given'}) has settled well into the new class this term and is making good progress.`);

  it('a context word at the top reaches the dates of birth far below it', () => {
    const text = 'Dates of birth are given beside each name.\n\n' + Array.from({ length: 4 }, () => notes(true).join('\n\n')).join('\n\n') + '\n';
    const { findings, went } = compare(text);
    expect(went).toEqual({ stretched: 1, again: 0, whole: 0 });
    const dates = findings.filter((d) => d.detector === 'date-of-birth');
    expect(dates.length).toBe(1200);
    expect(dates.at(-1)!.start).toBeGreaterThan(100_000);
  });

  it('a context word only at the end: the stretches that went without it are read again', () => {
    const text = Array.from({ length: 8 }, () => notes(true).join('\n\n')).join('\n\n') + "\n\nThe dates above are each pupil's date of birth.\n";
    const { findings, went } = compare(text);
    expect(went.stretched).toBe(1);
    expect(went.again).toBeGreaterThan(6);
    expect(findings.filter((d) => d.detector === 'date-of-birth').length).toBe(2400);
    // Without it, none.
    const without = compare(text.replace('date of birth', 'start date'));
    expect(without.went).toEqual({ stretched: 1, again: 0, whole: 0 });
    expect(without.findings.filter((d) => d.detector === 'date-of-birth')).toEqual([]);
  });

  it('a list of nothing but names, or a class list, longer than a margin is scanned whole', () => {
    // Name runs chain across line breaks (each read greedily from where its run starts), and
    // words with digits closer than 96 bytes share a region: neither starts afresh anywhere.
    const names = pupils.map((p) => `${p.legalForename} ${p.legalSurname}`).join('\n');
    const onlyNames = Array.from({ length: 12 }, () => names).join('\n');
    expect(onlyNames.length).toBeGreaterThan(40_000);
    expect(compare(onlyNames).went).toEqual({ stretched: 0, again: 0, whole: 1 });
    const rows = pupils.map((p) => `${p.legalSurname},${p.legalForename},${p.upn},${p.dob.split('-').reverse().join('/')},${p.year},${p.form}`);
    const classList = 'Surname,Forename,UPN,DOB,Year,Form\n' + Array.from({ length: 6 }, () => rows.join('\n')).join('\n');
    const { findings, went } = compare(classList);
    expect(went).toEqual({ stretched: 0, again: 0, whole: 1 });
    expect(findings.filter((d) => d.detector === 'uk-upn').length).toBe(2400);
  });

  // A second review's case: RE2 reads a chain of joined keyword windows one match after another
  // from its start ("password is password" pairs the words), so where the chain starts decides
  // which words pair up; a chain from before a stretch into its own part is read whole.
  it('a chain of keyword windows longer than a margin is scanned whole', () => {
    const filler = 'Thank you for your continued support this term; the office will be open as usual.\n\n';
    for (const pad of [0, 1, 3, 7, 12]) {
      const text = filler.repeat(100) + 'x'.repeat(pad) + ' ' + 'password is '.repeat(6000) + filler.repeat(100);
      const { findings, went } = compare(text);
      expect(went, String(pad)).toEqual({ stretched: 0, again: 0, whole: 1 });
      expect(findings.length).toBeGreaterThan(1000);
    }
    // Short ones, well inside a margin, leave the text in stretches.
    const short = Array.from({ length: 60 }, () => filler.repeat(30) + 'password is '.repeat(20)).join('');
    expect(compare(short).went).toEqual({ stretched: 1, again: 0, whole: 0 });
  });

  it('by default, texts from 2 MB are scanned in stretches of 512 KB', () => {
    const set = compileDetectors({ roster });
    const big = Buffer.concat(Array.from({ length: Math.ceil(2.2e6 / text.length) }, () => text));
    const before = { ...stretchCounts };
    const a = plain(set.scan(big, 'body'));
    expect(stretchCounts.stretched - before.stretched).toBe(1);
    expect(a).toEqual(plain(whole.scan(big, 'body')));
    const under = text.subarray(0, 1_900_000);
    set.scan(under, 'body');
    expect(stretchCounts.stretched - before.stretched).toBe(1);
  });
});
