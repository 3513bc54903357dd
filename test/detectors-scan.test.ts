// DetectorSet.scan as the policy sees it: spans, redacted evidence, special-category proximity,
// the password span, offsets in strings with accents, webmail domains.
import { describe, it, expect } from 'vitest';
import { compileDetectors, redactName, type Detection } from '../src/detect/index.ts';
import { toUtf16Offsets } from '../src/detect/order.ts';
import { Utf8Offsets } from '../src/detect/utf16.ts';
import { Utf8Text } from '../src/inspect/utf8-text.ts';
import { loadWebmailDomains, isWebmailAddress } from '../src/decide/recipients.ts';
import { makeRoster } from '../src/roster/index.ts';
import type { Pupil } from '../src/roster/types.ts';

function roster(...names: Array<[string, string, Partial<Pupil>?]>) {
  return makeRoster(names.map(([f, s, extra], i) => ({ id: `row-${i + 2}`, line: i + 2, contacts: [], legalForename: f, legalSurname: s, ...extra })));
}

const set = compileDetectors({ roster: roster(['Zoë', 'Okafor'], ['Jack', 'Hill'], ['Amelia', 'Brennan']), staff: [{ forename: 'Helen', surname: 'Brennan' }] });

describe('special-category vocabulary', () => {
  it('is not reported in a newsletter or policy with no pupil near it', () => {
    const text =
      'Safeguarding is everyone\'s business. Our child protection policy, SEN information report and ' +
      'pupil premium strategy are on the website. Free school meals applications close on Friday.';
    expect(set.scan(text, 'body').filter((d) => d.category === 'special-category')).toEqual([]);
  });
  it('is reported near a pupil name, saying what it is near', () => {
    const found = set.scan('Zoë Okafor has an EHCP and receives free school meals.', 'body');
    const special = found.filter((d) => d.category === 'special-category');
    expect(special.map((d) => d.detector).sort()).toEqual(['special-disadvantage', 'special-send']);
    for (const d of special) {
      expect(d.near).toMatchObject({ detector: 'pupil-name', kind: 'pupil-name', strength: 'strong' });
      expect(d.strength).toBe('strong');
    }
  });
  it('is weak near a forename alone', () => {
    const [d] = set.scan('I am worried about Zoë: she has asthma.', 'body').filter((x) => x.category === 'special-category');
    expect(d).toMatchObject({ detector: 'special-health', strength: 'weak', near: { kind: 'pupil-name-part' } });
  });
  it('is reported near an identifier or a date of birth', () => {
    const byUpn = set.scan('E873400112001 – looked after child, PEP due', 'body').filter((x) => x.category === 'special-category');
    expect(byUpn[0]).toMatchObject({ detector: 'special-safeguarding', near: { kind: 'identifier', detector: 'uk-upn' } });
    const byDob = set.scan('DOB 12/03/2014. Diagnosed with epilepsy.', 'body').filter((x) => x.category === 'special-category');
    expect(byDob[0]).toMatchObject({ detector: 'special-health', near: { kind: 'date-of-birth' } });
  });
  it('is not reported when the pupil is mentioned far away', () => {
    const text = 'Zoë Okafor won the poetry prize. ' + 'The weather was lovely all week. '.repeat(20) + 'Our SEN policy is under review.';
    expect(set.scan(text, 'body').filter((x) => x.category === 'special-category')).toEqual([]);
  });
});

describe('dates where only another part of the text speaks of birth', () => {
  /** A date `days` before today, as dd/mm/yyyy. */
  const daysAgo = (days: number) => {
    const d = new Date(Date.now() - days * 86_400_000);
    return `${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${d.getUTCFullYear()}`;
  };
  const letter = (date: string) =>
    "The outdoor centre celebrates its 50th birthday this year, and we are proud to be part of it. Please return the consent slips to the office. The visit for Year 5 is on " +
    `${date}; bring a packed lunch and a waterproof coat.`;
  const dates = (text: string) => set.scan(text, 'body').filter((d) => d.detector === 'date-of-birth');

  it('are events, not birthdays, when they fall in the last two years', () => {
    expect(dates(letter(daysAgo(60)))).toEqual([]);
    expect(dates(letter(daysAgo(400)))).toEqual([]);
  });

  it('are still weak dates of birth when they are old enough to be a pupil\u2019s', () => {
    expect(dates(letter(daysAgo(365 * 6)))).toMatchObject([{ strength: 'weak' }]);
  });

  it('next to "born" they are dates of birth, however recent', () => {
    expect(dates(`Baby Noah was born on ${daysAgo(30)}, congratulations to Mrs Hill!`)).toMatchObject([{ strength: 'strong' }]);
  });
});

describe('password in text', () => {
  it('reports the span of the password itself, redacted', () => {
    const text = 'Report attached (encrypted). The password is Tr33house! – please do not share it.';
    const [d] = set.scan(text, 'body').filter((x) => x.detector === 'password-in-text');
    expect(text.slice(d.start, d.end)).toBe('Tr33house!');
    expect(d.evidence).toBe('**********');
    expect(d.evidence).not.toContain('Tr33');
    expect(d.category).toBe('password');
  });
  it.each(['password: hunter22', 'pw - Blue.Kettle.42', 'PASSWORD = s3cr3t', 'The pin is 4821'])('finds %j', (text) => {
    expect(set.scan(text, 'body').some((x) => x.detector === 'password-in-text')).toBe(true);
  });
});

describe('spans and evidence', () => {
  it('gives UTF-16 indices for string input and byte offsets for a Buffer', () => {
    const text = 'Café note: Zoë Okafor (Year 6)';
    const [s] = set.scan(text, 'body').filter((d) => d.strength === 'strong');
    expect(text.slice(s.start, s.end)).toBe('Zoë Okafor');
    const buf = Buffer.from(text);
    const [b] = set.scan(buf, 'body').filter((d) => d.strength === 'strong');
    expect(buf.subarray(b.start, b.end).toString()).toBe('Zoë Okafor');
    expect(b.start).toBe(s.start + 1); // "é" is two bytes in UTF-8, one UTF-16 unit
    expect(s.evidence).toBe('Z** O*****');
    expect(s.pupilIds).toEqual(['row-2']);
  });
  it('never puts the raw value in evidence or reason', () => {
    const text = 'Jack Hill E873400112001 DOB 01/09/2013 NHS 943 476 5919 NI AB123456C mobile 07700 900123 password: Zebra99';
    const found = set.scan(text, 'body');
    expect(found.length).toBeGreaterThanOrEqual(7);
    for (const d of found) {
      for (const secret of ['Jack Hill', 'E873400112001', '01/09/2013', '943 476 5919', 'AB123456C', '07700 900123', 'Zebra99']) {
        expect(d.evidence).not.toContain(secret);
        expect(d.reason).not.toContain(secret);
      }
    }
  });
  it('carries its evidence and reason into JSON, and shows no raw value when printed or logged', async () => {
    const { inspect } = await import('node:util');
    const found = set.scan('Jack Hill E873400112001 DOB 01/09/2013', 'body');
    const json = JSON.parse(JSON.stringify(found)) as Array<Record<string, unknown>>;
    expect(json.map((d) => [d.detector, d.evidence])).toEqual(found.map((d) => [d.detector, d.evidence]));
    expect(json.find((d) => d.detector === 'uk-upn')).toMatchObject({ evidence: 'E8734********', reason: expect.stringMatching(/Unique Pupil Number/) });
    expect(json.find((d) => d.detector === 'pupil-name')).toMatchObject({ evidence: 'J*** H***', start: 0, end: 9, pupilIds: ['row-3'] });
    const printed = inspect(found, { depth: 5, showHidden: true }) + JSON.stringify(found);
    for (const secret of ['Jack Hill', 'E873400112001', '01/09/2013']) expect(printed).not.toContain(secret);
  });
  it('keeps its findings when the Buffer it was given is reused afterwards', () => {
    const buf = Buffer.from('Jack Hill E873400112001 DOB 01/09/2013');
    const found = set.scan(buf, 'body');
    buf.fill(0x58); // the caller reuses its buffer: XXXX…
    expect(found.map((d) => d.evidence)).toEqual(['J*** H***', 'E8734********', '**/**/****']);
    expect(found.find((d) => d.detector === 'uk-upn')!.reason).toMatch(/^A Unique Pupil Number/);
  });
  it('reports a single forename once per text, with how often it occurs', () => {
    const found = set.scan('Well done Zoë! Zoë was brilliant, and Zoë helped others.', 'body').filter((d) => d.detector === 'pupil-name');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ strength: 'weak', occurrences: 3, nameForm: 'forename' });
  });
  it('excludes staff: a name shared with a pupil is weak, a staff-only name is nothing', () => {
    const staffOnly = set.scan('Please ask Helen Brennan.', 'body').filter((d) => d.detector === 'pupil-name' && d.strength === 'strong');
    expect(staffOnly).toEqual([]);
    const both = compileDetectors({ roster: roster(['Helen', 'Brennan']), staff: [{ forename: 'Helen', surname: 'Brennan' }] });
    const [d] = both.scan('Helen Brennan', 'body');
    expect(d).toMatchObject({ strength: 'weak', pupilIds: ['row-2'] });
    expect(d.reason).toMatch(/member of staff/);
  });
  it('works without a roster (identifiers only) and on empty text', () => {
    const bare = compileDetectors({});
    expect(bare.scan('', 'body')).toEqual([]);
    expect(bare.scan('Jack Hill E873400112001', 'body').map((d) => d.detector)).toEqual(['uk-upn']);
    expect(bare.version).not.toBe(set.version);
  });
});

describe('byte offsets to UTF-16 indices and back (toUtf16Offsets, Utf8Offsets, Utf8Text)', () => {
  it('maps every character boundary exactly, across 4 KB block edges and 4-byte characters, mentions too', () => {
    const pieces = ['a', ' ', 'é', '’', '😀', 'Zoë', '\n', 'x'.repeat(50)];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    // Dense (every few characters), then sparse as in English prose (a quote or an accent every few
    // hundred bytes, landing on every kind of edge of the halves a 4 KB block is cleared in).
    let round = 0;
    // Last: a final block with its one accent in its first half and a part cut short at its end.
    for (const [length, sparse] of [[100, false], [4090, false], [4100, false], [8192, false], [14_000, false], [30_000, true], [8300, true], [0, true]] as const) {
      let text = length ? '' : `${'x'.repeat(8192)}é${'x'.repeat(1400)}`;
      while (Buffer.byteLength(text) < length) text += sparse && random() < 0.97 ? 'x'.repeat(1 + Math.floor(random() * 40)) : pieces[Math.floor(random() * pieces.length)];
      // Straddle the first block edge with a 4-byte character on some rounds.
      if (length === 4100) text = 'x'.repeat(4094) + '😀' + text;
      // Read four bytes at a time when aligned for it, one at a time when not: both ways in turn.
      const aligned = Buffer.from(text, 'utf8');
      const buf = round++ % 2 ? Buffer.concat([Buffer.from('#'), aligned]).subarray(1) : aligned;
      // Every boundary between characters, as a byte offset and as a UTF-16 index.
      const bytes: number[] = [];
      const units: number[] = [];
      for (let i = 0, b = 0; i <= text.length; ) {
        bytes.push(b);
        units.push(i);
        if (i === text.length) break;
        const cp = text.codePointAt(i)!;
        b += Buffer.byteLength(String.fromCodePoint(cp));
        i += cp > 0xffff ? 2 : 1;
      }
      const ds = bytes.slice(0, -1).map((b, k) => ({ start: b, end: bytes[k + 1], mentions: [b, bytes[bytes.length - 1]] })) as unknown as Detection[];
      toUtf16Offsets(buf, ds);
      ds.forEach((d, k) => {
        expect([d.start, d.end], `${length} #${k}`).toEqual([units[k], units[k + 1]]);
        expect(d.mentions).toEqual([units[k], text.length]);
      });
      // And back: every boundary's UTF-16 index to its byte offset; inside a surrogate pair, the character's start.
      const offsets = new Utf8Offsets(buf);
      expect(offsets.length).toBe(text.length);
      units.forEach((u, k) => expect(offsets.toUtf8(u), `${length} back #${k}`).toBe(bytes[k]));
      for (let k = 0; k + 1 < units.length; k++) if (units[k + 1] - units[k] === 2) expect(offsets.toUtf8(units[k] + 1)).toBe(bytes[k]);
      // A text read from the bytes by string index reads as the string does.
      const view = new Utf8Text(buf);
      expect(view.length).toBe(text.length);
      for (let r = 0; r < 300; r++) {
        const [a, b] = [units[Math.floor(random() * units.length)], units[Math.floor(random() * units.length)]].sort((x, y) => x - y);
        expect(view.slice(a, b), `slice ${a} ${b}`).toBe(text.slice(a, b));
        expect(view.indexOf('\n', a), `indexOf ${a}`).toBe(text.indexOf('\n', a));
        expect(view.lastIndexOf('\n', b), `lastIndexOf ${b}`).toBe(text.lastIndexOf('\n', b));
        expect(view.indexOf('Zoë', a)).toBe(text.indexOf('Zoë', a));
        expect(view.lastIndexOf('😀', b)).toBe(text.lastIndexOf('😀', b));
      }
      expect(view.slice(-7)).toBe(text.slice(-7));
      expect(view.slice(-7, -2)).toBe(text.slice(-7, -2));
      expect(view.slice(5, 2)).toBe('');
      expect(view.lastIndexOf('\n')).toBe(text.lastIndexOf('\n'));
      expect(view.slice()).toBe(text);
      expect(view.toString()).toBe(text);
      expect(view.slice(1, 9)).toBe(text.slice(1, 9)); // from the built string, once there is one
    }
  });
});

describe('redactName', () => {
  it('matches the contract example', () => {
    expect(redactName('Jane Smith')).toBe('J*** S****');
  });
});

describe('webmail domains', () => {
  const domains = loadWebmailDomains(['@School-Parents.example', 'mail.example.']);
  it('reads the shipped list', () => {
    for (const d of ['gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.co.uk', 'live.co.uk', 'yahoo.co.uk', 'icloud.com', 'me.com', 'aol.com', 'btinternet.com', 'sky.com', 'virginmedia.com', 'talktalk.net', 'proton.me', 'protonmail.com', 'gmx.com']) {
      expect(domains.has(d), d).toBe(true);
    }
    expect([...domains].every((d) => !d.includes('#') && d === d.trim() && d === d.toLowerCase())).toBe(true);
  });
  it('adds the school’s own, normalised', () => {
    expect(domains.has('school-parents.example')).toBe(true);
    expect(domains.has('mail.example')).toBe(true);
  });
  it('matches addresses and subdomains, not look-alikes', () => {
    expect(isWebmailAddress('Parent@GMAIL.com', domains)).toBe(true);
    expect(isWebmailAddress('x@mail.yahoo.com', domains)).toBe(true);
    expect(isWebmailAddress('head@school.sch.uk', domains)).toBe(false);
    expect(isWebmailAddress('x@notgmail.com', domains)).toBe(false);
  });
});

describe('hostile input', () => {
  // Deterministic pseudo-random bytes: invalid UTF-8, NULs, long runs, apostrophes, digits.
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const alphabet = Buffer.from("Zoë Okafor Jack Hill E873400112001 12/03/2014 DOB password: x ’'-,.\r\n\t\u0000\u00ff😀");
  it('never throws, and every span lies inside the text', () => {
    for (let k = 0; k < 300; k++) {
      const len = Math.floor(rand() * 4000);
      const buf = Buffer.alloc(len);
      for (let i = 0; i < len; i++) buf[i] = rand() < 0.5 ? Math.floor(rand() * 256) : alphabet[Math.floor(rand() * alphabet.length)];
      const found = set.scan(buf, 'attachment:fuzz.bin');
      for (const d of found) {
        expect(d.start).toBeGreaterThanOrEqual(0);
        expect(d.end).toBeGreaterThan(d.start);
        expect(d.end).toBeLessThanOrEqual(len);
      }
    }
  });
  it('handles very long words and lines without slowing to a crawl', () => {
    const text = 'a'.repeat(200_000) + ' ' + '9'.repeat(100_000) + ' Zoë Okafor ' + "'".repeat(50_000);
    const found = set.scan(text, 'body');
    expect(found.filter((d) => d.strength === 'strong')).toHaveLength(1);
  });
  it('keeps UTF-16 offsets right after emoji (4-byte UTF-8)', () => {
    const text = '😀😀 Zoë Okafor 😀';
    const [d] = set.scan(text, 'body');
    expect(text.slice(d.start, d.end)).toBe('Zoë Okafor');
  });
});
