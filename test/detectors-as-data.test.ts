// Detectors a school adds without code: a YAML document under `detectors:` in its configuration,
// proved by its own examples, refused with the detector and the example named when one is wrong,
// listed with its origin, and counted by the identifier rule. The worked example of a local
// authority case reference (config/detectors.example.yaml) is run as the README says.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTORS } from '../detectors/index.ts';
import { CHECKSUMS, detectorFromDocument } from '../detectors/library/document.ts';
import { ConfigError, loadConfig } from '../src/config/index.ts';
import { loadPolicy } from '../src/decide/index.ts';
import { exampleFailures, exampleSet } from '../src/detect/examples.ts';
import { createExaminer } from '../src/examine.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/hallmonitor.js');
const WORKED = path.join(ROOT, 'config/detectors.example.yaml');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const caseRef = {
  id: 'la-case-reference',
  description: "A children's services case reference from the county's case system",
  category: 'identifier',
  patterns: ['\\bCSC-[0-9]{7}\\b'],
  context: { words: ['case', 'referral'], before: 60, after: 20 },
  score: { base: 0.7, context: 0.3 },
  examples: { match: ['Referral under case CSC-1234567 was accepted'], no_match: ['CSC-123', 'XCSC-1234567'] },
};

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hm-detectors-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, doc: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(file, stringify(doc));
  return file;
}

describe('a detector document', () => {
  it('becomes a detector that finds what its examples say, scored as declared', () => {
    const problems: string[] = [];
    const d = detectorFromDocument(caseRef, { origin: 'test', path: 'detectors[0]' }, problems)!;
    expect(problems).toEqual([]);
    const set = exampleSet([...DETECTORS, d]);
    const near = set.scan('Please see case CSC-7654321 today.', 'body').find((x) => x.detector === d.id)!;
    expect(near).toMatchObject({ strength: 'strong', score: 1, category: 'identifier' });
    expect(near.evidence).toBe('CSC-7******'); // redact: identifier, keeping 4 letters and digits
    expect(near.reason).toBe(caseRef.description);
    const alone = set.scan('Ref CSC-7654321.', 'body').find((x) => x.detector === d.id)!;
    expect(alone).toMatchObject({ strength: 'strong', score: 0.7 });
    expect(exampleFailures([...DETECTORS, d], [d])).toEqual([]);
  });

  it('reports every problem with its key path', () => {
    const problems: string[] = [];
    const d = detectorFromDocument(
      {
        id: 'Bad Id',
        description: 'x',
        patterns: ['(?<=CSC-)[0-9]{7}', '(a)\\1'],
        checksum: 'crc32',
        redact: 'stars',
        colour: 'blue',
        score: { base: 2 },
        examples: { match: [], no_match: ['x'] },
      },
      { origin: 'test', path: 'detectors[3]' },
      problems,
    );
    expect(d).toBeUndefined();
    const text = problems.join('\n');
    expect(text).toMatch(/detectors\[3\]\.id: "Bad Id" must be lower-case words/);
    expect(text).toMatch(/detectors\[3\]\.patterns\[0\]: does not compile with RE2/);
    expect(text).toMatch(/detectors\[3\]\.patterns\[1\]: does not compile with RE2/);
    expect(text).toMatch(/detectors\[3\]\.checksum: "crc32" is not one of upn-mod23, uln-mod11, mod11, ni-number, luhn, mod97/);
    expect(text).toMatch(/detectors\[3\]\.redact: expected one of identifier, all, name, term/);
    expect(text).toMatch(/detectors\[3\]\.colour: unknown key/);
    expect(text).toMatch(/detectors\[3\]\.score\.base: expected a number from 0 to 1/);
    expect(text).toMatch(/detectors\[3\]\.examples\.match: needs at least one text/);
  });

  it('checksums by name', () => {
    expect(CHECKSUMS.luhn('4111 1111 1111 1111')).toBe(true);
    expect(CHECKSUMS.luhn('4111 1111 1111 1112')).toBe(false);
    expect(CHECKSUMS.mod97('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(CHECKSUMS.mod97('GB82 WEST 1234 5698 7654 33')).toBe(false);
    expect(CHECKSUMS.mod11('943 476 5919')).toBe(true);
    expect(CHECKSUMS['ni-number']('AB 12 34 56 C')).toBe(true);
  });

  it('a vocabulary document: the shipped word lists are these', () => {
    const send = DETECTORS.find((d) => d.id === 'special-send')!;
    expect(send.origin).toBe('shipped');
    const problems: string[] = [];
    const own = detectorFromDocument(
      {
        id: 'cpoms-categories',
        description: 'CPOMS incident categories next to a pupil',
        category: 'special-category',
        topic: 'a safeguarding incident category',
        vocabulary: { terms: ['online safety concern', 'peer on peer abuse'], acronyms: ['PoP'] },
        examples: { match: [{ text: 'Jack Hill – peer on peer abuse logged', strength: 'strong' }], no_match: ['Our online safety concern form is on the website.'] },
      },
      { origin: 'test', path: 'detectors[0]' },
      problems,
    );
    expect(problems).toEqual([]);
    expect(exampleFailures([...DETECTORS, own!], [own!])).toEqual([]);
  });

  it('a vocabulary\u2019s `not` phrases hold a term without being it, and are never reported', () => {
    const problems: string[] = [];
    const doc = (not?: string[]) =>
      detectorFromDocument(
        {
          id: 'vetting-or-disclosure',
          description: 'A child\u2019s disclosure next to a pupil',
          category: 'special-category',
          topic: 'a disclosure',
          vocabulary: { terms: ['disclosure'], ...(not ? { not } : {}) },
          examples: { match: [{ text: 'Disclosure - Jack Hill told me at lunch.', strength: 'strong' }], no_match: ['Mr Hill (Jack Hill\u2019s dad) has an enhanced disclosure and a Disclosure Scotland check.'] },
        },
        { origin: 'test', path: 'detectors[0]' },
        problems,
      )!;
    expect(exampleFailures([...DETECTORS, doc(['enhanced disclosure', 'Disclosure Scotland'])], [doc(['enhanced disclosure', 'Disclosure Scotland'])])).toEqual([]);
    // Without them, the vetting check is read as a disclosure.
    expect(exampleFailures([...DETECTORS, doc()], [doc()]).length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });
});

describe('in the configuration', () => {
  it('the gateway refuses a detector whose example is wrong, naming it (loadConfig, config-check, serve)', () => {
    const wrong = { ...caseRef, examples: { match: caseRef.examples.match, no_match: ['CSC-1234567'] } };
    const file = configFile('wrong.yaml', { detectors: [wrong] });
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(file)).toThrow(/detectors\[0\] \(la-case-reference\): example must find nothing in "CSC-1234567", but found "CSC-1234567"/);
    const check = run(['config-check', file]);
    expect(check.code).toBe(2);
    expect(check.err).toMatch(/detectors\[0\] \(la-case-reference\)/);
    const serve = run(['serve', '--config', file, '--listen', '127.0.0.1:0', '--health', 'off']);
    expect(serve.code).toBe(2);
    expect(serve.err).toMatch(/detectors\[0\] \(la-case-reference\): example must find nothing/);
  });

  it('refuses an id a shipped detector already has', () => {
    const file = configFile('dup.yaml', { detectors: [{ ...caseRef, id: 'uk-upn' }] });
    expect(() => loadConfig(file)).toThrow(/duplicate detector id "uk-upn"/);
  });

  it('the examples of a pattern read only where enough digits stand together say how to fix it', () => {
    const short = { ...caseRef, id: 'cp-ref', patterns: ['\\bCP-[0-9]{4}\\b'], examples: { match: ['case CP-1234 opened'], no_match: ['CP-12'] } };
    expect(() => loadConfig(configFile('short.yaml', { detectors: [short] }))).toThrow(/set min_digits for a shorter reference/);
    expect(loadConfig(configFile('short-ok.yaml', { detectors: [{ ...short, min_digits: 4 }] })).detectors.map((d) => d.id)).toEqual(['cp-ref']);
  });
});

describe('the worked example (config/detectors.example.yaml)', () => {
  it('`detectors test` runs every example, the school’s included', () => {
    const r = run(['detectors', 'test', '--config', WORKED]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^ok {4}la-case-reference \(configuration .*detectors\.example\.yaml\): 2 must match, 3 must not$/m);
    expect(r.out).toMatch(/every example right/);
  });

  it('`detectors test` exits 1 at the first wrong example and names the detector', () => {
    const broken = readFileSync(WORKED, 'utf8').replace("'CSC-12345678'", "'CSC-1234567'");
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, broken);
    const r = run(['detectors', 'test', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^WRONG la-case-reference \(configuration .*broken\.yaml\): example must find nothing in "CSC-1234567"/m);
  });

  it('`detectors list` shows every detector with its origin', () => {
    const r = run(['detectors', 'list', '--json', '--config', WORKED]);
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as { id: string; origin: string; category: string });
    expect(rows).toHaveLength(DETECTORS.length + 1);
    expect(rows.find((x) => x.id === 'uk-upn')!.origin).toBe('shipped');
    expect(rows.find((x) => x.id === 'special-send')!.origin).toBe('shipped');
    expect(rows.at(-1)).toMatchObject({ id: 'la-case-reference', category: 'identifier' });
    expect(rows.at(-1)!.origin).toMatch(/^configuration .*detectors\.example\.yaml$/);
  });

  it('a message to an outside address with CSC-7654321 beside "case" is held under identifier-in-message, explained by the description', async () => {
    const config = loadConfig(WORKED);
    const examiner = await createExaminer({ policy: loadPolicy(config) });
    try {
      const raw = Buffer.from('From: sw@oakfield.sch.uk\r\nTo: team@agency.example\r\nSubject: Update\r\n\r\nPlease note the case CSC-7654321 has been reopened.\r\n');
      const { verdict } = await examiner.examine(raw, { mailFrom: 'sw@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address: 'team@agency.example' }] });
      expect(verdict.action).toBe('quarantine');
      expect(verdict.rules).toEqual(['identifier-in-message']);
      expect(verdict.findings[0]).toMatchObject({ detector: 'la-case-reference', evidence: 'CSC-76*****', reason: "A children's services case reference from the county's case system" });
    } finally {
      await examiner.close();
    }
  });
});

describe('a Scottish school’s pupil numbers (scottish-candidate-number)', () => {
  it('an SCN beside its name, sent outside, is held and explained; a nine-digit order number that fits the check digit is not', async () => {
    const examiner = await createExaminer({ policy: loadPolicy({ source: 't', school: { domains: ['oakfield.sch.uk'] }, policy: {} }) });
    const send = (body: string) =>
      examiner.examine(Buffer.from(`From: office@oakfield.sch.uk\r\nTo: parent@gmail.com\r\nSubject: Exams\r\n\r\n${body}\r\n`), { mailFrom: 'office@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address: 'parent@gmail.com' }] });
    try {
      const held = (await send('Her Scottish Candidate Number (SCN) is 123456785, for the SQA portal.')).verdict;
      expect(held.action).toBe('quarantine');
      expect(held.rules).toEqual(['identifier-in-message']);
      expect(held.findings[0]).toMatchObject({ detector: 'scottish-candidate-number', evidence: '12*******' });
      expect(held.findings[0].reason).toContain('Scottish Candidate Number');
      // A column of SCNs under its header: the rows far from the word are counted together.
      const rows = ['219876548', '140000019', '051234561'].map((n, i) => `Pupil ${i + 1} of the group entered for National 5 English this year, P7B,${' '.repeat(40)}${n}`);
      const column = (await send(`SCN list for the exam entries:\n\n${rows.join('\n')}`)).verdict;
      expect(column.rules).toEqual(['identifier-in-message']);
      for (const body of [
        'Your order 123456785 has been dispatched.',
        'Her SCN is 123456786.',
        'Candidate reference 123456785 for the teaching post.',
        'Scottish Charity No SC012345 | VAT No 200023757',
        'Please pay invoice 200023757 from Scottish Water.',
        'Bring your SCN to the exam on Thursday morning, please. The code for your locker this week is 200023757.',
      ]) {
        expect((await send(body)).verdict.action, body).toBe('deliver');
      }
    } finally {
      await examiner.close();
    }
  });
});

describe('a category of the school’s own', () => {
  const staffNumber = {
    id: 'trust-staff-number',
    description: "A member of staff's payroll number in the trust's HR system",
    category: 'staff-number',
    patterns: ['\\bHR[0-9]{6}\\b'],
    case_sensitive: true,
    checksum: 'luhn',
    examples: { match: ['Payroll number HR123455'], no_match: ['HR123456', 'hr123455'] },
  };
  const message = Buffer.from('From: hr@oakfield.sch.uk\r\nTo: payroll@bureau.example\r\nSubject: Starter\r\n\r\nNew starter, payroll number HR123455.\r\n');
  const envelope = { mailFrom: 'hr@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address: 'payroll@bureau.example' }] };

  it('is found, and holds mail only once the identifier rule is told to count it', async () => {
    const base = { detectors: [staffNumber] };
    const plain = loadConfig(configFile('staff.yaml', base));
    const counted = loadConfig(configFile('staff-counted.yaml', { ...base, policy: { rules: { 'identifier-in-message': { categories: ['identifier', 'staff-number'] } } } }));
    for (const [config, expected] of [[plain, 'deliver'], [counted, 'quarantine']] as const) {
      const examiner = await createExaminer({ policy: loadPolicy(config) });
      try {
        const { verdict } = await examiner.examine(message, envelope);
        expect(verdict.action).toBe(expected);
      } finally {
        await examiner.close();
      }
    }
  });
});

describe('the former rule name', () => {
  it('uk-identifier-in-message is still read as identifier-in-message; both at once is refused', () => {
    const old = loadPolicy({ source: 't', school: {}, policy: { rules: { 'uk-identifier-in-message': { min_identifiers: 3 } } } });
    expect(old.rules['identifier-in-message'].min_identifiers).toBe(3);
    expect(() => loadPolicy({ source: 't', school: {}, policy: { rules: { 'uk-identifier-in-message': {}, 'identifier-in-message': {} } } })).toThrow(/former name of identifier-in-message/);
  });
});
