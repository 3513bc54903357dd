// Decide: from what was found in a message to one decision the school can defend.
// Pure: facts in, verdict out. Every rule that fires is kept with its reasons in plain English;
// the action is the strictest among them (block > quarantine > deliver).
import RE2 from 're2';
import type { Detection } from '../detect/index.ts';
import type { AttachmentReport, Inspection } from '../inspect/index.ts';
import type { Roster } from '../roster/index.ts';
import type { Envelope, Finding, Verdict } from '../types.ts';
import { domainIn, domainOf, type Policy } from './policy.ts';
import { compareActions, strictest, type RuleId } from './rules.ts';

export { loadPolicy, type Policy } from './policy.ts';
export { RULES, RULE_IDS, type RuleId } from './rules.ts';

export interface Facts {
  envelope: Envelope;
  inspection: Inspection;
  /** Detections over the subject (`subject`), every text part (its `where`) and every attachment
   *  file name (`filename:<attachment where>`). */
  detections: Detection[];
  roster?: Roster;
  webmailDomains: Set<string>;
}

interface Fired { rule: RuleId; findings: Finding[]; severity?: number }

const MAX_FINDINGS_PER_RULE = 20;

export function decide(facts: Facts, policy: Policy): Verdict {
  const fired: Fired[] = [];
  const ctx = new Context(facts, policy);
  for (const check of CHECKS) {
    const result = check(ctx);
    if (result && result.findings.length) fired.push({ ...result, findings: result.findings.slice(0, MAX_FINDINGS_PER_RULE) });
  }
  const active = fired.filter((f) => policy.rules[f.rule].action !== 'deliver');
  const ranked = fired
    .map((f) => ({ ...f, action: policy.rules[f.rule].action, severity: f.severity ?? policy.rules[f.rule].severity }))
    .sort((a, b) => compareActions(b.action, a.action) || b.severity - a.severity);
  const action = strictest(ranked.map((f) => f.action));
  const verdict: Verdict = {
    action,
    rules: ranked.map((f) => f.rule),
    findings: ranked.flatMap((f) => f.findings.map((x) => ({ ...x, rule: f.rule }))),
    severity: active.length ? Math.max(...ranked.filter((f) => f.action !== 'deliver').map((f) => f.severity)) : 0,
  };
  if (policy.mode === 'monitor' && action !== 'deliver') return { ...verdict, action: 'deliver', wouldHaveBeen: action };
  return verdict;
}

/** Lookups shared by the checks, computed once per message. */
class Context {
  readonly facts: Facts;
  readonly policy: Policy;
  readonly byWhere = new Map<string, Detection[]>();
  readonly attachments: AttachmentReport[];
  readonly outside: string[];
  readonly outsideIncludingPartners: string[];
  readonly protectedMessage: boolean;

  constructor(facts: Facts, policy: Policy) {
    this.facts = facts;
    this.policy = policy;
    for (const d of facts.detections) {
      const list = this.byWhere.get(d.where);
      if (list) list.push(d);
      else this.byWhere.set(d.where, [d]);
    }
    this.attachments = flatten(facts.inspection.attachments);
    const own = policy.schoolDomains.length ? policy.schoolDomains : [domainOf(facts.envelope.mailFrom)].filter(Boolean);
    const rcpts = facts.envelope.rcptTo.map((r) => r.address);
    this.outsideIncludingPartners = rcpts.filter((a) => !domainIn(domainOf(a), own));
    this.outside = this.outsideIncludingPartners.filter((a) => !domainIn(domainOf(a), policy.partnerDomains));
    this.protectedMessage = !!facts.inspection.messageEncryption;
  }

  at(where: string): Detection[] {
    return this.byWhere.get(where) ?? [];
  }
  /** Detections in the subject and the message's own text bodies (not attachments). */
  inMessageText(): Detection[] {
    const out = [...this.at('subject')];
    for (const t of this.facts.inspection.texts) if (t.kind === 'body') out.push(...this.at(t.where));
    return out;
  }
  all(): Detection[] {
    return this.facts.detections;
  }
}

type Check = (ctx: Context) => Omit<Fired, 'severity'> & { severity?: number } | undefined;

const isPupil = (d: Detection) => d.strength === 'strong' && !!d.pupilIds?.length;
const isIdentifier = (d: Detection) => d.category === 'identifier' && d.validated !== false;
const isSensitive = (d: Detection) => d.category === 'special-category' || isIdentifier(d) || d.category === 'date-of-birth';

function finding(d: Detection, reason?: string): Finding {
  return { detector: d.detector, where: d.where, evidence: d.evidence, reason: reason ?? d.reason, span: [d.start, d.end], score: d.score };
}

const pupilNameIn = (rule: 'pupil-name-in-subject' | 'pupil-name-in-attachment-name', wheres: (ctx: Context) => string[], what: string): Check => (ctx) => {
  const internalToo = ctx.policy.rules[rule].internal_too === true;
  if (!internalToo && ctx.outsideIncludingPartners.length === 0) return undefined;
  const findings = wheres(ctx)
    .flatMap((w) => ctx.at(w).filter(isPupil))
    .slice(0, MAX_FINDINGS_PER_RULE)
    .map((d) => finding(d, `A pupil's name (${d.evidence}) is in ${what}.`));
  return { rule, findings };
};

const checkSubject = pupilNameIn('pupil-name-in-subject', () => ['subject'], 'the subject line');
const checkFileNames = pupilNameIn('pupil-name-in-attachment-name', (ctx) => ctx.attachments.map((a) => `filename:${a.where}`), 'an attachment’s file name');

/** Scored, not a keyword: names in a list, special-category terms, identifiers, dates of birth. */
const checkUnencryptedAttachment: Check = (ctx) => {
  const settings = ctx.policy.rules['unencrypted-sensitive-attachment'];
  const recipients = settings.trusted_partners_exempt ? ctx.outside : ctx.outsideIncludingPartners;
  if (recipients.length === 0 || ctx.protectedMessage) return undefined;
  const threshold = Number(settings.threshold);
  const classList = Number(settings.class_list_pupils);
  const findings: Finding[] = [];
  for (const a of ctx.attachments) {
    if (a.encryption === 'encrypted' || a.entries?.length) continue;
    const found = ctx.at(a.where);
    if (!found.length) continue;
    const pupils = new Set(found.filter(isPupil).flatMap((d) => d.pupilIds ?? []));
    const special = found.filter((d) => d.category === 'special-category');
    const ids = found.filter(isIdentifier);
    const dobs = found.filter((d) => d.category === 'date-of-birth');
    const contacts = found.filter((d) => d.category === 'contact');
    const parts: string[] = [];
    let score = 0;
    if (pupils.size >= classList) {
      score += threshold;
      parts.push(`${pupils.size} pupils named (a class list) +${threshold}`);
    } else if (pupils.size) {
      score += pupils.size;
      parts.push(`${pupils.size} pupil${pupils.size > 1 ? 's' : ''} named +${pupils.size}`);
    }
    const add = (list: Detection[], each: number, label: string) => {
      if (!list.length) return;
      const s = Math.min(list.length * each, threshold * 2);
      score += s;
      parts.push(`${list.length} ${label} +${s}`);
    };
    add(special, 3, 'special-category mention(s) near a pupil');
    add(ids, 3, 'validated identifier(s)');
    add(dobs, 2, 'date(s) of birth');
    if (pupils.size) add(contacts, 1, 'contact detail(s)');
    if (score < threshold) continue;
    const reason = `${a.filename || 'An attachment'} is not encrypted and holds personal data (score ${score}, threshold ${threshold}: ${parts.join(', ')}).`;
    findings.push({ detector: 'attachment-sensitivity', where: a.where, evidence: summarise(found), reason, score });
    findings.push(...[...special, ...ids, ...dobs].slice(0, 5).map((d) => finding(d)));
  }
  return { rule: 'unencrypted-sensitive-attachment', findings };
};

const checkPasswordWithFile: Check = (ctx) => {
  const locked = ctx.attachments.filter((a) => a.encryption === 'encrypted' || a.encryption === 'partly-encrypted');
  if (!locked.length) return undefined;
  const lockedWheres = new Set(locked.map((a) => a.where));
  const passwords = ctx.all().filter((d) => d.category === 'password' && !lockedWheres.has(d.where) && !d.where.startsWith('filename:'));
  if (!passwords.length) return undefined;
  const names = locked.map((a) => a.filename).filter(Boolean).slice(0, 3).join(', ');
  return {
    rule: 'password-in-same-email',
    findings: passwords.map((d) => finding(d, `The email gives a password (${d.evidence}) beside the encrypted attachment${names ? ` ${names}` : ''}.`)),
  };
};

// Subject prefixes for forwarding in the languages staff's mail clients use.
const FORWARD_SUBJECT = new RE2('^\\s*(?:(?:re|aw|sv)\\s*:\\s*)*(?:fw|fwd|wg|tr|rv|doorst|vs|fs|enc)\\s*:', 'i');
const FORWARD_BODY = new RE2('(?:-{3,}\\s*(?:Forwarded message|Original Message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|Doorgestuurd bericht)\\s*-{3,}|Begin forwarded message:)', 'i');
const AUTO_FORWARD_HEADERS = ['resent-from', 'resent-to', 'resent-sender', 'resent-date', 'x-forwarded-to', 'x-forwarded-for', 'x-ms-exchange-inbox-rules-loop'];

const checkForward: Check = (ctx) => {
  const { inspection, roster, webmailDomains, envelope } = ctx.facts;
  const personal = envelope.rcptTo.map((r) => r.address).filter((a) => webmailDomains.has(domainOf(a)));
  if (!personal.length) return undefined;
  const signals: string[] = [];
  if (FORWARD_SUBJECT.test(inspection.subject)) signals.push('the subject starts with a forwarding prefix');
  if (inspection.texts.some((t) => t.kind === 'body' && FORWARD_BODY.test(t.text))) signals.push('the body quotes a forwarded message');
  if (ctx.attachments.some((a) => a.isMessage)) signals.push('an original email is attached');
  const headerKeys = new Set(inspection.headers.map((h) => h.key));
  const autoHeader = AUTO_FORWARD_HEADERS.find((k) => headerKeys.has(k));
  if (autoHeader) signals.push(`the mail server marked it as forwarded (${autoHeader})`);
  if (inspection.headers.some((h) => h.key === 'auto-submitted' && h.value.slice(0, 100).toLowerCase().includes('auto-forwarded'))) signals.push('the mail server marked it as auto-forwarded');
  if (!signals.length) return undefined;
  const findings: Finding[] = [];
  let severity: number | undefined;
  const base = ctx.policy.rules['forward-to-personal-domain'].severity;
  for (const address of personal) {
    if (roster && roster.pupilsByContact(address).length) continue; // a parent on the roster
    const own = resemblesSender(address, envelope.mailFrom, inspection.from?.name ?? '');
    if (own) severity = Math.min(5, base + 1);
    findings.push({
      detector: 'forwarding',
      where: 'envelope',
      evidence: redactAddress(address),
      reason: `School email forwarded to a personal ${domainOf(address)} address${own ? ' that looks like the sender’s own account' : ''} (${signals.join('; ')}).`,
    });
  }
  return { rule: 'forward-to-personal-domain', findings, severity };
};

const checkIdentifiers: Check = (ctx) => {
  if (ctx.outside.length === 0 && ctx.outsideIncludingPartners.length === 0) return undefined;
  if (ctx.protectedMessage) return undefined;
  const ids = ctx.inMessageText().filter(isIdentifier);
  if (ids.length < Number(ctx.policy.rules['uk-identifier-in-message'].min_identifiers)) return undefined;
  // Only the findings a rule keeps are written out (a class list pasted into a message has hundreds).
  return { rule: 'uk-identifier-in-message', findings: ids.slice(0, MAX_FINDINGS_PER_RULE).map((d) => finding(d)) };
};

const checkUninspectable: Check = (ctx) => {
  const findings: Finding[] = ctx.facts.inspection.uninspectable.map((u) => ({
    detector: 'inspection',
    where: u.where,
    evidence: '',
    reason: `Could not be checked: ${u.reason}`,
  }));
  for (const a of ctx.attachments) {
    if (a.encryption === 'unknown' && !ctx.facts.inspection.uninspectable.some((u) => u.where === a.where)) {
      findings.push({ detector: 'inspection', where: a.where, evidence: '', reason: `Could not tell whether ${a.filename || 'the attachment'} is encrypted.` });
    }
  }
  return { rule: 'uninspectable-attachment', findings };
};

const checkMisdirected: Check = (ctx) => {
  const roster = ctx.facts.roster;
  if (!roster) return undefined;
  const mentioned = new Map<string, Detection>();
  for (const d of ctx.all()) if (isPupil(d)) for (const id of d.pupilIds ?? []) if (!mentioned.has(id)) mentioned.set(id, d);
  if (!mentioned.size) return undefined;
  const hasPersonalData = ctx.all().some(isSensitive) || ctx.at('subject').some(isPupil) || ctx.attachments.some((a) => ctx.at(a.where).some(isPupil));
  if (!hasPersonalData) return undefined;
  const findings: Finding[] = [];
  for (const r of ctx.facts.envelope.rcptTo) {
    const children = roster.pupilsByContact(r.address);
    if (!children.length) continue;
    const own = new Set(children.map((p) => p.id));
    for (const [id, d] of mentioned) {
      if (own.has(id)) continue;
      findings.push({
        ...finding(d),
        reason: `Personal data about ${d.evidence} is addressed to ${redactAddress(r.address)}, who the roster lists as a parent contact of other pupils only.`,
      });
    }
  }
  return { rule: 'misdirected-pupil-data', findings };
};

const CHECKS: Check[] = [
  checkSubject,
  checkFileNames,
  checkUnencryptedAttachment,
  checkPasswordWithFile,
  checkForward,
  checkIdentifiers,
  checkUninspectable,
  checkMisdirected,
];

export function flatten(list: AttachmentReport[]): AttachmentReport[] {
  const out: AttachmentReport[] = [];
  const walk = (l: AttachmentReport[]) => {
    for (const a of l) {
      out.push(a);
      if (a.entries?.length) walk(a.entries);
    }
  };
  walk(list);
  return out;
}

function summarise(found: Detection[]): string {
  const counts = new Map<string, number>();
  for (const d of found) counts.set(d.detector, (counts.get(d.detector) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(', ');
}

/** `jane.smith@gmail.com` → `j***@gmail.com`: enough for the business manager to recognise it. */
export function redactAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${address[0]}***${address.slice(at)}`;
}

/** Does a personal address look like the sender's own (jane.smith@school → janesmith84@gmail)? */
export function resemblesSender(personal: string, sender: string, senderName: string): boolean {
  const local = letters(personal.slice(0, personal.lastIndexOf('@')));
  // Addresses and display names are message text: split and filter by character, no RegExp.
  const words = [...splitOn(sender.slice(0, sender.lastIndexOf('@')), ADDRESS_SEPARATORS), ...splitOn(senderName, NAME_SEPARATORS)]
    .map(letters)
    .filter((w) => w.length >= 3);
  if (!local || !words.length) return false;
  return words.some((w) => local.includes(w));
}

const ADDRESS_SEPARATORS = '._-+';
const NAME_SEPARATORS = ",.'’-";

function splitOn(s: string, separators: string): string[] {
  const words: string[] = [];
  let word = '';
  for (const ch of s) {
    if (separators.includes(ch) || ch.trim() === '') {
      if (word) words.push(word);
      word = '';
    } else word += ch;
  }
  if (word) words.push(word);
  return words;
}

/** Only the ASCII letters a-z, after lower-casing and taking accents off. */
function letters(s: string): string {
  const folded = s.toLowerCase().normalize('NFKD');
  let out = '';
  for (let i = 0; i < folded.length; i++) {
    const c = folded.charCodeAt(i);
    if (c >= 97 && c <= 122) out += folded[i];
  }
  return out;
}
