// The incident register: every incident, its rules, severity, outcome and who decided, as a table
// and as CSV for the governors' report. Redacted evidence only; no message content.
import { listIncidents, type Incident } from '../../../store/incidents.ts';
import { INCIDENT_STATUSES, type IncidentStatus } from '../../../store/schema.ts';
import type { SessionUser } from '../auth.ts';
import type { ConsoleContext } from '../context.ts';
import { localDay, localDayStart } from '../data.ts';
import { html, query, type Html } from '../html.ts';
import { formatter, page, ruleTitle, severityBadge, STATUS_TITLES, statusBadge, time } from '../layout.ts';
import { can } from '../roles.ts';
import { chosenSchool, seesSeveralSchools, viewSchools, type Schools } from '../schools.ts';

import { DECISIONS, DECISION_WORDS } from '../../register.ts';
export { DECISIONS };

export interface RegisterFilters {
  status: IncidentStatus | 'all';
  from: string;
  to: string;
  /** A trust-level account's school filter (tenant id), or '' for every school it may see. */
  school: string;
}

/** The register's filters; the school filter only for a trust-level account (`user`) and a school of the trust. */
export function registerFilters(q: Record<string, string | undefined>, scope?: { schools: Schools; user: Pick<SessionUser, 'tenant'> }): RegisterFilters {
  const day = (s: string | undefined) => (s && /^\d{4}-\d{2}-\d{2}$/.test(s) ? s : '');
  const status = (INCIDENT_STATUSES as readonly string[]).includes(q.status ?? '') ? (q.status as IncidentStatus) : 'all';
  return { status, from: day(q.from), to: day(q.to), school: scope ? chosenSchool(scope.schools, scope.user, q.school) : '' };
}

export interface RegisterRow { incident: Incident; decision: { at: Date; actor: string; action: string; detail: string | null } | null }

/** The incidents the user may see (their school's; a trust account: every school's, or the chosen one's). */
export async function registerRows(ctx: ConsoleContext, user: Pick<SessionUser, 'tenant'>, f: RegisterFilters): Promise<RegisterRow[]> {
  const tz = ctx.settings.timeZone;
  const since = f.from ? localDayStart(f.from, tz) ?? undefined : undefined;
  const untilDay = f.to ? localDayStart(f.to, tz) : null;
  const incidents = await listIncidents(ctx.store.db, { status: f.status === 'all' ? undefined : [f.status], since, until: untilDay ? new Date(untilDay.getTime() + 86_400_000) : undefined, tenant: viewSchools(ctx.schools, user, f.school), limit: 20_000 });
  const decisions = await decisionsFor(ctx, incidents.map((i) => i.reference));
  return incidents.map((incident) => ({ incident, decision: decisions.get(incident.reference) ?? null }));
}

/** The latest decision per incident (who decided what, when). */
export async function decisionsFor(ctx: ConsoleContext, references: string[], which: 'first' | 'last' = 'last'): Promise<Map<string, RegisterRow['decision'] & {}>> {
  const out = new Map<string, RegisterRow['decision'] & {}>();
  for (let i = 0; i < references.length; i += 500) {
    const chunk = references.slice(i, i + 500);
    const rows = await ctx.store.db.selectFrom('incident_history').select(['reference', 'at', 'actor', 'action', 'detail', 'id'])
      .where('reference', 'in', chunk).where('action', 'in', DECISIONS).orderBy('id').execute();
    for (const r of rows) {
      if (which === 'first' && out.has(r.reference)) continue;
      out.set(r.reference, { at: new Date(r.at), actor: r.actor, action: r.action, detail: r.detail });
    }
  }
  return out;
}

export function registerPage(ctx: ConsoleContext, user: SessionUser, f: RegisterFilters, rows: RegisterRow[], notice: Html | ''): string {
  const tz = ctx.settings.timeZone;
  const q = query({ school: f.school, status: f.status === 'all' ? undefined : f.status, from: f.from, to: f.to });
  const linkable = can(user.role, 'record');
  const several = seesSeveralSchools(ctx.schools, user);
  const body = html`
<h1>Incident register</h1>
<p class="lead">Every email Hallmonitor held or blocked, what was found (redacted) and what was decided. Kept for ${ctx.store.settings.incidentRetentionYears} years.</p>
${notice}
<section class="panel" aria-labelledby="rf-h"><h2 id="rf-h" class="visually-hidden">Filter</h2>
<form class="filters" method="get" action="/register" role="search" aria-label="Filter the register">
${several ? html`<div class="field"><label for="r-school">School</label><select id="r-school" name="school"><option value="">Every school</option>${ctx.schools.list.map((s) => html`<option value="${s.id}"${f.school === s.id ? html` selected` : ''}>${s.name}</option>`)}</select></div>` : ''}
<div class="field"><label for="r-status">Status</label><select id="r-status" name="status"><option value="all">All</option>${INCIDENT_STATUSES.map((s) => html`<option value="${s}"${f.status === s ? html` selected` : ''}>${STATUS_TITLES[s]}</option>`)}</select></div>
<div class="field"><label for="r-from">From date</label><input type="date" id="r-from" name="from" value="${f.from}"></div>
<div class="field"><label for="r-to">To date</label><input type="date" id="r-to" name="to" value="${f.to}"></div>
<div class="field"><button class="btn secondary" type="submit">Apply filters</button></div>
<div class="field"><a class="btn" href="/register.csv${q}" download>Download as CSV (${rows.length} ${rows.length === 1 ? 'incident' : 'incidents'})</a></div>
</form></section>
${rows.length ? html`<div class="table-wrap"><table class="cards">
<caption class="visually-hidden">Incidents, newest first</caption>
<thead><tr><th scope="col">Reference</th>${several ? html`<th scope="col">School</th>` : ''}<th scope="col">Detected</th><th scope="col">Sender</th><th scope="col" class="num">Recipients</th><th scope="col">Rules</th><th scope="col">Severity</th><th scope="col">Status</th><th scope="col">Last decision</th></tr></thead>
<tbody>${rows.slice(0, 500).map(({ incident: i, decision: d }) => html`<tr>
<td data-label="Reference">${linkable ? html`<a href="/incidents/${i.reference}">${i.reference}</a>` : i.reference}${i.kind === 'near-miss' ? html`<br><span class="badge kind-near-miss">Blocked, not sent</span>` : ''}${i.potentialBreach ? html`<br><span class="badge breach">Potential breach</span>` : ''}</td>
${several ? html`<td class="school" data-label="School">${ctx.schools.nameOf(i.tenant)}</td>` : ''}<td data-label="Detected">${time(i.detectedAt, tz)}</td>
<td data-label="Sender">${i.sender}</td>
<td class="num" data-label="Recipients">${i.recipients.length}</td>
<td data-label="Rules"><ul class="rules-list">${i.rules.map((r) => html`<li>${ruleTitle(r)}</li>`)}</ul></td>
<td data-label="Severity">${severityBadge(i.severity)}</td>
<td data-label="Status">${statusBadge(i.status)}</td>
<td data-label="Last decision">${d ? html`${DECISION_WORDS[d.action] ?? d.action}<br><span class="muted">${d.actor}, ${time(d.at, tz)}</span>` : html`<span class="muted">–</span>`}</td>
</tr>`)}</tbody></table></div>${rows.length > 500 ? html`<p class="muted">Showing the newest 500; the CSV has all ${rows.length}.</p>` : ''}` : html`<div class="panel"><p>No incidents match.</p></div>`}`;
  return page({ title: 'Incident register', user, schoolName: ctx.schools.name, active: 'register', body });
}
