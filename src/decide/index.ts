// Decide: from what was found in a message to one decision the school can defend.
// Pure: facts in, verdict out. The facts are first read into one model of the message
// (./model.ts: who the personal data is about, how sensitive it is; ./recipients.ts: who receives
// it and whether they are entitled to it; whether it is protected), and every rule reads that
// model. Every rule that fires is kept with its reasons in plain English; the action is the
// strictest among them (block > quarantine > deliver).
import type { Detection } from '../detect/index.ts';
import { DETECTORS } from '../../detectors/index.ts';
import type { AttachmentReport, Inspection, TextLike } from '../inspect/index.ts';
import { foldWords } from '../roster/fold.ts';
import type { Roster } from '../roster/index.ts';
import type { Envelope, Finding, Verdict } from '../types.ts';
import { forwardingSigns, resemblesSender } from './forwarding.ts';
import { modelText, textsOf, type FieldKind, type Mention, type TextKind, type TextModel, type Tied } from './model.ts';
import { domainOf, type Policy } from './policy.ts';
import { classifyRecipient, entitled, redactAddress, whyNotEntitled, type Recipient } from './recipients.ts';
import { compareActions, strictest, type RuleId } from './rules.ts';

export { loadPolicy, type Policy } from './policy.ts';
export { RULES, RULE_IDS, RULE_ALIASES, ruleDefinition, type RuleId } from './rules.ts';
export { redactAddress, isWebmailAddress, loadWebmailDomains } from './recipients.ts';
export { resemblesSender } from './forwarding.ts';

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
  learnTopics(policy);
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

/** Recipients outside the school from which a message is a newsletter or a class update (ModelOptions.broadcast). */
const BROADCAST_RECIPIENTS = 3;

/** The model of the message, computed once and read by every check. */
class Context {
  readonly facts: Facts;
  readonly policy: Policy;
  readonly byWhere = new Map<string, Detection[]>();
  readonly attachments: AttachmentReport[];
  /** Every envelope recipient, classified. */
  readonly recipients: Recipient[];
  readonly outside: string[];
  readonly outsideIncludingPartners: string[];
  readonly #texts = new Map<string, { kind: TextKind; text?: TextLike }>();
  readonly #models = new Map<string, TextModel>();

  constructor(facts: Facts, policy: Policy) {
    this.facts = facts;
    this.policy = policy;
    for (let k = 0; k < facts.detections.length; k++) {
      const d = facts.detections[k];
      const list = this.byWhere.get(d.where);
      if (list) list.push(d);
      else this.byWhere.set(d.where, [d]);
    }
    this.attachments = flatten(facts.inspection.attachments);
    const own = policy.schoolDomains.length ? policy.schoolDomains : [domainOf(facts.envelope.mailFrom)].filter(Boolean);
    this.recipients = facts.envelope.rcptTo.map((r) => classifyRecipient(r.address, { own, partners: policy.partnerDomains, webmailDomains: facts.webmailDomains, roster: facts.roster }));
    this.outsideIncludingPartners = this.recipients.filter((r) => r.kind !== 'internal').map((r) => r.address);
    this.outside = this.recipients.filter((r) => r.kind !== 'internal' && r.kind !== 'partner').map((r) => r.address);
    // A message encrypted whole (S/MIME, PGP) has nothing readable in it, so no rule finds
    // anything there: the rules read every text and are never skipped for an encryption sign,
    // which a plain attachment or a plain body beside an encrypted part would hide behind.
    for (const t of textsOf(facts.inspection)) this.#texts.set(t.where, { kind: t.kind, text: t.text });
    for (const a of this.attachments) if (a.filename) this.#texts.set(`filename:${a.where}`, { kind: 'file-name' });
  }

  at(where: string): Detection[] {
    return this.byWhere.get(where) ?? [];
  }

  /**
   * Where every text read from an attachment is, in message order (its own, and what it holds),
   * and where its findings are when the texts are not at hand (a decision replayed from them).
   */
  attachmentTexts(): string[] {
    const wheres = new Set([...this.#texts].filter(([, t]) => t.kind === 'attachment').map(([where]) => where));
    for (const where of this.byWhere.keys()) if (where.startsWith('attachment:')) wheres.add(where);
    return [...wheres];
  }

  /** The model of one text (subject, body, attachment, file name), built on first use. */
  model(where: string): TextModel {
    let m = this.#models.get(where);
    if (!m) {
      const t = this.#texts.get(where);
      const kind: TextKind = t?.kind ?? (where === 'subject' ? 'subject' : where.startsWith('filename:') ? 'file-name' : where.startsWith('attachment:') ? 'attachment' : 'body');
      m = modelText(where, kind, t?.text, this.at(where), this.facts.roster, {
        listMinPupils: Number(this.policy.rules['personal-data-in-body'].list_min_pupils),
        broadcast: this.outsideIncludingPartners.length >= BROADCAST_RECIPIENTS,
      });
      this.#models.set(where, m);
    }
    return m;
  }

  /** Models of every text that has detections, in message order. */
  models(): TextModel[] {
    const wheres = new Set<string>([...this.#texts.keys(), ...this.byWhere.keys()]);
    return [...wheres].filter((w) => this.byWhere.has(w)).map((w) => this.model(w));
  }

  /** Models of the message's own text: its subject and bodies (not attachments). */
  messageText(): TextModel[] {
    return this.models().filter((m) => m.kind === 'subject' || m.kind === 'body');
  }

  all(): Detection[] {
    return this.facts.detections;
  }
}

type Check = (ctx: Context) => Omit<Fired, 'severity'> & { severity?: number } | undefined;

const isPupil = (d: Detection) => d.strength === 'strong' && !!d.pupilIds?.length;

function finding(d: Detection, reason?: string): Finding {
  return { detector: d.detector, where: d.where, evidence: d.evidence, reason: reason ?? d.reason, span: [d.start, d.end], score: d.score };
}

// ---------------------------------------------------------------------------------------------
// Words for people: what kind of data, about whom.

/** The kind of data each detector finds, in words: the shipped ones and a school's own. */
const TOPICS = new Map<string, string>();
for (const d of DETECTORS) if (d.kind === 'pattern' && d.topic) TOPICS.set(d.id, d.topic);
const registered = new WeakSet<object>();
function learnTopics(policy: Policy): void {
  if (registered.has(policy.detectors)) return;
  registered.add(policy.detectors);
  for (const d of policy.detectors) if (d.topic && !TOPICS.has(d.id)) TOPICS.set(d.id, d.topic);
}

/** "special educational needs or disability and a health or medical condition" */
function kindsOf(tied: Tied[]): string {
  return listWords([...new Set(tied.map((t) => TOPICS.get(t.detection.detector) ?? 'special-category information'))]);
}

/** The words found, as written (vocabulary, not personal data): "SEN, asthma, EHCP". */
function termsOf(tied: Tied[], max = 5): string {
  const seen = new Set<string>();
  for (const t of tied) {
    seen.add(t.detection.evidence);
    if (seen.size >= max) break;
  }
  return [...seen].join(', ');
}

function listWords(words: string[]): string {
  if (words.length <= 1) return words[0] ?? '';
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Whom a mention is about, redacted: "O***** W*****", or "a person identified by a UPN". */
function whom(m: Mention, named: Map<string, Detection>): string {
  if (m.how === 'full-name') return m.source.evidence;
  if (m.how === 'forename') return named.get(m.pupilIds[0])?.evidence ?? m.source.evidence;
  return m.pupilIds.length ? 'a pupil identified by their UPN' : `a person identified by ${m.how === 'date-of-birth' ? 'a date of birth' : 'an identifier'}`;
}

// ---------------------------------------------------------------------------------------------
// Rules

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

/**
 * Scored, not a keyword: pupils named in full, special-category data tied to a named pupil or an
 * identified person, identifiers, dates of birth. A forename alone never scores.
 */
const checkUnencryptedAttachment: Check = (ctx) => {
  const settings = ctx.policy.rules['unencrypted-sensitive-attachment'];
  const recipients = settings.trusted_partners_exempt ? ctx.outside : ctx.outsideIncludingPartners;
  if (recipients.length === 0) return undefined;
  const threshold = Number(settings.threshold);
  const classList = Number(settings.class_list_pupils);
  const minIdentifiers = Math.max(1, Number(ctx.policy.rules['identifier-in-message'].min_identifiers) || 1);
  const findings: Finding[] = [];
  // Scored text by text, each under the attachment it came from: an archive's files, an attached
  // email's body and headers, a document's own text beside what is embedded in it. A text is
  // protected only when its attachment, or one that holds it, is encrypted. (Scoring reports
  // missed every text whose place is not exactly a report's: an attached email's body, and a
  // document with anything embedded in it, whose own text was skipped.)
  const best = new Map<AttachmentReport, { where: string; score: number; m: TextModel; what: string[] }>();
  const byWhere = new Map(ctx.attachments.map((a) => [a.where, a]));
  for (const where of ctx.attachmentTexts()) {
    if (!ctx.at(where).length) continue;
    // The attachments that hold this text: its own place, then each place it lies under.
    const holders: AttachmentReport[] = [];
    for (let end = where.length; end > 0; end = where.lastIndexOf('/', end - 1)) {
      const holder = byWhere.get(where.slice(0, end));
      if (holder) holders.push(holder);
    }
    if (!holders.length || holders.some((a) => a.encryption === 'encrypted')) continue;
    const a = holders[0];
    const m = ctx.model(where);
    const pupils = m.named.size;
    const listed = m.listed.size;
    const contacts = m.contacts;
    let score = 0;
    const what: string[] = [];
    const isList = pupils >= classList || listed >= classList;
    if (isList) {
      score += threshold;
      what.push(`a list of ${plural(Math.max(pupils, listed), 'pupil')}`);
    } else if (pupils) {
      score += pupils;
      what.push(pupils === 1 ? "a pupil's name" : `the names of ${pupils} pupils`);
    }
    const add = (n: number, each: number) => {
      const s = Math.min(n * each, threshold * 2);
      score += s;
      return s;
    };
    if (m.special.length) {
      // A named pupil's record with a special-category field ("Name: Isla Pemberton / Medical:
      // asthma") is sensitive by itself, as in the email's own text (personal-data-in-body): held
      // in the body, it went out as info.txt. A newsletter's "Well done to Isla Pemberton, who ran
      // for Asthma UK" is prose, and scores as before.
      if (m.special.some((t) => t.field && t.about.how !== 'identifier' && t.about.how !== 'date-of-birth')) score += threshold;
      else add(m.special.length, 3);
      what.push(`${kindsOf(m.special)} (${termsOf(m.special)})`);
    }
    if (m.identifiers.length) {
      // UK identifiers leaving the school unprotected are held wherever they are: as many as make
      // identifier-in-message hold the email's own text make an attachment sensitive by themselves.
      if (m.identifiers.length >= minIdentifiers) score += threshold;
      else add(m.identifiers.length, 3);
      what.push(identifierWords(m.identifiers));
    }
    if (m.datesOfBirth.length) {
      add(m.datesOfBirth.length, 2);
      what.push(m.datesOfBirth.length === 1 ? 'a date of birth' : 'dates of birth');
    }
    if (pupils && contacts.length) {
      add(contacts.length, 1);
      what.push('contact details');
    }
    if (score < threshold) continue;
    // One finding an attachment: the text of it that scored highest (an email's body and its HTML say the same).
    const had = best.get(a);
    if (!had || score > had.score) best.set(a, { where, score, m, what });
  }
  for (const [a, { where, score, m, what }] of best) {
    const name = a.filename || 'An attachment';
    const reason = `${name} is not encrypted and holds personal data: ${listWords(what)}.`;
    findings.push({ detector: 'attachment-sensitivity', where, evidence: summarise(m), reason, score });
    findings.push(...[...m.special.map((t) => t.detection), ...m.identifiers, ...m.datesOfBirth].slice(0, 5).map((d) => finding(d)));
  }
  return { rule: 'unencrypted-sensitive-attachment', findings };
};

const IDENTIFIER_WORDS: Record<string, [one: string, many: string]> = {
  'uk-upn': ['a UPN', 'UPNs'],
  'uk-uln': ['a ULN', 'ULNs'],
  'uk-nhs-number': ['an NHS number', 'NHS numbers'],
  'uk-ni-number': ['a National Insurance number', 'National Insurance numbers'],
  'scottish-candidate-number': ['a Scottish Candidate Number', 'Scottish Candidate Numbers'],
};

/** "UPNs and NHS numbers", "a UPN". */
function identifierWords(ids: Detection[]): string {
  const words = (d: Detection) => IDENTIFIER_WORDS[d.detector] ?? ['an identifier', 'identifiers'];
  if (ids.length === 1) return words(ids[0])[0];
  return listWords([...new Set(ids.map((d) => words(d)[1]))]);
}

const checkPasswordWithFile: Check = (ctx) => {
  const locked = ctx.attachments.filter((a) => a.encryption === 'encrypted' || a.encryption === 'partly-encrypted');
  if (!locked.length) return undefined;
  const lockedWheres = new Set(locked.map((a) => a.where));
  const passwords = ctx.all().filter((d) => d.category === 'password' && !lockedWheres.has(d.where) && !d.where.startsWith('filename:'));
  if (!passwords.length) return undefined;
  // Each locked file is named by a finding of its own, at its place: notices, the console and
  // `check` then know the name for a file's and mask it where it names a pupil (a name only
  // quoted in the password's reason would be shown to the business manager as it is).
  const files: Finding[] = locked
    .filter((a) => a.filename)
    .slice(0, 3)
    .map((a) => ({ detector: 'encryption', where: a.where, evidence: '', reason: `${a.filename} is encrypted, and a password is given in the same email.` }));
  return {
    rule: 'password-in-same-email',
    findings: [
      ...passwords.map((d) => finding(d, `The email gives a password (${d.evidence}) ${d.where === 'subject' ? 'in its subject line ' : ''}beside ${locked.length > 1 ? 'its encrypted attachments' : 'its encrypted attachment'}.`)),
      ...files,
    ],
  };
};

const checkForward: Check = (ctx) => {
  const { inspection, envelope } = ctx.facts;
  // Personal webmail addresses (subdomains too) that are not a parent on the roster.
  const personal = ctx.recipients.filter((r) => r.kind === 'webmail');
  if (!personal.length) return undefined;
  const signs = forwardingSigns(inspection, ctx.attachments, ctx.recipients.map((r) => r.address), ctx.policy.schoolDomains);
  if (!signs.length) return undefined;
  const findings: Finding[] = [];
  let severity: number | undefined;
  const base = ctx.policy.rules['forward-to-personal-domain'].severity;
  for (const r of personal) {
    const own = resemblesSender(r.address, envelope.mailFrom, inspection.from?.name ?? '');
    if (own) severity = Math.min(5, base + 1);
    findings.push({
      detector: 'forwarding',
      where: 'envelope',
      evidence: redactAddress(r.address),
      reason: `School email forwarded to a personal ${domainOf(r.address)} address${own ? ' that looks like the sender’s own account' : ''} (${signs.join('; ')}).`,
    });
  }
  return { rule: 'forward-to-personal-domain', findings, severity };
};

/** Identifiers of the categories the school counts (UK identifiers, and its own detectors' kinds). */
const checkIdentifiers: Check = (ctx) => {
  if (ctx.outsideIncludingPartners.length === 0) return undefined;
  const settings = ctx.policy.rules['identifier-in-message'];
  const categories = new Set(settings.categories as string[]);
  const ids: Detection[] = [];
  for (const m of ctx.messageText()) {
    if (categories.size === 1 && categories.has('identifier')) {
      for (const d of m.identifiers) ids.push(d);
    } else for (const d of m.detections) if (d.category && categories.has(d.category) && d.validated !== false) ids.push(d);
  }
  if (ids.length < Number(settings.min_identifiers)) return undefined;
  // Only the findings a rule keeps are written out (a class list pasted into a message has hundreds).
  return { rule: 'identifier-in-message', findings: ids.slice(0, MAX_FINDINGS_PER_RULE).map((d) => finding(d)) };
};

const checkUninspectable: Check = (ctx) => {
  // A message that cannot be inspected is held, never waved through, by default even between the
  // school's own people; a school whose internal mail passes through the gateway and carries
  // files it cannot read (a nativity video to the staff list) may set internal_too: false.
  const leaving = ctx.outsideIncludingPartners.length > 0;
  if (!leaving && ctx.policy.rules['uninspectable-attachment'].internal_too === false) return undefined;
  // A scanned page past the text-recognition budget matters only when the mail leaves the school.
  const findings: Finding[] = ctx.facts.inspection.uninspectable.filter((u) => leaving || !u.outsideOnly).map((u) => ({
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

/** What the message's own text says about each pupil: special-category data and lists. */
interface BodyData {
  /** Pupil id → the tied special-category terms and the text they are in. */
  special: Map<string, { tied: Tied[]; model: TextModel; mention: Mention }>;
  /** Special-category data tied to an identified person not on the roster. */
  unnamed: Array<{ tied: Tied; model: TextModel }>;
  /** The largest list of pupils with personal fields in one text. */
  list?: { model: TextModel; kinds: Set<FieldKind> };
}

function bodyData(ctx: Context): BodyData {
  const out: BodyData = { special: new Map(), unnamed: [] };
  for (const m of ctx.messageText()) {
    for (const t of m.special) {
      if (!t.about.pupilIds.length) {
        out.unnamed.push({ tied: t, model: m });
        continue;
      }
      for (const id of t.about.pupilIds) {
        const entry = out.special.get(id) ?? { tied: [], model: m, mention: t.about };
        entry.tied.push(t);
        out.special.set(id, entry);
      }
    }
    if (m.listed.size && (!out.list || m.listed.size > out.list.model.listed.size)) {
      const kinds = new Set<FieldKind>();
      for (const k of m.listed.values()) for (const x of k) kinds.add(x);
      out.list = { model: m, kinds };
    }
  }
  return out;
}

/**
 * Special-category data about a named pupil, or a list of pupils with personal fields, in the
 * message's own text, to a recipient not entitled to it: not internal, not a partner, and not a
 * parent or carer of the pupils concerned. Parents of other pupils are left to
 * misdirected-pupil-data, which says exactly that.
 */
const checkBodyPersonalData: Check = (ctx) => {
  const candidates = ctx.recipients.filter((r) => r.kind === 'webmail' || r.kind === 'outside');
  if (!candidates.length) return undefined;
  const data = bodyData(ctx);
  if (!data.special.size && !data.unnamed.length && !data.list) return undefined;
  const findings: Finding[] = [];
  for (const r of candidates) {
    const to = redactAddress(r.address);
    if (data.list) {
      const { model, kinds } = data.list;
      const n = model.listed.size;
      findings.push({
        detector: 'personal-data-model',
        where: model.where,
        evidence: `${plural(n, 'pupil')} listed`,
        reason: `The email's ${model.kind === 'subject' ? 'subject' : 'text'} lists ${plural(n, 'pupil')} with their ${listWords([...kinds].map(fieldWords))}, and it is addressed to ${to}: ${whyNotEntitled(r)}.`,
      });
    }
    for (const [id, { tied, model, mention }] of data.special) {
      if (findings.length >= MAX_FINDINGS_PER_RULE) break;
      if (entitled(r, [id])) continue;
      const who = whom(mention, model.named);
      findings.push({
        ...finding(tied[0].detection),
        evidence: who,
        reason: `The email's text gives ${kindsOf(tied)} (${termsOf(tied)}) about ${who}, and it is addressed to ${to}: ${whyNotEntitled(r)}.`,
      });
    }
    for (const { tied, model } of data.unnamed.slice(0, 3)) {
      findings.push({
        ...finding(tied.detection),
        evidence: tied.about.source.evidence,
        reason: `The email's text gives ${kindsOf([tied])} (${termsOf([tied])}) about ${whom(tied.about, model.named)} (${tied.about.source.evidence}), and it is addressed to ${to}: ${whyNotEntitled(r)}.`,
      });
    }
  }
  return { rule: 'personal-data-in-body', findings };
};

function fieldWords(k: FieldKind): string {
  return k === 'date of birth' ? 'dates of birth' : k === 'identifier' ? 'identifiers' : k === 'special-category' ? 'special-category details (health, SEN and the like)' : k;
}

/** Pupils the message carries personal data about: whom (redacted, worked out when read) and what. */
function personalDataAbout(ctx: Context): Map<string, { evidence: () => string; what: string }> {
  const about = new Map<string, { evidence: () => string; what: string }>();
  const note = (ids: readonly string[], evidence: () => string, what: string) => {
    for (const id of ids) if (!about.has(id)) about.set(id, { evidence, what });
  };
  for (const m of ctx.models()) {
    if (m.kind === 'subject' || m.kind === 'file-name' || m.kind === 'attachment') {
      // A name in the subject or on a file, or a document naming a pupil (a report, a plan, a list).
      const what = m.kind === 'subject' ? 'their name in the subject line' : m.kind === 'file-name' ? 'their name on an attached file' : 'an attachment about them';
      for (const [id, d] of m.named) note([id], () => d.evidence, what);
      continue;
    }
    // (Indexed: a class list has tens of thousands of each.)
    for (let k = 0; k < m.special.length; k++) {
      const t = m.special[k];
      note(t.about.pupilIds, () => whom(t.about, m.named), TOPICS.get(t.detection.detector) ?? 'special-category information');
    }
    for (let k = 0; k < m.records.length; k++) {
      const t = m.records[k];
      note(t.about.pupilIds, () => whom(t.about, m.named), TOPICS.get(t.detection.detector) ?? 'behaviour or attendance records');
    }
    for (let k = 0; k < m.personal.length; k++) {
      const t = m.personal[k];
      note(t.about.pupilIds, () => whom(t.about, m.named), t.detection.category === 'date-of-birth' ? 'their date of birth' : 'an identifier');
    }
    for (const id of m.listed.keys()) note([id], () => m.named.get(id)?.evidence ?? '', 'a list of pupils with personal details');
  }
  return about;
}

const checkMisdirected: Check = (ctx) => {
  const roster = ctx.facts.roster;
  if (!roster) return undefined;
  const contacts = ctx.recipients.filter((r) => r.pupils.size && r.kind !== 'internal' && r.kind !== 'partner');
  if (!contacts.length) return undefined;
  const about = personalDataAbout(ctx);
  const findings: Finding[] = [];
  for (const r of contacts) {
    for (const [id, { evidence: whose, what }] of about) {
      if (r.pupils.has(id)) continue;
      if (findings.length >= MAX_FINDINGS_PER_RULE) break;
      const evidence = whose();
      findings.push({
        detector: 'personal-data-model',
        where: 'message',
        evidence,
        reason: `Personal data about ${evidence} (${what}) is addressed to ${redactAddress(r.address)}: ${whyNotEntitled({ ...r, kind: 'roster-contact' })}.`,
      });
    }
    if (!findings.length) findings.push(...wrongFamilyGreeting(ctx, roster, r));
  }
  return { rule: 'misdirected-pupil-data', findings };
};

// With Welsh: annwyl (dear), helo, shwmae.
const GREETINGS = new Set(['dear', 'hi', 'hello', 'morning', 'afternoon', 'evening', 'annwyl', 'helo', 'shwmae']);
const TITLES = new Set(['mr', 'mrs', 'ms', 'miss', 'mx', 'dr']);

/**
 * "Dear Mrs Wright, … Oliver …" sent to the contact of another pupil: the greeting names the
 * family of a pupil named in the letter (in full, or by the forename that, with the greeting's
 * surname, is that pupil's name) who is not the recipient's child.
 */
function wrongFamilyGreeting(ctx: Context, roster: Roster, r: Recipient): Finding[] {
  const bodies = ctx.facts.inspection.texts.filter((t) => t.kind === 'body');
  const surnames = rosterSurnames(roster);
  for (const body of bodies) {
    const text = body.utf8 ?? body.text;
    const surname = greetingSurname(text, (key) => surnames.has(key));
    if (!surname) continue;
    const own = [...r.pupils].map((id) => roster.pupilById(id));
    if (own.some((p) => p && surnameKeys(p).includes(surname))) continue;
    const m = ctx.model(body.where);
    const weakWords = new Set<string>();
    for (const d of m.detections) {
      if (d.detector !== 'pupil-name' || d.strength !== 'weak') continue;
      const spans = d.mentions ?? [d.start, d.end];
      for (let k = 0; k < spans.length; k += 2) for (const w of foldWords(text.slice(spans[k], spans[k + 1]))) weakWords.add(w);
    }
    for (const p of roster.pupils) {
      if (r.pupils.has(p.id) || !surnameKeys(p).includes(surname)) continue;
      const named = m.named.has(p.id) || forenameKeysOf(p).some((f) => f.split(' ').every((w) => weakWords.has(w)));
      if (!named) continue;
      const family = surname.split(' ').map((w) => `${w[0].toUpperCase()}${'*'.repeat(w.length - 1)}`).join('-');
      return [{
        detector: 'personal-data-model',
        where: body.where,
        evidence: `the ${family} family`,
        reason: `The letter greets the ${family} family and writes about their child, but it is addressed to ${redactAddress(r.address)}: the roster lists this address as a contact of another pupil only.`,
      }];
    }
  }
  return [];
}

const surnameKeys = (p: { legalSurname?: string; preferredSurname?: string }) =>
  [p.legalSurname, p.preferredSurname].filter((s): s is string => !!s).map((s) => foldWords(s).join(' '));
const forenameKeysOf = (p: { legalForename?: string; preferredForename?: string }) =>
  [p.legalForename, p.preferredForename].filter((s): s is string => !!s).map((s) => foldWords(s).join(' '));

/** Every pupil's surname as greetingSurname compares it (folded words joined by a space), once per roster. */
const surnamesOfRoster = new WeakMap<Roster, Set<string>>();
function rosterSurnames(roster: Roster): Set<string> {
  let keys = surnamesOfRoster.get(roster);
  if (!keys) surnamesOfRoster.set(roster, (keys = new Set(roster.pupils.flatMap(surnameKeys))));
  return keys;
}

/**
 * The surname in a letter's greeting ("Dear Mrs Wright," → "wright"), folded; '' when none. A
 * surname of several words (Smith-Jones folds to two, Van der Berg to three) is the longest run of
 * words after the title that `known` says is a surname; without one, the first word.
 */
export function greetingSurname(text: TextLike, known: (key: string) => boolean = () => false): string {
  // The greeting is the first line with words, within the first few lines.
  let pos = 0;
  for (let line = 0; line < 6 && pos < text.length; line++) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const words = foldWords(text.slice(pos, Math.min(end, pos + 200)));
    pos = end + 1;
    if (!words.length) continue;
    if (!GREETINGS.has(words[0]) && !(words[0] === 'good' && GREETINGS.has(words[1] ?? ''))) return '';
    // Dear Mrs Wright / Dear Mr and Mrs Wright / Good morning Mrs Wright: the word after the last title.
    let t = -1;
    for (let i = 0; i < words.length && i < 8; i++) if (TITLES.has(words[i])) t = i;
    if (t < 0 || t + 1 >= words.length) return '';
    const after = words.slice(t + 1, t + 4);
    for (let k = after.length; k > 1; k--) {
      const key = after.slice(0, k).join(' ');
      if (known(key)) return key;
    }
    return after[0];
  }
  return '';
}

/**
 * To and Cc (not Bcc) show several parents' or personal addresses to each other: at least
 * `min_recipients` roster contacts or personal webmail addresses outside the school.
 */
const checkRecipientsExposed: Check = (ctx) => {
  if (!ctx.outside.length) return undefined;
  const min = Number(ctx.policy.rules['recipients-exposed'].min_recipients);
  const { inspection, roster, webmailDomains } = ctx.facts;
  const own = ctx.policy.schoolDomains.length ? ctx.policy.schoolDomains : [domainOf(ctx.facts.envelope.mailFrom)].filter(Boolean);
  const seen = new Set<string>();
  const exposed: string[] = [];
  for (const a of [...inspection.to, ...inspection.cc]) {
    const address = a.address.toLowerCase();
    if (!address || seen.has(address)) continue;
    seen.add(address);
    const r = classifyRecipient(address, { own, partners: ctx.policy.partnerDomains, webmailDomains, roster });
    if (r.kind === 'internal' || r.kind === 'partner') continue;
    if (r.pupils.size || r.webmail) exposed.push(address);
  }
  if (exposed.length < min) return undefined;
  const parents = exposed.filter((a) => roster?.pupilsByContact(a).length).length;
  const who = parents === exposed.length ? `${exposed.length} parents' and carers' email addresses` : parents ? `${exposed.length} parents' and personal email addresses` : `${exposed.length} personal email addresses`;
  return {
    rule: 'recipients-exposed',
    findings: [{
      detector: 'recipients',
      where: 'headers',
      evidence: exposed.slice(0, 3).map(redactAddress).join(', ') + (exposed.length > 3 ? ', …' : ''),
      reason: `The To and Cc lines show ${who} to everyone who receives it. Send it with the addresses in Bcc, or through the school's messaging system.`,
    }],
  };
};

const CHECKS: Check[] = [
  checkSubject,
  checkFileNames,
  checkUnencryptedAttachment,
  checkPasswordWithFile,
  checkForward,
  checkIdentifiers,
  checkBodyPersonalData,
  checkRecipientsExposed,
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

/** Counts of what was found, in words (for the evidence column): "12 pupils named, 3 dates of birth". */
function summarise(m: TextModel): string {
  const parts: string[] = [];
  if (m.named.size) parts.push(`${plural(m.named.size, 'pupil')} named`);
  if (m.special.length) parts.push(`${plural(m.special.length, 'special-category mention')}`);
  if (m.identifiers.length) parts.push(`${plural(m.identifiers.length, 'identifier')}`);
  if (m.datesOfBirth.length) parts.push(`${plural(m.datesOfBirth.length, 'date of birth', 'dates of birth')}`);
  return parts.join(', ');
}

