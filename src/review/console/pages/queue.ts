// Held mail: the business manager's inbox of decisions. Newest first, with filters (rule,
// severity, sender, dates, status), the count per rule, and the running 72-hour ICO clocks, most
// urgent first. Bulk release for obvious false positives.
import { RULE_IDS } from '../../../decide/rules.ts';
import { listIncidents, ICO_DEADLINE_HOURS, type Incident } from '../../../store/incidents.ts';
import { INCIDENT_STATUSES, type IncidentStatus } from '../../../store/schema.ts';
import type { SessionUser } from '../auth.ts';
import { minSeverityFor, type ConsoleContext } from '../context.ts';
import { localDayStart, runningClocks, subjectsFor } from '../data.ts';
import { html, query, type Html } from '../html.ts';
import { address, duration, formatTime, page, ruleTitle, severityBadge, STATUS_TITLES, statusBadge, time } from '../layout.ts';
import { can, canDecide } from '../roles.ts';
import { chosenSchool, seesSeveralSchools, viewSchools } from '../schools.ts';

export interface QueueFilters {
  status: IncidentStatus | 'all';
  rule: string;
  severity: number;
  sender: string;
  /** Words to find in the reference, the sender, the recipients or the subject (all of them). */
  q: string;
  from: string;
  to: string;
  page: number;
  /** A trust-level account's school filter (tenant id), or '' for every school. */
  school: string;
}

const PAGE_SIZE = 50;

export function queueFilters(q: Record<string, string | undefined>): QueueFilters {
  const status = q.status === 'all' || (INCIDENT_STATUSES as readonly string[]).includes(q.status ?? '') ? (q.status as QueueFilters['status']) : 'open';
  const severity = Number(q.severity);
  const pageNo = Number(q.page);
  const day = (s: string | undefined) => (s && /^\d{4}-\d{2}-\d{2}$/.test(s) ? s : '');
  return {
    status,
    rule: (RULE_IDS as readonly string[]).includes(q.rule ?? '') ? q.rule! : '',
    severity: Number.isInteger(severity) && severity >= 1 && severity <= 5 ? severity : 0,
    sender: (q.sender ?? '').trim().toLowerCase().slice(0, 200),
    q: (q.q ?? '').trim().slice(0, 200),
    from: day(q.from),
    to: day(q.to),
    page: Number.isInteger(pageNo) && pageNo > 1 ? pageNo : 1,
    school: '',
  };
}

function params(f: QueueFilters, change: Partial<QueueFilters> = {}): string {
  const g = { ...f, ...change };
  return query({ school: g.school, status: g.status === 'open' ? undefined : g.status, rule: g.rule, severity: g.severity || undefined, sender: g.sender, q: g.q || undefined, from: g.from, to: g.to, page: g.page > 1 ? g.page : undefined });
}

export function clockCard(inc: Incident, now: Date, timeZone: string, opts: { link: boolean }): Html {
  const deadline = inc.icoDeadline ?? new Date(inc.detectedAt.getTime() + ICO_DEADLINE_HOURS * 3_600_000);
  const stopped = inc.status === 'reported-to-ico' || inc.status === 'closed-no-breach';
  const left = deadline.getTime() - now.getTime();
  const elapsedHours = Math.min(ICO_DEADLINE_HOURS, Math.max(0, (now.getTime() - inc.detectedAt.getTime()) / 3_600_000));
  const label = `${inc.reference}: ICO clock`;
  const ref = opts.link ? html`<a href="/incidents/${inc.reference}">${inc.reference}</a>` : html`${inc.reference}`;
  return html`<section class="clock${stopped ? ' stopped' : left <= 0 ? ' overdue' : ''}" aria-label="${label}" data-reference="${inc.reference}">
<h3>${ref} <span class="muted">– potential breach</span></h3>
${stopped
    ? html`<p class="left">Clock stopped: ${STATUS_TITLES[inc.status]}</p>`
    : left > 0
      ? html`<p class="left">${duration(left, { days: false })} left</p>`
      : html`<p class="left">Overdue by ${duration(-left, { days: false })}</p>`}
<p>Report to the ICO by <strong>${formatTime(deadline, timeZone)}</strong> (72 hours from when it was detected, ${formatTime(inc.detectedAt, timeZone)}).</p>
<label class="visually-hidden" for="meter-${inc.reference}">Hours used of the 72</label>
<meter id="meter-${inc.reference}" min="0" max="72" low="48" high="60" optimum="0" value="${elapsedHours.toFixed(1)}">${Math.round(elapsedHours)} of 72 hours used</meter>
</section>`;
}

export async function queuePage(ctx: ConsoleContext, user: SessionUser, q: Record<string, string | undefined>, notice: Html | ''): Promise<string> {
  const f = { ...queueFilters(q), school: chosenSchool(ctx.schools, user, q.school) };
  // Only the user's own school's incidents (a trust-level account: every school's, or the one it chose).
  const tenants = viewSchools(ctx.schools, user, f.school);
  const several = seesSeveralSchools(ctx.schools, user);
  const tz = ctx.settings.timeZone;
  const now = ctx.now();
  const since = f.from ? localDayStart(f.from, tz) ?? undefined : undefined;
  const untilDay = f.to ? localDayStart(f.to, tz) : null;
  const until = untilDay ? new Date(untilDay.getTime() + 86_400_000) : undefined;
  const all = await listIncidents(ctx.store.db, { status: f.status === 'all' ? undefined : [f.status], since, until, tenant: tenants, limit: 5000 });
  let base = all.filter((i) => (!f.severity || i.severity >= f.severity) && (!f.sender || i.sender.toLowerCase().includes(f.sender)));
  if (f.q) {
    // Search runs here, on the server, for a signed-in user, over this user's schools only; the
    // words are never logged (subjects are personal data).
    const words = f.q.toLowerCase().split(/\s+/).filter(Boolean).slice(0, 10);
    const facts = new Map(base.map((i) => [i.reference, `${i.reference} ${i.sender} ${i.recipients.join(' ')}`.toLowerCase()]));
    // Subjects are read from the held messages only for what the reference and addresses do not already match.
    const subjectsOf = await subjectsFor(ctx, base.filter((i) => !words.every((w) => facts.get(i.reference)!.includes(w))).map((i) => i.reference));
    base = base.filter((i) => {
      const text = `${facts.get(i.reference)} ${(subjectsOf.get(i.reference) ?? '').toLowerCase()}`;
      return words.every((w) => text.includes(w));
    });
  }
  const perRule = new Map<string, number>();
  for (const i of base) for (const r of i.rules) perRule.set(r, (perRule.get(r) ?? 0) + 1);
  const rows = f.rule ? base.filter((i) => i.rules.includes(f.rule)) : base;
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const pageNo = Math.min(f.page, pages);
  const shown = rows.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);
  const subjects = await subjectsFor(ctx, shown.map((i) => i.reference));
  const clocks = await runningClocks(ctx, tenants);
  const bulk = can(user.role, 'bulk-release');
  const decidable = (i: Incident) => i.status === 'open' && canDecide(user.role, i, minSeverityFor(ctx, i.tenant));
  const anyBulk = bulk && shown.some(decidable);

  const statusOptions: Array<[QueueFilters['status'], string]> = [['open', 'Waiting for a decision'], ...INCIDENT_STATUSES.filter((s) => s !== 'open').map((s) => [s, STATUS_TITLES[s]] as [IncidentStatus, string]), ['all', 'All']];
  const heading = f.status === 'open' ? 'Held mail waiting for a decision' : f.status === 'all' ? 'All held and blocked mail' : `Held mail: ${STATUS_TITLES[f.status].toLowerCase()}`;

  const table = shown.length
    ? html`<div class="table-wrap"><table class="cards">
<caption class="visually-hidden">${heading}, newest first</caption>
<thead><tr>${anyBulk ? html`<th scope="col"><span class="visually-hidden">Select</span></th>` : ''}<th scope="col">Received</th>${several ? html`<th scope="col">School</th>` : ''}<th scope="col">Reference</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Why it was stopped</th><th scope="col">Severity</th><th scope="col">Status</th></tr></thead>
<tbody>
${shown.map((i) => html`<tr>
${anyBulk ? html`<td>${decidable(i) ? html`<input type="checkbox" name="ref" value="${i.reference}" id="sel-${i.reference}" form="bulk-release"><label class="visually-hidden" for="sel-${i.reference}">Select ${i.reference}</label>` : ''}</td>` : ''}
<td class="when" data-label="Received">${time(i.detectedAt, tz)}</td>
${several ? html`<td class="school" data-label="School">${ctx.schools.nameOf(i.tenant)}</td>` : ''}
<td data-label="Reference"><a href="/incidents/${i.reference}">${i.reference}</a>${i.kind === 'near-miss' ? html`<br><span class="badge kind-near-miss">Blocked, not sent</span>` : ''}${i.potentialBreach ? html`<br><span class="badge breach">Potential breach</span>` : ''}</td>
<td class="addr" data-label="From">${i.sender ? address(i.sender) : html`<span class="muted">(no sender)</span>`}</td>
<td class="addr" data-label="To">${i.recipients.slice(0, 3).map((r, n) => html`${n ? html`<br>` : ''}${address(r)}`)}${i.recipients.length > 3 ? html`<br><span class="muted">and ${i.recipients.length - 3} more</span>` : ''}</td>
<td class="subj" data-label="Subject">${subjects.get(i.reference) || html`<span class="muted">(no subject)</span>`}</td>
<td data-label="Why it was stopped"><ul class="rules-list">${i.rules.map((r) => html`<li>${ruleTitle(r)}</li>`)}</ul></td>
<td data-label="Severity">${severityBadge(i.severity)}</td>
<td data-label="Status">${statusBadge(i.status)}</td>
</tr>`)}
</tbody></table></div>`
    : html`<div class="panel"><p>${f.status === 'open' && !f.school && !f.rule && !f.sender && !f.q && !f.severity && !f.from && !f.to ? 'Nothing is waiting for a decision. New held mail appears here as soon as it is stopped.' : f.q ? 'No held mail matches this search.' : 'No held mail matches these filters.'}</p></div>`;

  const body = html`
<h1>${heading}</h1>
${notice}
${clocks.length ? html`<h2 id="clocks">Potential breaches: 72-hour ICO clocks</h2>
<p class="muted">A personal data breach that risks people's rights must be reported to the ICO within 72 hours of the school becoming aware of it. Most urgent first.</p>
<div class="clocks">${clocks.map((c) => clockCard(c, now, tz, { link: can(user.role, 'record') }))}</div>` : ''}
<section aria-labelledby="filters-h" class="panel">
<h2 id="filters-h" class="visually-hidden">Filter</h2>
<form class="filters" method="get" action="/queue" role="search" aria-label="Filter held mail">
${several ? html`<div class="field"><label for="f-school">School</label><select id="f-school" name="school"><option value="">Every school</option>${ctx.schools.list.map((s) => html`<option value="${s.id}"${f.school === s.id ? html` selected` : ''}>${s.name}</option>`)}</select></div>` : ''}
<div class="field"><label for="f-status">Status</label><select id="f-status" name="status">${statusOptions.map(([v, l]) => html`<option value="${v}"${f.status === v ? html` selected` : ''}>${l}</option>`)}</select></div>
<div class="field"><label for="f-rule">Rule</label><select id="f-rule" name="rule"><option value="">Any rule</option>${RULE_IDS.map((r) => html`<option value="${r}"${f.rule === r ? html` selected` : ''}>${ruleTitle(r)}</option>`)}</select></div>
<div class="field"><label for="f-severity">Severity</label><select id="f-severity" name="severity"><option value="">Any</option>${[5, 4, 3, 2, 1].map((n) => html`<option value="${n}"${f.severity === n ? html` selected` : ''}>${n === 5 ? '5 only' : `${n} or higher`}</option>`)}</select></div>
<div class="field"><label for="f-q">Search <span class="hint">(reference, sender, recipient or subject words)</span></label><input type="search" id="f-q" name="q" value="${f.q}"></div>
<div class="field"><label for="f-sender">Sender <span class="hint">(part of the address)</span></label><input type="search" id="f-sender" name="sender" value="${f.sender}"></div>
<div class="field"><label for="f-from">From date</label><input type="date" id="f-from" name="from" value="${f.from}"></div>
<div class="field"><label for="f-to">To date</label><input type="date" id="f-to" name="to" value="${f.to}"></div>
<div class="field"><button class="btn secondary" type="submit">Apply filters</button></div>
<div class="field"><a href="/queue">Clear filters</a></div>
</form>
</section>
<h2 id="per-rule">By rule <span class="muted">(${base.length} ${base.length === 1 ? 'message' : 'messages'})</span></h2>
<ul class="counts" aria-labelledby="per-rule">
<li><a href="/queue${params(f, { rule: '', page: 1 })}"${!f.rule ? html` aria-current="true"` : ''}>All rules <b>${base.length}</b></a></li>
${[...perRule.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => html`<li><a href="/queue${params(f, { rule: r, page: 1 })}"${f.rule === r ? html` aria-current="true"` : ''}>${ruleTitle(r)} <b>${n}</b></a></li>`)}
</ul>
<h2 id="list">Messages <span class="muted">(${rows.length}, newest first)</span></h2>
${table}
${pages > 1 ? html`<nav class="pager" aria-label="Pages">${pageNo > 1 ? html`<a href="/queue${params(f, { page: pageNo - 1 })}">Newer</a>` : ''}<span>Page ${pageNo} of ${pages}</span>${pageNo < pages ? html`<a href="/queue${params(f, { page: pageNo + 1 })}">Older</a>` : ''}</nav>` : ''}
${anyBulk ? html`<form id="bulk-release" method="post" action="/queue/release" class="panel">
<input type="hidden" name="_csrf" value="${user.csrf}">
<h2>Release the selected messages</h2>
<p>For obvious false positives only: each selected message is delivered to its original recipients exactly as it was sent, and your reason is recorded against every one.</p>
<label for="bulk-reason">Reason <span class="hint">(recorded in each incident's history)</span></label>
<textarea id="bulk-reason" name="reason" required minlength="3" maxlength="2000"></textarea>
<p><button class="btn" type="submit">Release selected messages</button></p>
</form>` : ''}`;
  return page({ title: 'Held mail', user, schoolName: ctx.schools.name, active: 'queue', body });
}
