// Composes Hallmonitor's emails from the editable templates in config/templates (or the school's
// copy in school.templates_dir). Only what is safe goes in: the reference, the rules, who sent it to
// whom, and the findings' redacted evidence. Never the subject or the message text (they can name a
// pupil); attachment file names are masked the same way evidence is.
import { redactName } from '../../../detectors/library/redact.ts';
import { saidOnce } from '../../decide/said-once.ts';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../config/index.ts';
import { RULE_ALIASES, ruleDefinition } from '../../decide/rules.ts';
import type { Incident } from '../../store/incidents.ts';
import { compileTemplate, escapeHtml, plainText, TemplateError, type Template } from './template.ts';
import { formatLocal, SHIPPED_TEMPLATES, type NotifySettings } from './settings.ts';

export const NOTICE_TEMPLATES = [
  'business-manager',
  'business-manager-digest',
  'business-manager-escalated',
  'sender-held',
  'sender-not-sent',
  'sender-rejected',
] as const;
export type NoticeTemplate = (typeof NOTICE_TEMPLATES)[number];

interface FixItem { text: string | null; heading: string | null; steps: Array<{ n: number; text: string }> }
export interface RuleText { id: string; title: string; school_rule: string; fix: FixItem[] }

export interface Templates {
  notice: Record<NoticeTemplate, { subject: Template; text: Template; html: Template }>;
  layout: Template;
  rules: Map<string, RuleText>;
  /** Where each file came from, for `--help` and errors. */
  files: string[];
}

export interface Notice { subject: string; text: string; html: string }

/** Loads and compiles every template once, at start-up: a broken template stops the gateway there. */
export function loadTemplates(dir: string | null, configSource = '(templates)'): Templates {
  const problems: string[] = [];
  const files: string[] = [];
  const read = (name: string): string => {
    const own = dir ? path.join(dir, name) : null;
    const file = own && existsSync(own) ? own : path.join(SHIPPED_TEMPLATES, name);
    files.push(file);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`template ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return '';
    }
  };
  const compile = (source: string, name: string): Template => {
    try {
      return compileTemplate(source, name);
    } catch (err) {
      problems.push(`template ${err instanceof TemplateError ? err.message : `${name}: ${(err as Error).message}`}`);
      return compileTemplate('', name);
    }
  };
  const notice = {} as Templates['notice'];
  for (const name of NOTICE_TEMPLATES) {
    const txt = read(`${name}.txt`).replace(/^\uFEFF/, '');
    const nl = txt.indexOf('\n');
    const first = nl < 0 ? txt : txt.slice(0, nl);
    if (!/^Subject:/i.test(first)) problems.push(`template ${name}.txt: the first line must be "Subject: …"`);
    notice[name] = {
      subject: compile(first.replace(/^Subject:\s*/i, '').trim(), `${name}.txt (subject)`),
      text: compile(nl < 0 ? '' : txt.slice(nl + 1), `${name}.txt`),
      html: compile(read(`${name}.html`), `${name}.html`),
    };
  }
  const layout = compile(read('layout.html'), 'layout.html');
  const rules = new Map<string, RuleText>();
  try {
    const doc = parseYaml(read('rules.yaml')) as { rules?: Record<string, unknown> } | null;
    for (const [id, r] of Object.entries(doc?.rules ?? {})) rules.set(id, ruleText(id, r, problems));
  } catch (err) {
    problems.push(`template rules.yaml: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!rules.has('default')) rules.set('default', { id: 'default', title: 'A school data-protection rule', school_rule: "The school's data-protection policy.", fix: [] });
  if (problems.length) throw new ConfigError(configSource, problems);
  return { notice, layout, rules, files };
}

function ruleText(id: string, r: unknown, problems: string[]): RuleText {
  const o = (r && typeof r === 'object' ? r : {}) as Record<string, unknown>;
  const str = (v: unknown, key: string): string => {
    if (typeof v === 'string' && v.trim()) return v.trim();
    problems.push(`template rules.yaml: rules.${id}.${key}: expected text`);
    return '';
  };
  const fix: FixItem[] = (Array.isArray(o.fix) ? o.fix : []).map((item, i) => {
    if (typeof item === 'string') return { text: item, heading: null, steps: [] };
    const it = (item && typeof item === 'object' ? item : {}) as Record<string, unknown>;
    const steps = Array.isArray(it.steps) ? it.steps.map((s, n) => ({ n: n + 1, text: String(s) })) : [];
    return { text: null, heading: str(it.heading, `fix[${i}].heading`), steps };
  });
  return { id, title: str(o.title, 'title'), school_rule: str(o.school_rule, 'school_rule'), fix };
}

export function ruleTextFor(t: Templates, id: string): RuleText {
  const own = t.rules.get(id) ?? (RULE_ALIASES[id] ? t.rules.get(RULE_ALIASES[id]) : undefined);
  if (own) return own;
  const def = ruleDefinition(id);
  const fallback = t.rules.get('default')!;
  return def ? { id, title: def.title, school_rule: def.policy, fix: fallback.fix } : { ...fallback, id };
}

/**
 * Where a finding is, in words, with file names masked like evidence ("J*** S**** r*****.docx"):
 * the name of a photo or report is often the pupil's name.
 */
/** What the inspection names the parts of an attached email after it (`fwd.eml/body`, `…/headers`, `…/body:html`). */
const INNER_PARTS = new Set(['body', 'headers', 'body:html', 'body:header-lines', 'body:preamble']);

/**
 * The segments of an attachment's path (`a.zip/fwd.eml/body`, after `attachment:`), each with
 * whether it is a file the sender named (masked when shown) or the inner part of an attached
 * email that the inspection named: only a last segment, after another, and only those names.
 */
export function attachmentSegments(path: string): Array<{ name: string; file: boolean }> {
  const segs = path.split('/');
  return segs.map((name, i) => ({ name, file: !(i > 0 && i === segs.length - 1 && INNER_PARTS.has(name)) }));
}

export function describeWhere(where: string, mask: (name: string) => string = maskFileName): string {
  let w = where;
  let nameOf = false;
  if (w.startsWith('filename:')) {
    nameOf = true;
    w = w.slice('filename:'.length);
  }
  if (w === 'subject') return 'the subject line';
  if (w === 'body' || w.startsWith('body:')) return 'the text of the email';
  if (w === 'envelope') return 'the recipients';
  if (w.startsWith('attachment:')) {
    const masked = attachmentSegments(w.slice('attachment:'.length)).map((s) => (s.file ? mask(s.name) : s.name)).join(' › ');
    return `${nameOf ? 'the file name of the attachment' : 'the attachment'} ${masked}`;
  }
  if (w.startsWith('header')) return 'the email headers';
  return 'the email';
}

/** File names found in findings' `where`, raw → as shown, so a reason that quotes one shows it the same way. */
function fileNamesIn(wheres: string[], mask: (name: string) => string): Map<string, string> {
  const names = new Map<string, string>();
  for (const where of wheres) {
    const w = where.startsWith('filename:') ? where.slice(9) : where;
    if (!w.startsWith('attachment:')) continue;
    for (const seg of attachmentSegments(w.slice(11))) if (seg.file && seg.name.length >= 3) names.set(seg.name, mask(seg.name));
  }
  return names;
}

/**
 * How file names are shown: masked only where there is personal data in them. `personalIn` is the
 * school's detectors (does redacting the name change it?); a name a finding was about
 * (`filename:…`) is always masked; without the detectors (the CLI, exports), every name is.
 */
function fileNameMask(findings: Incident['findings'], personalIn?: (name: string) => boolean): (name: string) => string {
  if (!personalIn) return maskFileName;
  const named = new Set<string>();
  for (const f of findings) if (f.where.startsWith('filename:attachment:')) for (const seg of f.where.slice(20).split('/')) named.add(seg);
  return (name) => (named.has(name) || personalIn(name) ? maskFileName(name) : `"${plainName(name)}"`);
}

/** A file name shown as it is, control characters as spaces. */
function plainName(name: string): string {
  let out = '';
  for (const ch of name) out += ch.charCodeAt(0) < 0x20 || ch === '\x7f' ? ' ' : ch;
  return out;
}

/** "Jane Smith report.docx" → "J*** S**** r*****.docx": names redacted as evidence is, extension kept. */
export function maskFileName(name: string): string {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 6 ? name.slice(dot) : '';
  return `"${redactName(plainName(ext ? name.slice(0, dot) : name))}${ext}"`;
}

function replaceAll(s: string, map: Map<string, string>): string {
  let out = s;
  // Longest first, so "a.zip/b.csv" parts don't mask each other halfway.
  for (const [raw, masked] of [...map].sort((a, b) => b[0].length - a[0].length)) out = out.split(raw).join(masked.slice(1, -1));
  return out;
}

export interface SafeFinding { rule: string; detector: string; where: string; evidence: string | null; reason: string }

/**
 * Findings as they may be shown anywhere outside the quarantine itself (emails, CLI, exports):
 * the place in words with file names masked, and any file name quoted in the reason masked too.
 */
export function safeFindings(findings: Incident['findings'], personalIn?: (name: string) => boolean): SafeFinding[] {
  const mask = fileNameMask(findings, personalIn);
  const files = fileNamesIn(findings.map((f) => f.where), mask);
  // One line per rule, place and sentence (src/decide/said-once.ts).
  return saidOnce(findings.map((f) => ({
    rule: f.rule ?? '',
    detector: f.detector,
    where: describeWhere(f.where, mask),
    evidence: f.evidence ? replaceAll(f.evidence, files) : null,
    reason: replaceAll(f.reason || 'Personal information was found.', files),
  })));
}

const STATUS_TEXT: Record<Incident['status'], (i: Incident) => string> = {
  open: (i) => (i.action === 'quarantine' ? 'waiting for a decision' : 'near miss, nothing was sent'),
  released: () => 'released and delivered',
  rejected: () => 'rejected, not sent',
  'reported-to-ico': () => 'reported to the ICO',
  'closed-no-breach': () => 'closed, no breach',
};

/** Signed links for one incident (src/act/notify/links.ts), made by the outbox worker. */
export interface EmailLinks {
  release?: string;
  reject?: string;
  /** The sender's "send it anyway" page, and until when it works. */
  override?: string;
  overrideUntil?: Date;
}

export interface ViewExtra {
  actor?: string;
  safeguarding?: boolean;
  released?: boolean;
  /** The reviewer's reason, already redacted. */
  note?: string;
  /** Whether the school's detectors find personal data in a text (a file name): only then is it masked. */
  personalIn?: (text: string) => boolean;
  links?: EmailLinks;
}

/** Everything a template may show about one incident. */
export function incidentView(t: Templates, s: NotifySettings, inc: Incident, extra: ViewExtra = {}): Record<string, unknown> {
  const rules = inc.rules.map((id) => ruleTextFor(t, id));
  const titles = new Map(rules.map((r) => [r.id, r.title]));
  const findings = safeFindings(inc.findings, extra.personalIn).map((f) => ({ ...f, rule_title: titles.get(f.rule) ?? (rules[0]?.title ?? '') }));
  const deadline = new Date(inc.detectedAt.getTime() + 72 * 3_600_000);
  return {
    school_name: s.schoolName,
    reference: inc.reference,
    detected_at: formatLocal(inc.detectedAt, s.timeZone),
    sender: inc.sender || '(no sender address)',
    recipients: inc.recipients,
    recipient_count: inc.recipients.length,
    severity: inc.severity,
    held: inc.action === 'quarantine',
    not_sent: inc.action === 'block',
    near_miss: inc.kind === 'near-miss',
    status: inc.status,
    status_text: STATUS_TEXT[inc.status](inc),
    rules,
    first_rule: rules[0] ?? null,
    findings,
    console_link: s.consoleUrl ? `${s.consoleUrl}/incidents/${encodeURIComponent(inc.reference)}` : null,
    // Open the incident with that decision ready to confirm (the link itself changes nothing).
    release_link: extra.links?.release ?? (s.consoleUrl && inc.action === 'quarantine' ? `${s.consoleUrl}/incidents/${encodeURIComponent(inc.reference)}?decide=release#decide` : null),
    reject_link: extra.links?.reject ?? (s.consoleUrl && inc.action === 'quarantine' ? `${s.consoleUrl}/incidents/${encodeURIComponent(inc.reference)}?decide=reject#decide` : null),
    // The sender's own remedy, for rules the school lets the sender judge (sender_may_override).
    override_link: extra.links?.override ?? null,
    override_until: extra.links?.overrideUntil ? formatLocal(extra.links.overrideUntil, s.timeZone) : null,
    business_manager: s.businessManager,
    breach_deadline: formatLocal(deadline, s.timeZone),
    potential_breach: inc.potentialBreach,
    ico_deadline: inc.icoDeadline ? formatLocal(inc.icoDeadline, s.timeZone) : null,
    safeguarding: !!extra.safeguarding,
    released: !!extra.released || inc.status === 'released',
    actor: extra.actor ?? null,
    reviewer_note: extra.note ?? null,
  };
}

/** Runs of white space (the view holds message text: addresses, evidence) as one space, trimmed; no RegExp. */
function oneLine(text: string): string {
  let out = '';
  let space = false;
  for (const ch of text) {
    if (ch.trim() === '') space = out !== '';
    else {
      if (space) out += ' ';
      out += ch;
      space = false;
    }
  }
  return out;
}

function render(t: Templates, name: NoticeTemplate, view: Record<string, unknown>): Notice {
  const n = t.notice[name];
  const subject = oneLine(n.subject.render(view, plainText)).slice(0, 250);
  const text = n.text.render(view, plainText);
  const content = n.html.render(view, escapeHtml);
  const html = t.layout.render({ ...view, subject, content }, escapeHtml);
  return { subject, text, html };
}

export function composeIncidentNotice(t: Templates, s: NotifySettings, name: Exclude<NoticeTemplate, 'business-manager-digest'>, inc: Incident, extra: ViewExtra = {}): Notice {
  return render(t, name, incidentView(t, s, inc, extra));
}

export function composeDigest(t: Templates, s: NotifySettings, incidents: Incident[], extra: Pick<ViewExtra, 'personalIn'> & { links?: (inc: Incident) => EmailLinks | undefined } = {}): Notice {
  const views = incidents.map((i) => incidentView(t, s, i, { personalIn: extra.personalIn, links: extra.links?.(i) }));
  return render(t, 'business-manager-digest', { school_name: s.schoolName, digest_count: incidents.length, single: incidents.length === 1, incidents: views });
}

/**
 * The RFC 5322 message: plain text and HTML alternatives, marked as automatic
 * (Auto-Submitted: auto-generated, RFC 3834; X-Auto-Response-Suppress for Exchange) so no
 * out-of-office or bounce answers it, with a Message-ID fixed when the notice was queued.
 */
export async function buildEmail(s: NotifySettings, notice: Notice, to: string, messageId: string, date: Date, reference?: string): Promise<Buffer> {
  const composer = new MailComposer({
    from: { name: `Hallmonitor (${s.schoolName})`, address: s.from },
    to,
    subject: notice.subject,
    text: notice.text,
    html: notice.html,
    messageId,
    date,
    headers: {
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      ...(reference ? { 'X-Hallmonitor-Reference': reference } : {}),
    },
  });
  return new Promise((resolve, reject) => composer.compile().build((err, buf) => (err ? reject(err) : resolve(buf))));
}
