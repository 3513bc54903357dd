// The labelled corpus (test/corpus) through the relay's exact examination: every message must
// fire exactly the rules on its label, so ordinary school mail is never held and every positive
// is. Precision and recall per rule are reported by bench/policy/run.ts, not asserted here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_IDS } from '../src/decide/index.ts';
import type { Examiner } from '../src/examine.ts';
import { buildCorpus, CORPUS_LABELS, type CorpusLabel } from './corpus/build.ts';
import { corpusExaminer, describeFindings, envelopeFor, sameRules, type CorpusResult } from './corpus/evaluate.ts';
import { corpusPupils, isValidUpn, ROSTER_PATH, rosterCsv } from './corpus/roster.ts';

let dir = '';
let built: CorpusLabel[] = [];
let examiner: Examiner | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hallmonitor-policy-corpus-'));
  built = await buildCorpus(dir);
  examiner = await corpusExaminer();
}, 300_000);

afterAll(async () => {
  await examiner?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function attachment(file: string, index = 0): Promise<Buffer> {
  const parsed = await simpleParser(readFileSync(path.join(dir, file)));
  const a = parsed.attachments[index];
  if (!a) throw new Error(`${file} has no attachment ${index}`);
  return a.content;
}

/** `qpdf --requires-password`: exit 0 = needs a password to open, 2 = not encrypted, 3 = encrypted but opens without one. */
function qpdfRequiresPassword(pdf: Buffer): number {
  const tmp = path.join(dir, `check-${Math.random().toString(36).slice(2)}.pdf`);
  writeFileSync(tmp, pdf);
  try {
    execFileSync('qpdf', ['--requires-password', tmp], { stdio: 'ignore' });
    return 0;
  } catch (err) {
    return (err as { status: number }).status;
  } finally {
    rmSync(tmp, { force: true });
  }
}

describe('the labelled corpus', () => {
  it('is large and varied enough to measure every rule', () => {
    expect(built).toEqual(CORPUS_LABELS);
    expect(built.length).toBeGreaterThanOrEqual(60);
    expect(new Set(built.map((l) => l.file)).size).toBe(built.length);
    const ordinary = built.filter((l) => l.expect.length === 0).length;
    expect(ordinary).toBeGreaterThanOrEqual(30);
    expect(built.length - ordinary).toBeGreaterThanOrEqual(30);
    for (const rule of RULE_IDS) {
      expect(built.filter((l) => l.expect.includes(rule)).length, `messages labelled ${rule}`).toBeGreaterThanOrEqual(2);
    }
    for (const l of built) for (const r of l.expect) expect(RULE_IDS as readonly string[]).toContain(r);
  });

  it('is written against the committed roster, which the generator reproduces byte for byte', () => {
    expect(readFileSync(ROSTER_PATH, 'utf8')).toBe(rosterCsv());
    const pupils = corpusPupils();
    expect(pupils.length).toBeGreaterThanOrEqual(280);
    expect(pupils.every((p) => isValidUpn(p.upn))).toBe(true);
    expect(new Set(pupils.map((p) => p.upn)).size).toBe(pupils.length);
    const names = pupils.map((p) => `${p.legalForename} ${p.legalSurname}`);
    for (const shape of [/ë/, /'/, /-/]) expect(names.some((n) => shape.test(n)), String(shape)).toBe(true);
    for (const word of ['Grace', 'Hope', 'May', 'Will', 'Summer', 'Rose', 'Jack', 'Ivy']) {
      expect(pupils.some((p) => p.legalForename === word || p.preferredForename === word), word).toBe(true);
    }
  });

  it('carries attachments really protected (or not) the way their labels assume', async () => {
    const zipCrypto = await attachment('cl-03-residential-list-zip-password-by-phone.eml');
    expect(zipCrypto.readUInt32LE(0)).toBe(0x04034b50);
    expect(zipCrypto.readUInt16LE(6) & 1).toBe(1); // general-purpose flag bit 0: encrypted
    const aes = await attachment('cl-05-museum-groups-aes-zip-password-by-text.eml');
    expect(aes.readUInt16LE(8)).toBe(99); // WinZip AES
    const sevenZip = await attachment('cl-07-climbing-7z-encrypted-names.eml');
    expect(sevenZip.subarray(0, 6).toString('latin1')).toBe('7z\xbc\xaf\x27\x1c');
    const plainZip = await attachment('cl-09-swimming-groups-plain-zip.eml');
    expect(plainZip.readUInt16LE(6) & 1).toBe(0);
    const encryptedDocx = await attachment('sen-02-ehcp-review-encrypted-docx.eml');
    expect(encryptedDocx.readUInt32BE(0)).toBe(0xd0cf11e0); // CFB, not a zip: Office encryption
    expect((await attachment('sen-01-ehcp-review-docx-to-la.eml')).readUInt32LE(0)).toBe(0x04034b50);
    expect(qpdfRequiresPassword(await attachment('sen-04-ehcp-review-user-password-pdf.eml'))).toBe(0);
    expect(qpdfRequiresPassword(await attachment('sen-05-ehcp-review-owner-only-pdf.eml'))).toBe(3);
    expect(qpdfRequiresPassword(await attachment('cl-10-theatre-list-pdf.eml'))).toBe(2);
    const truncated = await attachment('un-01-truncated-docx.eml');
    expect(truncated.readUInt32LE(0)).toBe(0x04034b50);
    expect(truncated.includes(Buffer.from([0x50, 0x4b, 0x05, 0x06]))).toBe(false); // no end of central directory
    expect((await attachment('fn-01-named-photo-to-newspaper.eml')).subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });
});

describe('every corpus message fires exactly the rules on its label', () => {
  it.each(CORPUS_LABELS.map((l) => [l.file, l] as const))('%s', async (_file, label) => {
    const { verdict, ms } = await examiner!.examine(readFileSync(path.join(dir, label.file)), envelopeFor(label));
    const result: CorpusResult = {
      label,
      action: verdict.action,
      rules: [...new Set(verdict.rules)].sort(),
      findings: verdict.findings.map((f) => ({ rule: f.rule, detector: f.detector, where: f.where, evidence: f.evidence, reason: f.reason })),
      ms,
    };
    const expected = [...label.expect].sort();
    const explain = [
      `${label.file}: ${label.note}`,
      `  expected: ${expected.length ? expected.join(', ') : '(deliver, no rule)'}`,
      `  actual:   ${result.rules.length ? result.rules.join(', ') : '(no rule)'} → ${verdict.action}`,
      '  findings:',
      describeFindings(result),
    ].join('\n');
    expect(sameRules(expected, result.rules), explain).toBe(true);
    // With the shipped defaults every rule holds: a positive is never delivered, ordinary mail always is.
    expect(verdict.action === 'deliver', explain).toBe(expected.length === 0);
  }, 60_000);
});
