// `hallmonitor check`: run the relay's exact examination on saved messages, so an IT lead or a
// business manager can try the policy before switching it on.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import addressparser from 'nodemailer/lib/addressparser';
import type { Command } from 'commander';
import { loadConfig } from './config/index.ts';
import { loadPolicy, ruleDefinition } from './decide/index.ts';
import { saidOnce } from './decide/said-once.ts';
import { maskFindings } from './review/console/privacy.ts';
import type { Examination } from './examine.ts';
import type { Inspection } from './inspect/index.ts';
import type { Envelope } from './types.ts';

interface CheckOptions {
  config?: string;
  roster?: string;
  staff?: string;
  schoolDomain: string[];
  from?: string;
  to: string[];
  json?: boolean;
  quiet?: boolean;
  exitCode?: boolean;
}

/** What a run over many messages came to, for the summary line. */
interface Tally {
  files: number;
  deliver: number;
  quarantine: number;
  block: number;
  /** Monitor mode: delivered, but would have been held or blocked. */
  wouldHold: number;
  errors: number;
  rules: Map<string, number>;
}

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('Check saved messages (.eml files, directories, or - for stdin) with the same parsing, detectors and policy as the relay')
    .argument('<files...>', 'message files, directories (walked), or - for one message on stdin')
    .option('-c, --config <file>', 'YAML configuration file (policy, school domains, roster)')
    .option('--roster <file>', 'pupil roster, .xlsx or CSV (overrides school.roster)')
    .option('--staff <file>', "staff list, one name a line or CSV (overrides school.staff_list): staff who share a pupil's name are not read as that pupil")
    .option('--school-domain <domain>', "the school's own domain (repeatable; overrides school.domains)", collect, [])
    .option('--from <address>', 'envelope sender (default: Resent-From or From header)')
    .option('--to <address>', 'envelope recipient (repeatable; default: Resent-To/Cc/Bcc or To/Cc/Bcc headers)', collect, [])
    .option('--json', 'one JSON object per input file per line')
    .option('-q, --quiet', 'print only the messages that would be held or blocked (and the summary)')
    .option('--exit-code', 'exit 1 when any message would be held or blocked, 2 on an error (default: 0 for any verdict)')
    .exitOverride()
    .action(async (files: string[], opts: CheckOptions) => {
      const config = loadConfig(opts.config);
      const policy = loadPolicy(config, { rosterPath: opts.roster ? path.resolve(opts.roster) : undefined, staffListPath: opts.staff ? path.resolve(opts.staff) : undefined, schoolDomains: opts.schoolDomain }, opts.config ? path.dirname(path.resolve(opts.config)) : process.cwd());
      const { createExaminer } = await import('./examine.ts');
      // Text recognition as the relay would run it (off when Tesseract is missing).
      const { ocrAsAvailable, OCR_OFF } = await import('./inspect/index.ts');
      const examiner = await createExaminer({ policy, limits: { ocr: ocrAsAvailable(config.ocr ?? OCR_OFF).limits } });
      const tally: Tally = { files: 0, deliver: 0, quarantine: 0, block: 0, wouldHold: 0, errors: 0, rules: new Map() };
      const started = Date.now();
      try {
        for (const file of expand(files)) {
          tally.files++;
          let raw: Buffer;
          try {
            raw = file === '-' ? readFileSync(0) : readFileSync(file);
          } catch (err) {
            tally.errors++;
            const reason = `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
            if (opts.json) process.stdout.write(JSON.stringify({ file, error: reason }) + '\n');
            else process.stderr.write(`${file}: ${reason}\n`);
            continue;
          }
          const result = await examiner.examine(raw, (inspection) => envelopeFromHeaders(inspection, opts));
          const v = result.verdict;
          tally[v.action]++;
          if (v.wouldHaveBeen) tally.wouldHold++;
          for (const rule of v.rules) tally.rules.set(rule, (tally.rules.get(rule) ?? 0) + 1);
          const held = v.action !== 'deliver' || !!v.wouldHaveBeen;
          const redact = (t: string) => examiner.redact(t);
          if (opts.json) process.stdout.write(JSON.stringify(toJson(file, result, redact)) + '\n');
          else if (!opts.quiet || held) process.stdout.write(toText(file, result, redact));
        }
      } finally {
        await examiner.close();
      }
      // One summary line for a person (not in --json, whose lines stay one object per file).
      if (!opts.json && (tally.files > 1 || opts.quiet)) process.stdout.write(folderSummary(tally, Date.now() - started) + '\n');
      const heldAny = tally.quarantine + tally.block + tally.wouldHold > 0;
      if (tally.errors) process.exitCode = opts.exitCode ? 2 : 1;
      else if (opts.exitCode && heldAny) process.exitCode = 1;
    });
}

function folderSummary(t: Tally, ms: number): string {
  const n = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
  const parts = [`${t.deliver} delivered`];
  if (t.wouldHold) parts[0] += ` (${t.wouldHold} would have been held or blocked: monitor mode)`;
  parts.push(`${t.quarantine} quarantined`, `${t.block} blocked`);
  if (t.errors) parts.push(n(t.errors, 'error'));
  const rules = [...t.rules].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([r, c]) => `${r} ${c}`).join(', ');
  return `${n(t.files, 'message')}: ${parts.join(', ')}${rules ? `; by rule: ${rules}` : ''}; ${(ms / 1000).toFixed(1)} s`;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Files as given; directories walked (sorted, hidden files skipped). */
function expand(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      out.push(p); // reported as unreadable
      return;
    }
    if (!st.isDirectory()) return void out.push(p);
    for (const name of readdirSync(p).sort()) if (!name.startsWith('.')) walk(path.join(p, name));
  };
  for (const i of inputs) i === '-' ? out.push(i) : walk(i);
  return out;
}

/** Sender and recipients from the headers: Resent-* where present (a resend is a new envelope). */
export function envelopeFromHeaders(inspection: Inspection, opts: { from?: string; to?: string[] } = {}): Envelope {
  const values = (key: string) => inspection.headers.filter((h) => h.key === key).map((h) => h.value);
  const addresses = (keys: string[]) =>
    keys.flatMap((k) => values(k).flatMap((v) => addressparser(v, { flatten: true }).map((a) => a.address ?? '').filter(Boolean)));
  const resent = values('resent-from').length > 0 || values('resent-to').length > 0;
  const from = opts.from ?? addresses([resent ? 'resent-from' : 'from'])[0] ?? inspection.from?.address ?? '';
  const to = opts.to?.length ? opts.to : addresses(resent ? ['resent-to', 'resent-cc', 'resent-bcc'] : ['to', 'cc', 'bcc']);
  return { mailFrom: from, mailFromParams: {}, rcptTo: [...new Set(to.map((a) => a.toLowerCase()))].map((address) => ({ address })) };
}

/** The findings as they may be printed: file names with a pupil's name in them masked, in the place and in the reason, as notices show them. */
function printable(r: Examination, redact: (text: string) => string) {
  return maskFindings(r.verdict.findings, (name) => redact(name) !== name);
}

function toJson(file: string, r: Examination, redact: (text: string) => string) {
  return {
    file,
    action: r.verdict.action,
    ...(r.verdict.wouldHaveBeen ? { wouldHaveBeen: r.verdict.wouldHaveBeen } : {}),
    rules: r.verdict.rules,
    severity: r.verdict.severity,
    findings: printable(r, redact).map((f) => ({ rule: f.rule, detector: f.detector, where: f.where, evidence: f.evidence, reason: f.reason })),
    ms: r.ms,
  };
}

function toText(file: string, r: Examination, redact: (text: string) => string): string {
  const v = r.verdict;
  const head = v.wouldHaveBeen
    ? `${file}: DELIVER (monitor mode; would have been ${v.wouldHaveBeen.toUpperCase()})`
    : `${file}: ${v.action.toUpperCase()}`;
  const lines = [`${head}  [${r.ms} ms, ${r.envelope.rcptTo.length} recipient(s)]`];
  // Which email this is: its sender and subject, the subject redacted as evidence is.
  const subject = r.inspection.subject ?? '';
  lines.push(`  from ${r.envelope.mailFrom || '(none)'}, subject "${subject ? oneLine(redact(subject)) : '(none)'}"`);
  const findings = printable(r, redact);
  for (const rule of v.rules) {
    const def = ruleDefinition(rule);
    lines.push(`  ${rule}: ${def?.title ?? rule}`);
    for (const f of saidOnce(findings.filter((x) => x.rule === rule).map((x) => ({ ...x, evidence: x.evidence ?? null })))) {
      lines.push(`    - ${f.where}${f.evidence ? ` [${f.evidence}]` : ''}: ${f.reason}`);
    }
  }
  if (!v.rules.length) lines.push('  nothing found');
  return lines.join('\n') + '\n';
}

/** Control characters (a folded or hostile subject) shown as spaces, and long subjects cut. */
function oneLine(s: string): string {
  let out = '';
  for (const ch of s) out += ch < ' ' || ch === '\x7f' ? ' ' : ch;
  return out.length > 120 ? `${out.slice(0, 117)}...` : out;
}
