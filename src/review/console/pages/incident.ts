// One incident: what was stopped and why (rules in plain English, redacted evidence, highlighted in
// place), the message itself for roles that may read it (text body; HTML body in a sandboxed
// frame; headers, links and pictures on request; attachments with what was found in each), the
// ICO clock, the decisions this user may take, and the full history.
import { RULES } from '../../../decide/rules.ts';
import { saidOnce } from '../../../decide/said-once.ts';
import type { HistoryEntry, HeldMessage, Incident } from '../../../store/incidents.ts';
import type { Finding } from '../../../types.ts';
import type { SessionUser } from '../auth.ts';
import { minSeverityFor, type AttachmentFacts, type ConsoleContext } from '../context.ts';
import { html, type Html } from '../html.ts';
import { bytes, page, ruleTitle, severityBadge, STATUS_TITLES, statusBadge, time, whereTitle } from '../layout.ts';
import { linksIn, type DisplayMessage } from '../mail.ts';
import { can, canDecide, isSafeguarding } from '../roles.ts';
import { maskFindings } from '../privacy.ts';
import { clockCard } from './queue.ts';
import { outcomeRefusal } from '../../actions.ts';

export interface IncidentView {
  incident: Incident;
  held: HeldMessage | undefined;
  history: HistoryEntry[];
  message: DisplayMessage | null;
  attachments: AttachmentFacts[] | null;
  show: { headers: boolean; links: boolean; pictures: boolean };
  notice: Html | '';
  /** Arrived from a notice's "release" or "reject" link: that form first, to confirm. */
  decide?: 'release' | 'reject';
  /** …with its signed link, which the confirming form carries (and spends). */
  link?: string;
}

/** What the heading says the incident is now: held, blocked, or what was decided. */
export function headingState(inc: Pick<Incident, 'kind' | 'status' | 'action'>): string {
  switch (inc.status) {
    case 'released': return 'released, delivered to its recipients';
    case 'rejected': return 'rejected, not sent';
    case 'reported-to-ico': return 'reported to the ICO';
    case 'closed-no-breach': return 'closed, no breach';
    default: return inc.kind === 'near-miss' || inc.action === 'block' ? 'blocked, not sent' : 'held for review';
  }
}

export const HISTORY_WORDS: Record<string, string> = {
  held: 'Held for review',
  blocked: 'Blocked (not sent)',
  released: 'Released to the recipients',
  rejected: 'Rejected; the sender was told',
  escalated: 'Escalated: potential breach after release',
  'marked-potential-breach': 'Marked as a potential breach',
  'unmarked-potential-breach': 'No longer a potential breach',
  'status-reported-to-ico': 'Reported to the ICO',
  'status-closed-no-breach': 'Closed – no breach',
  'message-purged': 'Held message deleted (retention)',
  viewed: 'Opened the message',
  'viewed-record': 'Opened the incident record',
  'viewed-headers': 'Showed the full headers',
  'viewed-links': 'Showed the link addresses',
  'viewed-pictures': 'Showed the pictures in the message',
  'downloaded-original': 'Downloaded the original message',
  delivered: 'Delivered to the recipients',
  'notice-sent': 'Notification sent',
  notified: 'Notification sent',
  'notice-failed': 'Notification could not be sent',
  'release-failed': 'Release could not be delivered',
};

/** Does the text at a span look like the redacted evidence (same length, same kept characters)? */
export function matchesEvidence(candidate: string, evidence: string): boolean {
  const a = [...candidate];
  const b = [...evidence];
  if (a.length !== b.length || !a.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (b[i] === '*') continue;
    if (b[i] === ' ' && (a[i] === '\n' || a[i] === '\r' || a[i] === '\t')) continue;
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/**
 * Is this the term a finding's reason names in brackets ("… gives a health or medical condition
 * (asthma, EHCP) about O***** B******")? A special-category finding's evidence is whom it is
 * about, and its span the condition itself: the condition is marked where it stands.
 */
export function quotedInReason(candidate: string, reason: string): boolean {
  // A term wrapped over a line end reads with one space in the reason, as in the finding's evidence.
  let word = '';
  for (const ch of candidate.toLowerCase()) {
    const blank = ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t' || ch === '\u00a0';
    if (!blank) word += ch;
    else if (!word.endsWith(' ')) word += ' ';
  }
  if (word.trim().length < 2) return false;
  for (let open = reason.indexOf('('); open >= 0; open = reason.indexOf('(', open + 1)) {
    const close = reason.indexOf(')', open);
    if (close < 0) break;
    if (reason.slice(open + 1, close).toLowerCase().split(', ').includes(word)) return true;
  }
  return false;
}

/**
 * The text with each finding's evidence marked in place. Spans are indices into the JavaScript
 * string (UTF-16 code units), as the detectors report them for every text, whether they scanned
 * its string or its bytes.
 */
export function highlight(text: string, findings: Finding[]): Html {
  const spans = findings
    .filter((f) => f.span && f.span[0] >= 0 && f.span[1] > f.span[0] && f.span[1] <= text.length)
    .map((f) => ({ start: f.span![0], end: f.span![1], f }))
    .filter((s) => matchesEvidence(text.slice(s.start, s.end), s.f.evidence) || quotedInReason(text.slice(s.start, s.end), s.f.reason))
    .sort((x, y) => x.start - y.start);
  const parts: Html[] = [];
  let at = 0;
  for (const s of spans) {
    if (s.start < at) continue; // overlapping: the first one wins
    parts.push(html`${text.slice(at, s.start)}`);
    parts.push(html`<mark title="${s.f.reason}">${text.slice(s.start, s.end)}</mark>`);
    at = s.end;
  }
  parts.push(html`${text.slice(at)}`);
  return html`${parts}`;
}

function encryptionWords(e: AttachmentFacts['encryption'], detail?: string): Html {
  if (e === 'encrypted') return html`<span class="ok">Encrypted</span>${detail ? html` <span class="muted">(${detail})</span>` : ''}`;
  if (e === 'partly-encrypted') return html`<span class="bad">Partly encrypted</span>${detail ? html` <span class="muted">(${detail})</span>` : ''}`;
  if (e === 'not-encrypted') return html`<span class="bad">Not encrypted</span>`;
  return html`<span class="muted">Could not tell</span>`;
}

function flatten(list: AttachmentFacts[], depth = 0): Array<AttachmentFacts & { depth: number }> {
  return list.flatMap((a) => [{ ...a, depth }, ...flatten(a.entries ?? [], depth + 1)]);
}

function findingsAt(findings: Finding[], where: string): Finding[] {
  return findings.filter((f) => f.where === where || f.where === `filename:${where}`);
}

function historyTable(history: HistoryEntry[], tz: string): Html {
  return html`<div class="table-wrap"><table>
<caption class="visually-hidden">History of this incident, oldest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Details</th></tr></thead>
<tbody>${history.map((h) => html`<tr><td>${time(h.at, tz)}</td><td>${h.actor}</td><td>${HISTORY_WORDS[h.action] ?? h.action}</td><td>${h.detail ?? ''}</td></tr>`)}</tbody>
</table></div>`;
}

function decideForms(ctx: ConsoleContext, user: SessionUser, inc: Incident, held: HeldMessage | undefined, chosen?: 'release' | 'reject', link?: string): Html {
  if (!can(user.role, 'decide')) return html``;
  const minSeverity = minSeverityFor(ctx, inc.tenant);
  if (!canDecide(user.role, inc, minSeverity)) {
    return html`<h2 id="decide">Decide</h2><div class="notice warn"><p>The business manager decides on this incident. As safeguarding lead you decide on safeguarding-severity incidents (severity ${minSeverity} and above, information sent to the wrong family, and special-category data).</p></div>`;
  }
  const csrf = html`<input type="hidden" name="_csrf" value="${user.csrf}">`;
  const linkField = (action: 'release' | 'reject') => (link && chosen === action ? html`<input type="hidden" name="link" value="${link}">` : '');
  const ref = inc.reference;
  const hasMessage = !!held?.raw && !held.purgedAt;
  const forms: Html[] = [];
  /** Where the release and reject forms are in `forms`, for the email's links. */
  const at: Partial<Record<'release' | 'reject', number>> = {};
  if (inc.status === 'open' && hasMessage) {
    at.release = forms.length;
    forms.push(html`<form method="post" action="/incidents/${ref}/release" class="good" aria-labelledby="release-h">${csrf}${linkField('release')}
<h3 id="release-h">Release</h3>
<p>It is safe to send: deliver it to the original recipients exactly as it was written.</p>
<label for="release-reason">Why is it safe? <span class="hint">(recorded)</span></label>
<textarea id="release-reason" name="reason" required minlength="3" maxlength="2000"></textarea>
<p><button class="btn" type="submit">Release the message</button></p></form>`);
  }
  if (inc.status === 'open' && inc.kind === 'held') {
    at.reject = forms.length;
    forms.push(html`<form method="post" action="/incidents/${ref}/reject" class="danger" aria-labelledby="reject-h">${csrf}${linkField('reject')}
<h3 id="reject-h">Reject</h3>
<p>Do not send it. The sender gets an email saying so, with how to send it safely.</p>
<label for="reject-reason">Reason <span class="hint">(recorded in the history; the sender is shown it with pupil names and identifiers redacted)</span></label>
<textarea id="reject-reason" name="reason" required minlength="3" maxlength="2000"></textarea>
<p><button class="btn warning" type="submit">Reject the message</button></p></form>`);
  }
  const clockStopped = inc.status === 'reported-to-ico' || inc.status === 'closed-no-breach';
  if (!inc.potentialBreach && !clockStopped) {
    const escalate = inc.status === 'released';
    forms.push(html`<form method="post" action="/incidents/${ref}/breach" class="danger" aria-labelledby="breach-h">${csrf}
<h3 id="breach-h">${escalate ? 'It went out and was wrong: potential breach' : 'Mark as a potential breach'}</h3>
<p>${escalate ? 'Starts the 72-hour ICO clock from now and tells the business manager.' : 'Starts the 72-hour ICO clock (from when it was detected). Answer what you know now; you can add more later.'}</p>
<label for="breach-data">What personal data was involved?</label>
<textarea id="breach-data" name="what_data" required minlength="3" maxlength="2000"></textarea>
<label for="breach-people">How many people's data? <span class="hint">(a number, or "not known")</span></label>
<input type="text" id="breach-people" name="how_many" required maxlength="50" inputmode="numeric">
<fieldset><legend>Has the data been recovered or contained?</legend><div class="radios">
<label><input type="radio" name="recovered" value="never left" required> It never left the school</label>
<label><input type="radio" name="recovered" value="recovered"> Yes, recovered or deleted by the recipient</label>
<label><input type="radio" name="recovered" value="not recovered"> No</label>
<label><input type="radio" name="recovered" value="not known yet"> Not known yet</label></div></fieldset>
<label for="breach-told">Who has been told? <span class="hint">(DPO, headteacher, the families affected…)</span></label>
<textarea id="breach-told" name="who_told" required minlength="2" maxlength="2000"></textarea>
<input type="hidden" name="escalate" value="${escalate ? '1' : '0'}">
<p><button class="btn warning" type="submit">${escalate ? 'Escalate as a potential breach' : 'Mark as a potential breach'}</button></p></form>`);
  }
  if (inc.status !== 'reported-to-ico' && !outcomeRefusal(inc, 'reported-to-ico')) {
    forms.push(html`<form method="post" action="/incidents/${ref}/ico-reported" aria-labelledby="ico-h">${csrf}
<h3 id="ico-h">Reported to the ICO</h3>
<p>Record that the breach has been reported to the Information Commissioner's Office. This stops the clock.</p>
<label for="ico-ref">ICO case reference <span class="hint">(if you have one)</span></label>
<input type="text" id="ico-ref" name="ico_reference" maxlength="100">
<label for="ico-note">Notes</label>
<textarea id="ico-note" name="reason" maxlength="2000"></textarea>
<p><button class="btn" type="submit">Record the ICO report</button></p></form>`);
  }
  if (!clockStopped && !outcomeRefusal(inc, 'closed-no-breach')) {
    forms.push(html`<form method="post" action="/incidents/${ref}/close" aria-labelledby="close-h">${csrf}
<h3 id="close-h">Close – no breach</h3>
<p>${inc.potentialBreach ? 'Assessed: not a reportable breach. This stops the clock.' : 'Nothing more to do: no personal data was put at risk.'}</p>
<label for="close-reason">Reason <span class="hint">(recorded)</span></label>
<textarea id="close-reason" name="reason" required minlength="3" maxlength="2000"></textarea>
<p><button class="btn secondary" type="submit">Close the incident</button></p></form>`);
  }
  if (!forms.length) return html`<h2 id="decide">Decide</h2><p class="muted">No decision is waiting on this incident.</p>`;
  // From the email's link: the chosen decision first, to confirm here (the link itself changes nothing).
  const first = chosen && inc.status === 'open' ? at[chosen] ?? -1 : -1;
  if (first > 0) forms.unshift(...forms.splice(first, 1));
  const confirm = first >= 0
    ? html`<div class="notice" role="status"><p>You followed the link in the email to <strong>${chosen === 'release' ? 'release' : 'reject'}</strong> this message. Read why it was stopped above, give your reason and confirm with the button. Nothing has been done yet.</p></div>`
    : chosen && inc.status !== 'open' ? html`<div class="notice warn" role="status"><p>This message has already been decided (${STATUS_TITLES[inc.status].toLowerCase()}); the link in the email no longer applies.</p></div>` : '';
  return html`<h2 id="decide">Decide</h2>${confirm}<div class="actions">${forms}</div>`;
}

function whyHeld(inc: Incident, masked: boolean): Html {
  const byRule = new Map<string, Finding[]>();
  for (const f of saidOnce((masked ? maskFindings(inc.findings) : inc.findings).map((f) => ({ ...f, evidence: f.evidence ?? null })))) {
    const k = f.rule ?? '';
    byRule.set(k, [...(byRule.get(k) ?? []), f]);
  }
  const rules = [...inc.rules, ...[...byRule.keys()].filter((k) => k && !inc.rules.includes(k))];
  const other = byRule.get('') ?? [];
  return html`${rules.map((r) => {
    const def = (RULES as Record<string, (typeof RULES)[keyof typeof RULES] | undefined>)[r];
    const fs = byRule.get(r) ?? [];
    return html`<section class="rule${(def?.defaults.severity ?? 3) < 4 ? ' sev-low' : ''}" aria-labelledby="rule-${r}">
<h3 id="rule-${r}">${ruleTitle(r)}</h3>
${def ? html`<p>${def.explanation}</p><p class="policy">School policy: “${def.policy}”</p>` : ''}
${fs.length ? html`<ul class="findings">${fs.map((f) => html`<li><strong>${whereTitle(f.where)}:</strong> <span class="evidence" aria-label="evidence, redacted">${f.evidence}</span> – ${f.reason}</li>`)}</ul>` : ''}
</section>`;
  })}${other.length ? html`<section class="rule sev-low"><h3>Other findings</h3><ul class="findings">${other.map((f) => html`<li><strong>${whereTitle(f.where)}:</strong> <span class="evidence">${f.evidence}</span> – ${f.reason}</li>`)}</ul></section>` : ''}`;
}

function messageSection(ctx: ConsoleContext, user: SessionUser, v: IncidentView): Html {
  const inc = v.incident;
  const tz = ctx.settings.timeZone;
  if (!can(user.role, 'content')) return html``;
  if (!v.held?.raw || v.held.purgedAt) {
    return html`<h2 id="message">The message</h2><div class="notice warn"><p>The held message ${v.held?.purgedAt ? html`was deleted on ${time(v.held.purgedAt, tz)} at the end of the quarantine retention period` : 'is not available'}. The incident record, its redacted findings and history are kept.</p></div>`;
  }
  const m = v.message;
  if (!m) return html``;
  const ref = inc.reference;
  const subjectFindings = inc.findings.filter((f) => f.where === 'subject');
  const bodyFindings = inc.findings.filter((f) => f.where === 'body');
  const toggles = (extra: Partial<IncidentView['show']>) => {
    const s = { ...v.show, ...extra };
    const q = [s.headers ? 'show=headers' : '', s.links ? 'links=1' : '', s.pictures ? 'pictures=1' : ''].filter(Boolean).join('&');
    return `/incidents/${ref}${q ? `?${q}` : ''}`;
  };
  const links = m.html ? linksIn(m.html) : [];
  const facts = v.attachments ? flatten(v.attachments) : null;
  const attachmentRows: Html = facts
    ? html`${facts.map((a) => {
        const found = findingsAt(inc.findings, a.where);
        return html`<tr><td>${a.depth ? html`<span class="muted">${'↳ '.repeat(a.depth)}</span>` : ''}${a.filename}</td><td>${a.format && a.format !== 'unknown' ? a.format.toUpperCase() : a.realType}${a.declaredType && a.declaredType !== a.realType && a.depth === 0 ? html`<br><span class="muted">says ${a.declaredType}</span>` : ''}</td><td class="num">${bytes(a.size)}</td><td>${encryptionWords(a.encryption, a.encryptionDetail)}</td><td>${found.length ? html`<ul class="findings">${found.map((f) => html`<li><span class="evidence">${f.evidence}</span> – ${f.reason}</li>`)}</ul>` : html`<span class="muted">Nothing found</span>`}</td></tr>`;
      })}`
    : html`${m.attachments.filter((a) => !a.inline || !a.contentId).map((a) => {
        const found = findingsAt(inc.findings, `attachment:${a.filename}`);
        return html`<tr><td>${a.filename}</td><td>${a.contentType}</td><td class="num">${bytes(a.size)}</td><td>${encryptionWords('unknown')}</td><td>${found.length ? html`<ul class="findings">${found.map((f) => html`<li><span class="evidence">${f.evidence}</span> – ${f.reason}</li>`)}</ul>` : html`<span class="muted">Nothing found</span>`}</td></tr>`;
      })}`;
  const attachmentCount = facts ? facts.filter((a) => a.depth === 0).length : m.attachments.filter((a) => !a.inline || !a.contentId).length;
  return html`<h2 id="message">The message</h2>
${m.problem ? html`<div class="notice warn"><p>${m.problem}</p></div>` : ''}
<div class="panel">
<dl class="facts">
<dt>From</dt><dd>${m.from || inc.sender}</dd>
<dt>To</dt><dd>${m.to.join(', ') || html`<span class="muted">(none in the headers)</span>`}</dd>
${m.cc.length ? html`<dt>Cc</dt><dd>${m.cc.join(', ')}</dd>` : ''}
<dt>Subject</dt><dd>${m.subject ? highlight(m.subject, subjectFindings) : html`<span class="muted">(no subject)</span>`}</dd>
<dt>Written</dt><dd>${time(m.date, tz)}</dd>
</dl>
<p class="viewer-tools">${v.show.headers ? html`<a href="${toggles({ headers: false })}#headers">Hide the full headers</a>` : html`<a href="${toggles({ headers: true })}#headers">Show the full headers</a>`}
${can(user.role, 'raw') ? html`<a href="/incidents/${ref}/original.eml" download>Download the original message (.eml)</a> <span class="hint">(recorded)</span>` : ''}</p>
${v.show.headers ? html`<h3 id="headers">Full headers</h3><pre class="headers">${m.headerLines.map((h) => `${h.line}\n`).join('')}</pre>` : ''}
</div>
<h3 id="text-body">Text</h3>
${m.text !== null && m.text.trim() !== '' ? html`<pre class="body" tabindex="0" aria-label="Text of the message">${highlight(m.text, bodyFindings)}</pre>` : html`<p class="muted">This message has no plain-text version${m.html ? '; see the formatted version below' : ''}.</p>`}
${m.html ? html`<h3 id="html-body">Formatted version</h3>
<p class="muted">Shown safely: nothing in it can run, links cannot be followed, and pictures on the internet are never loaded.${m.attachments.some((a) => a.contentId) ? ' Pictures carried inside the message are shown only when you ask.' : ''}</p>
<p class="viewer-tools">${m.attachments.some((a) => a.contentId && a.contentType.startsWith('image/')) ? (v.show.pictures ? html`<a href="${toggles({ pictures: false })}#html-body">Hide the pictures</a>` : html`<a href="${toggles({ pictures: true })}#html-body">Show the pictures in this message</a>`) : ''}
${links.length ? (v.show.links ? html`<a href="${toggles({ links: false })}#links">Hide the link addresses</a>` : html`<a href="${toggles({ links: true })}#links">Show where the ${links.length} ${links.length === 1 ? 'link goes' : 'links go'}</a>`) : ''}</p>
<iframe class="viewer" sandbox="" src="/incidents/${ref}/body.html${v.show.pictures ? '?pictures=1' : ''}" title="Formatted version of the message (safe view)" referrerpolicy="no-referrer"></iframe>
${v.show.links && links.length ? html`<h4 id="links">Where the links go <span class="muted">(as text; not clickable)</span></h4><div class="table-wrap"><table><thead><tr><th scope="col">Link text</th><th scope="col">Address</th></tr></thead><tbody>${links.map((l) => html`<tr><td>${l.text || html`<span class="muted">(no text)</span>`}</td><td><code>${l.href}</code></td></tr>`)}</tbody></table></div>` : ''}` : ''}
<h3 id="attachments">Attachments <span class="muted">(${attachmentCount})</span></h3>
${attachmentCount ? html`<div class="table-wrap"><table><thead><tr><th scope="col">File</th><th scope="col">Type</th><th scope="col" class="num">Size</th><th scope="col">Encrypted?</th><th scope="col">What was found</th></tr></thead><tbody>${attachmentRows}</tbody></table></div>` : html`<p class="muted">No attachments.</p>`}`;
}

export function incidentPage(ctx: ConsoleContext, user: SessionUser, v: IncidentView): string {
  const inc = v.incident;
  const tz = ctx.settings.timeZone;
  const now = ctx.now();
  const body = html`
<p><a href="${can(user.role, 'queue') ? '/queue' : '/register'}">← Back to ${can(user.role, 'queue') ? 'held mail' : 'the register'}</a></p>
<h1>${inc.reference} <span class="muted">– ${headingState(inc)}</span></h1>
${v.notice}
<nav class="jump" aria-label="On this page"><a href="#why">Why it was stopped</a>${can(user.role, 'content') ? html`<a href="#message">The message</a>` : ''}${can(user.role, 'decide') ? html`<a href="#decide">Decide</a>` : ''}<a href="#history">History</a></nav>
<p>${statusBadge(inc.status)} ${severityBadge(inc.severity)}${inc.potentialBreach ? html` <span class="badge breach">Potential breach</span>` : ''}${isSafeguarding(inc, minSeverityFor(ctx, inc.tenant)) ? html` <span class="badge sev-3">Safeguarding</span>` : ''}</p>
<div class="panel">
<dl class="facts">
${ctx.schools.single ? '' : html`<dt>School</dt><dd>${ctx.schools.nameOf(inc.tenant)}</dd>`}
<dt>Sender</dt><dd>${inc.sender || html`<span class="muted">(no sender)</span>`}</dd>
<dt>Recipients</dt><dd>${inc.recipients.join(', ')}</dd>
<dt>Detected</dt><dd>${time(inc.detectedAt, tz)} <span class="muted">by ${inc.heldBy}</span></dd>
${v.held ? html`<dt>Size</dt><dd>${bytes(v.held.size)}</dd>` : ''}
</dl>
</div>
${inc.potentialBreach ? html`<h2 id="clock">ICO clock</h2>${clockCard(inc, now, tz, { link: false })}` : ''}
<h2 id="why">Why it was stopped</h2>
${whyHeld(inc, !can(user.role, 'content'))}
${messageSection(ctx, user, v)}
${decideForms(ctx, user, inc, v.held, v.decide, v.link)}
<h2 id="history">History</h2>
<p class="muted">Every opening and every decision is recorded here and cannot be changed.</p>
${historyTable(v.history, tz)}`;
  return page({ title: inc.reference, user, schoolName: ctx.schools.name, active: can(user.role, 'queue') ? 'queue' : 'register', body });
}
