// One examination of one message: inspect (read every part) → detect (scan every text once) →
// decide (the school's rules). The relay and `hallmonitor check` both run exactly this.
import type { Logger } from 'pino';
import { ConfigError, configDir, type Config } from './config/index.ts';
import { compileDetectors, type DetectorSet, type Detection } from './detect/index.ts';
import RE2 from 're2';
import { loadWebmailDomains, redactAddress } from './decide/recipients.ts';
import { redactIdentifier } from '../detectors/library/redact.ts';
import { DETECTORS } from '../detectors/index.ts';
import { inspect, shutdownInspection, type Inspection, type InspectionLimits, type TextPart } from './inspect/index.ts';
import { loadRoster, loadStaffList, watchRoster, type Roster } from './roster/index.ts';
import { decide, flatten, type Policy } from './decide/index.ts';
import type { Envelope, Verdict } from './types.ts';

export interface Examination {
  verdict: Verdict;
  inspection: Inspection;
  envelope: Envelope;
  ms: number;
}

export interface Examiner {
  examine(raw: Buffer, envelope: Envelope | ((inspection: Inspection) => Envelope)): Promise<Examination>;
  /** What the detectors were compiled from, for health and the console. */
  status(): { detectorsVersion: string; pupils: number; rosterLoadedAt?: string; rosterError?: string };
  /** Compile detectors for a new roster and swap them in whole (a trust-wide roster reload). */
  replaceRoster(next: Roster): void;
  /** `text` with every pupil name, identifier, date of birth and contact detail the detectors find
   *  replaced by its redacted form (`A***** T********`): for words a reviewer writes to a sender. */
  redact(text: string): string;
  close(): Promise<void>;
}

export interface ExaminerOptions {
  policy: Policy;
  limits?: Partial<InspectionLimits>;
  logger?: Logger;
  /** Reload the roster when its file changes (the gateway does; `check` does not). */
  watch?: boolean;
  /** A roster already read (a school's share of a trust-wide export); policy.rosterPath is then ignored. */
  roster?: Roster;
}

export async function createExaminer(opts: ExaminerOptions): Promise<Examiner> {
  const { policy, logger } = opts;
  const webmailDomains = loadWebmailDomains(policy.extraWebmailDomains);
  // A roster or staff list that cannot be read is a configuration error: refuse to start.
  const staff = policy.staffListPath ? await asConfig('school.staff_list', () => loadStaffList(policy.staffListPath!)) : undefined;
  let roster: Roster | undefined;
  let rosterLoadedAt: string | undefined;
  let rosterError: string | undefined;
  if (opts.roster) {
    roster = opts.roster;
    rosterLoadedAt = new Date().toISOString();
  } else if (policy.rosterPath) {
    const loaded = await asConfig('school.roster', () => loadRoster(policy.rosterPath!));
    roster = loaded.roster;
    rosterLoadedAt = new Date().toISOString();
    if (loaded.problems.length) logger?.warn({ event: 'roster-problems', count: loaded.problems.length, lines: loaded.problems.slice(0, 20).map((p) => p.line) }, 'some roster rows were skipped; run `hallmonitor roster check` for details');
  }
  // Compiled once; a roster change compiles a new set and swaps it in whole.
  // The shipped detectors and the school's own (`detectors:`), compiled once together.
  const registry = [...DETECTORS, ...policy.detectors];
  let detectors: DetectorSet = compileDetectors({ roster, staff, detectors: registry });
  let stopWatching: (() => void) | undefined;
  const replaceRoster = (next: Roster) => {
    try {
      const compiled = compileDetectors({ roster: next, staff, detectors: registry });
      detectors = compiled;
      roster = next;
      rosterLoadedAt = new Date().toISOString();
      rosterError = undefined;
      logger?.info({ event: 'roster-reloaded', pupils: next.pupils.length, detectors: compiled.version }, 'roster reloaded');
    } catch (err) {
      rosterError = (err as Error).message;
      logger?.error({ event: 'roster-reload-failed', err: rosterError }, 'new roster not used; the previous one stays in force');
    }
  };
  if (opts.watch && policy.rosterPath && !opts.roster) {
    stopWatching = watchRoster(
      policy.rosterPath,
      replaceRoster,
      (err) => {
        rosterError = err.message;
        logger?.error({ event: 'roster-reload-failed', err: err.message }, 'new roster not used; the previous one stays in force');
      },
    );
  }

  return {
    async examine(raw, envelopeOrFn) {
      const started = performance.now();
      const set = detectors; // one detector set for the whole message, even if a reload lands meanwhile
      // A text kept as its bytes is scanned from them; the model reads the findings against it by string index.
      const scanText = (t: TextPart): Detection[] =>
        t.utf8 ? (t.utf8.length ? set.scan(t.utf8.bytes, t.where, { frozen: true, utf16: t.utf8.offsets }) : []) : t.text ? set.scan(t.text, t.where) : [];
      // Texts scanned while inspection waited on a worker (a large HTML body being read): their
      // findings, taken below in the texts' final order, so the result is as if scanned after.
      // A scan that fails there fails the examination as it would have after (not the inspection).
      const early = new Map<TextPart, Detection[]>();
      let failed: { error: unknown } | undefined;
      const inspection = await inspect(raw, opts.limits, {
        whileWaiting(texts) {
          try {
            for (const t of texts) if (!failed && !early.has(t)) early.set(t, scanText(t));
          } catch (error) {
            failed = { error };
          }
        },
      });
      if (failed) throw failed.error;
      const envelope = typeof envelopeOrFn === 'function' ? envelopeOrFn(inspection) : envelopeOrFn;
      const detections: Detection[] = [];
      // Appended one by one: a class list has more findings than a call may take arguments.
      const add = (found: Detection[]) => {
        for (let k = 0; k < found.length; k++) detections.push(found[k]);
      };
      if (inspection.subject) add(set.scan(inspection.subject, 'subject'));
      for (const t of inspection.texts) add(early.get(t) ?? scanText(t));
      for (const a of flatten(inspection.attachments)) if (a.filename) add(set.scan(fileNameWords(a.filename), `filename:${a.where}`));
      const verdict = decide({ envelope, inspection, detections, roster: set.roster, webmailDomains }, policy);
      return { verdict, inspection, envelope, ms: Math.round(performance.now() - started) };
    },
    replaceRoster,
    redact: (text) => redactText(detectors, text),
    status() {
      return { detectorsVersion: detectors.version, pupils: roster?.pupils.length ?? 0, rosterLoadedAt, rosterError };
    },
    async close() {
      stopWatching?.();
      await shutdownInspection();
    },
  };
}

/** `jane_smith.report.docx` → `jane smith report docx`: file names join words with _ . + */
function fileNameWords(name: string): string {
  let out = '';
  for (const ch of name) out += ch === '_' || ch === '.' || ch === '+' ? ' ' : ch;
  // Words run together (IslaPemberton.jpg, SportsDay-IslaPemberton2.png) are read again with a
  // space where a small letter meets a capital and where letters meet digits, on a line of its
  // own; the name as written is read too, so McDonald and DeVries stay whole.
  let split = '';
  let prev = '';
  for (const ch of out) {
    if ((isSmall(prev) && isCapital(ch)) || (isLetter(prev) && isDigit(ch)) || (isDigit(prev) && isLetter(ch))) split += ' ';
    split += ch;
    prev = ch;
  }
  return split.length === out.length ? out : `${out}\n${split}`;
}

const isSmall = (ch: string) => ch !== '' && ch.toLowerCase() === ch && ch.toUpperCase() !== ch;
const isCapital = (ch: string) => ch !== '' && ch.toUpperCase() === ch && ch.toLowerCase() !== ch;
const isLetter = (ch: string) => isSmall(ch) || isCapital(ch);
const isDigit = (ch: string) => ch >= '0' && ch <= '9';

async function asConfig<T>(key: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    throw new ConfigError(key, [`${key}: ${(err as Error).message}`]);
  }
}

/** Any email address, and any run of digits long enough to be a phone number (9 or more digits, with spaces, dots, dashes, brackets or a leading +). */
const EMAIL = new RE2("[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+", 'g');
const PHONE = new RE2('\\+?[0-9](?:[ .()-]{0,2}[0-9]){8,14}', 'g');

/**
 * `text` with everything personal replaced by its redacted form, right to left: what the detectors
 * find (pupils' names, identifiers, dates of birth, contact details), staff members' names, and
 * any email address (a parent's on the roster or anyone's: `j***@gmail.com`) or phone number. For
 * words a reviewer writes that reach another person (a rejection reason to the sender).
 */
export function redactText(set: DetectorSet, text: string): string {
  const spans: Array<{ start: number; end: number; evidence: string }> = [];
  for (const d of set.scan(text, 'note', { staffNames: true })) {
    if (!(d.pupilIds?.length || (d.category && d.category !== 'special-category' && d.category !== 'password' && d.category !== 'pupil-record'))) continue;
    // A forename or surname alone is found once with every place it occurs: each is replaced.
    const at = d.mentions ?? [d.start, d.end];
    for (let k = 0; k < at.length; k += 2) spans.push({ start: at[k], end: at[k + 1], evidence: d.evidence });
  }
  // Addresses and numbers the detectors did not already explain (a UPN is redacted as a UPN).
  const found = spans.length;
  const free = (start: number, end: number) => {
    for (let k = 0; k < found; k++) if (spans[k].start < end && start < spans[k].end) return false;
    return true;
  };
  for (const m of text.matchAll(EMAIL as unknown as RegExp)) {
    if (free(m.index!, m.index! + m[0].length)) spans.push({ start: m.index!, end: m.index! + m[0].length, evidence: redactAddress(m[0]) });
  }
  for (const m of text.matchAll(PHONE as unknown as RegExp)) {
    let digits = 0;
    for (const ch of m[0]) if (ch >= '0' && ch <= '9') digits++;
    if (digits >= 9 && free(m.index!, m.index! + m[0].length)) spans.push({ start: m.index!, end: m.index! + m[0].length, evidence: redactIdentifier(m[0], 3) });
  }
  spans.sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let limit = Infinity;
  for (const d of spans) {
    if (d.end > limit) continue; // overlapping: the later-starting one is already replaced
    out = out.slice(0, d.start) + d.evidence + out.slice(d.end);
    limit = d.start;
  }
  return out;
}

/**
 * A redactor with one school's detectors, for the command line (the gateway uses its examiners):
 * the roster is read, the detectors compiled, nothing else started.
 */
export async function schoolRedactor(config: Config, tenant: string): Promise<(text: string) => string> {
  const { loadTenants, TenantDirectory } = await import('./tenants.ts');
  const { loadPolicy } = await import('./decide/policy.ts');
  const { loadTrustRosters } = await import('./roster/trust.ts');
  const specs = loadTenants(config);
  const spec = specs.find((t) => t.id === tenant) ?? specs[0];
  const baseDir = configDir(config);
  const policy = loadPolicy(spec.config, undefined, baseDir);
  let roster: Roster | undefined;
  if (spec.trustRoster) roster = (await loadTrustRosters(new TenantDirectory([spec]), baseDir))?.rosterFor(spec.id);
  else if (policy.rosterPath) roster = (await asConfig('school.roster', () => loadRoster(policy.rosterPath!))).roster;
  const staff = policy.staffListPath ? await asConfig('school.staff_list', () => loadStaffList(policy.staffListPath!)) : undefined;
  const set = compileDetectors({ roster, staff, detectors: [...DETECTORS, ...policy.detectors] });
  return (text) => redactText(set, text);
}
