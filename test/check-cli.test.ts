// `hallmonitor check` driven the way an IT lead would: the real executable, real files, stdin.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROSTER = path.join(ROOT, 'test/fixtures/check/roster.csv');
const BIN = path.join(ROOT, 'bin/hallmonitor.js');

function run(args: string[], input?: Buffer | string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function eml(opts: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> {
  return new MailComposer({ date: new Date('2026-11-20T10:00:00Z'), ...opts }).compile().build();
}

let dir: string;
let files: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hm-check-'));
  mkdirSync(path.join(dir, 'folder'));
  const messages: Record<string, Buffer> = {
    'clean.eml': await eml({ from: 'office@oakfield.sch.uk', to: 'bookings@coaches.example', subject: 'Coach for 5 December', text: 'Please confirm the coach for our Year 5 trip. Thank you.' }),
    'subject.eml': await eml({ from: 'teacher@oakfield.sch.uk', to: 'tutor@learning.example', subject: 'Progress notes for Amelia Thornbury', text: 'Notes attached soon.' }),
    'common-word.eml': await eml({ from: 'teacher@oakfield.sch.uk', to: 'tutor@learning.example', subject: 'Grace period for homework', text: 'A week more.' }),
    'forward.eml': await eml({ from: 'jane.smith@oakfield.sch.uk', to: 'janesmith84@gmail.com', subject: 'Fwd: SLT minutes', text: '---------- Forwarded message ---------\nFrom: Head\nMinutes attached.' }),
  };
  files = {};
  for (const [name, raw] of Object.entries(messages)) {
    files[name] = path.join(dir, 'folder', name);
    writeFileSync(files[name], raw);
  }
  // Outside the folder the folder tests walk.
  files['attached.eml'] = path.join(dir, 'attached.eml');
  writeFileSync(files['attached.eml'], await eml({ from: 'teacher@oakfield.sch.uk', to: 'tutor@learning.example', subject: 'Reports', text: 'Report attached.', attachments: [{ filename: 'Chidi Okonkwo report.txt', content: 'Chidi Okonkwo, DOB 02/11/2014, has asthma and an EHCP.\n' }] }));
  writeFileSync(path.join(dir, 'monitor.yaml'), 'school:\n  domains: [oakfield.sch.uk]\npolicy:\n  mode: monitor\n');
  writeFileSync(path.join(dir, 'bad.yaml'), 'policy:\n  rules:\n    pupil-name-in-subject:\n      action: hold\n');
});

const base = () => ['check', '--roster', ROSTER, '--school-domain', 'oakfield.sch.uk'];

describe('hallmonitor check', () => {
  it('prints the verdict, each rule and the redacted evidence for a human', () => {
    const r = run([...base(), files['subject.eml']]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/subject\.eml: BLOCK/);
    expect(r.out).toMatch(/pupil-name-in-subject: A pupil's name in the subject line/);
    expect(r.out).toMatch(/A\*{5} T\*{8}/);
    expect(r.out).not.toMatch(/Amelia|Thornbury/);
  });

  it('masks a file named after a pupil wherever it is printed: the place and the reason, text and --json', () => {
    const text = run([...base(), files['attached.eml']]);
    expect(text.out).toMatch(/attached\.eml: BLOCK/);
    expect(text.out).toContain('C**** O****** r*****.txt');
    expect(text.out).not.toMatch(/Chidi|Okonkwo/);
    const json = run([...base(), '--json', files['attached.eml']]);
    expect(JSON.parse(json.out).findings.map((f: { where: string }) => f.where)).toContain('attachment:C**** O****** r*****.txt');
    expect(json.out).not.toMatch(/Chidi|Okonkwo/);
  });

  it('--json: exactly one object per file per line, with the contract fields', () => {
    const r = run([...base(), '--json', files['clean.eml'], files['subject.eml'], files['forward.eml'], files['common-word.eml']]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(expect.arrayContaining(['file', 'action', 'rules', 'findings', 'ms']));
      expect(['deliver', 'quarantine', 'block']).toContain(l.action);
      expect(typeof l.ms).toBe('number');
      for (const f of l.findings) expect(Object.keys(f)).toEqual(expect.arrayContaining(['rule', 'detector', 'where', 'evidence']));
    }
    expect(lines.map((l) => [path.basename(l.file), l.action, l.rules])).toEqual([
      ['clean.eml', 'deliver', []],
      ['subject.eml', 'block', ['pupil-name-in-subject']],
      ['forward.eml', 'quarantine', ['forward-to-personal-domain']],
      ['common-word.eml', 'deliver', []],
    ]);
    expect(r.out).not.toMatch(/Amelia|Thornbury/);
  });

  it('walks directories and reads one message from stdin', () => {
    const walked = run([...base(), '--json', path.join(dir, 'folder')]);
    expect(walked.out.trim().split('\n').map((l) => path.basename(JSON.parse(l).file))).toEqual(['clean.eml', 'common-word.eml', 'forward.eml', 'subject.eml']);
    const stdin = run([...base(), '--json', '-'], readFileSync(files['subject.eml']));
    expect(JSON.parse(stdin.out)).toMatchObject({ file: '-', action: 'block' });
  });

  it('--from/--to override the headers', () => {
    const r = run([...base(), '--json', '--to', 'head@oakfield.sch.uk', files['subject.eml']]);
    expect(JSON.parse(r.out)).toMatchObject({ action: 'deliver', rules: [] }); // internal mail
  });

  it('--staff: a member of staff who shares a pupil\'s name is not read as the pupil', () => {
    const staff = path.join(dir, 'staff.csv');
    writeFileSync(staff, 'Forename,Surname\nAmelia,Thornbury\n');
    expect(JSON.parse(run([...base(), '--json', files['subject.eml']]).out)).toMatchObject({ action: 'block' });
    expect(JSON.parse(run([...base(), '--staff', staff, '--json', files['subject.eml']]).out)).toMatchObject({ action: 'deliver', rules: [] });
  });

  it('monitor mode delivers and says what would have happened', () => {
    const r = run(['check', '--config', path.join(dir, 'monitor.yaml'), '--roster', ROSTER, '--json', files['subject.eml']]);
    expect(JSON.parse(r.out)).toMatchObject({ action: 'deliver', wouldHaveBeen: 'block', rules: ['pupil-name-in-subject'] });
  });

  it('exit codes: verdicts never fail it; unreadable files, usage and config errors do', () => {
    const missing = run([...base(), '--json', files['clean.eml'], path.join(dir, 'nope.eml')]);
    expect(missing.code).toBe(1);
    const lines = missing.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[1]).toMatchObject({ file: path.join(dir, 'nope.eml'), error: 'cannot read: ENOENT' });
    const usage = run(['check', '--no-such-flag', files['clean.eml']]);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/unknown option/);
    const noFiles = run(['check']);
    expect(noFiles.code).toBe(2);
    const badConfig = run(['check', '--config', path.join(dir, 'bad.yaml'), files['clean.eml']]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.err).toMatch(/policy\.rules\.pupil-name-in-subject\.action: expected one of deliver, quarantine, block/);
    const badRoster = run(['check', '--roster', path.join(dir, 'monitor.yaml'), files['clean.eml']]);
    expect(badRoster.code).toBe(2);
  });

  it('a folder: each message with its sender and (redacted) subject, then one summary line', () => {
    const r = run([...base(), path.join(dir, 'folder')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('from office@oakfield.sch.uk, subject "Coach for 5 December"');
    expect(r.out).toMatch(/from teacher@oakfield\.sch\.uk, subject "Progress notes for A\*{5} T\*{8}"/);
    expect(r.out).not.toMatch(/Amelia|Thornbury/);
    const last = r.out.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^4 messages: 2 delivered, 1 quarantined, 1 blocked; by rule: forward-to-personal-domain 1, pupil-name-in-subject 1; \d+\.\d s$/);
    // --json keeps one object per line, no summary
    const json = run([...base(), '--json', path.join(dir, 'folder')]);
    for (const l of json.out.trim().split('\n')) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('--quiet prints only what would be held or blocked, and the summary', () => {
    const r = run([...base(), '--quiet', path.join(dir, 'folder')]);
    expect(r.out).not.toContain('clean.eml');
    expect(r.out).not.toContain('common-word.eml');
    expect(r.out).toMatch(/forward\.eml: QUARANTINE/);
    expect(r.out).toMatch(/subject\.eml: BLOCK/);
    expect(r.out.trim().split('\n').at(-1)).toMatch(/^4 messages: 2 delivered/);
  });

  it('--exit-code: 0 when all are delivered, 1 when any would be held or blocked (monitor mode too), 2 on an error', () => {
    expect(run([...base(), '--exit-code', files['clean.eml'], files['common-word.eml']]).code).toBe(0);
    expect(run([...base(), '--exit-code', path.join(dir, 'folder')]).code).toBe(1);
    expect(run(['check', '--config', path.join(dir, 'monitor.yaml'), '--roster', ROSTER, '--exit-code', files['subject.eml']]).code).toBe(1);
    expect(run([...base(), '--exit-code', files['clean.eml'], path.join(dir, 'nope.eml')]).code).toBe(2);
  });

  it('--help documents the command', () => {
    const r = run(['check', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--school-domain/);
  });
});
