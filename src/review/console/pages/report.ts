// The report for the headteacher and governors: incidents per week and per rule (server-drawn SVG
// charts, each with its numbers in a table for screen readers), the senders who may need training
// (counts only, never content), what happened to held mail, and the median time to a decision.
// A school's accounts see their own school's figures; a trust-level account (the trust's data
// protection officer) sees the whole trust's, a table per school (incidents, potential breaches,
// still open, median time to a decision), incidents per school and per rule in each school, and
// can narrow the report to one school.
import { listIncidents, type Incident } from '../../../store/incidents.ts';
import { SENDER_OVERRIDE } from '../../actions.ts';
import type { SessionUser } from '../auth.ts';
import type { ConsoleContext } from '../context.ts';
import { localDay, localDayStart } from '../data.ts';
import { html, type Html } from '../html.ts';
import { dateOnly, duration, page, ruleTitle, STATUS_TITLES } from '../layout.ts';
import { chosenSchool, seesSeveralSchools, viewSchools } from '../schools.ts';
import { decisionsFor } from './register.ts';

export const REPORT_PERIODS = [4, 12, 26, 52];

export interface Report {
  weeks: number;
  since: Date;
  until: Date;
  total: number;
  held: number;
  nearMisses: number;
  perWeek: Array<{ weekStart: string; label: string; count: number }>;
  perRule: Array<{ rule: string; count: number }>;
  topSenders: Array<{ sender: string; count: number }>;
  outcomes: Array<{ status: Incident['status']; count: number }>;
  potentialBreaches: number;
  medianDecisionMs: number | null;
  decided: number;
  /** The school the report is narrowed to (a trust account's choice), or ''. */
  school: string;
  /** Per school, for a trust-level account looking at every school (null otherwise). */
  perSchool: SchoolFigures[] | null;
  /** Messages their senders sent anyway (sender_may_override), with the reason each gave (redacted). */
  sentAnyway: Array<{ reference: string; sender: string; at: Date; reason: string }>;
}

export interface SchoolFigures {
  id: string;
  name: string;
  total: number;
  held: number;
  nearMisses: number;
  potentialBreaches: number;
  open: number;
  perRule: Array<{ rule: string; count: number }>;
  medianDecisionMs: number | null;
  decided: number;
}

function median(sorted: number[]): number | null {
  if (!sorted.length) return null;
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

/** Monday of the week an instant falls in, in the school's time zone (YYYY-MM-DD). */
function weekStart(d: Date, timeZone: string): string {
  const day = localDay(d, timeZone);
  const noonUtc = new Date(`${day}T12:00:00Z`);
  const dow = (noonUtc.getUTCDay() + 6) % 7; // Monday 0
  return new Date(noonUtc.getTime() - dow * 86_400_000).toISOString().slice(0, 10);
}

export async function buildReport(ctx: ConsoleContext, weeks: number, user: Pick<SessionUser, 'tenant'>, requestedSchool?: string): Promise<Report> {
  const tz = ctx.settings.timeZone;
  const school = chosenSchool(ctx.schools, user, requestedSchool);
  const tenants = viewSchools(ctx.schools, user, school);
  const until = ctx.now();
  const firstWeek = weekStart(new Date(until.getTime() - (weeks - 1) * 7 * 86_400_000), tz);
  const since = localDayStart(firstWeek, tz)!;
  const incidents = await listIncidents(ctx.store.db, { since, tenant: tenants, limit: 100_000 });
  const perWeek = new Map<string, number>();
  for (let w = 0; w < weeks; w++) {
    const start = new Date(`${firstWeek}T12:00:00Z`).getTime() + w * 7 * 86_400_000;
    perWeek.set(new Date(start).toISOString().slice(0, 10), 0);
  }
  const perRule = new Map<string, number>();
  const senders = new Map<string, number>();
  const outcomes = new Map<Incident['status'], number>();
  for (const i of incidents) {
    const wk = weekStart(i.detectedAt, tz);
    if (perWeek.has(wk)) perWeek.set(wk, perWeek.get(wk)! + 1);
    for (const r of i.rules) perRule.set(r, (perRule.get(r) ?? 0) + 1);
    const s = i.sender.toLowerCase() || '(no sender)';
    senders.set(s, (senders.get(s) ?? 0) + 1);
    outcomes.set(i.status, (outcomes.get(i.status) ?? 0) + 1);
  }
  const firstDecisions = await decisionsFor(ctx, incidents.map((i) => i.reference), 'first');
  const decisionMs = (i: Incident) => {
    const d = firstDecisions.get(i.reference);
    return d ? [Math.max(0, d.at.getTime() - i.detectedAt.getTime())] : [];
  };
  const times = incidents.flatMap(decisionMs).sort((a, b) => a - b);
  const sentAnyway: Report['sentAnyway'] = [];
  const senderOf = new Map(incidents.map((i) => [i.reference, i.sender]));
  const refs = [...senderOf.keys()];
  for (let at = 0; at < refs.length; at += 500) {
    const rows = await ctx.store.db.selectFrom('incident_history').select(['reference', 'at', 'detail'])
      .where('action', '=', SENDER_OVERRIDE).where('reference', 'in', refs.slice(at, at + 500)).execute();
    for (const r of rows) sentAnyway.push({ reference: r.reference, sender: senderOf.get(r.reference) ?? '', at: new Date(r.at), reason: r.detail ?? '' });
  }
  sentAnyway.sort((a, b) => a.at.getTime() - b.at.getTime());
  let perSchool: SchoolFigures[] | null = null;
  if (seesSeveralSchools(ctx.schools, user) && !school) {
    const bySchool = new Map<string, Incident[]>(ctx.schools.list.map((s) => [s.id, []]));
    for (const i of incidents) {
      let list = bySchool.get(i.tenant);
      if (!list) bySchool.set(i.tenant, (list = []));
      list.push(i);
    }
    perSchool = [...bySchool.entries()].map(([id, list]) => {
      const rules = new Map<string, number>();
      for (const i of list) for (const r of i.rules) rules.set(r, (rules.get(r) ?? 0) + 1);
      const t = list.flatMap(decisionMs).sort((a, b) => a - b);
      return {
        id,
        name: ctx.schools.nameOf(id),
        total: list.length,
        held: list.filter((i) => i.kind === 'held').length,
        nearMisses: list.filter((i) => i.kind === 'near-miss').length,
        potentialBreaches: list.filter((i) => i.potentialBreach).length,
        open: list.filter((i) => i.status === 'open').length,
        perRule: [...rules.entries()].map(([rule, count]) => ({ rule, count })).sort((a, b) => b.count - a.count),
        medianDecisionMs: median(t),
        decided: t.length,
      };
    }).sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  }
  return {
    weeks,
    since,
    until,
    total: incidents.length,
    held: incidents.filter((i) => i.kind === 'held').length,
    nearMisses: incidents.filter((i) => i.kind === 'near-miss').length,
    perWeek: [...perWeek.entries()].map(([weekStartDay, count]) => ({ weekStart: weekStartDay, label: dateOnly(new Date(`${weekStartDay}T12:00:00Z`), 'UTC').replace(/ \d{4}$/, ''), count })),
    perRule: [...perRule.entries()].map(([rule, count]) => ({ rule, count })).sort((a, b) => b.count - a.count),
    topSenders: [...senders.entries()].map(([sender, count]) => ({ sender, count })).sort((a, b) => b.count - a.count || a.sender.localeCompare(b.sender)).slice(0, 10),
    outcomes: (['open', 'released', 'rejected', 'reported-to-ico', 'closed-no-breach'] as const).map((status) => ({ status, count: outcomes.get(status) ?? 0 })),
    potentialBreaches: incidents.filter((i) => i.potentialBreach).length,
    medianDecisionMs: median(times),
    decided: times.length,
    school,
    perSchool,
    sentAnyway,
  };
}

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const step = 10 ** Math.floor(Math.log10(n));
  return Math.ceil(n / step) * step;
}

/** Vertical bars, one per week. */
function weekChart(data: Report['perWeek']): Html {
  const W = 760;
  const H = 260;
  const left = 40;
  const bottom = 40;
  const top = 16;
  const max = niceMax(Math.max(0, ...data.map((d) => d.count)));
  const plotH = H - bottom - top;
  const slot = (W - left - 10) / Math.max(1, data.length);
  const barW = Math.max(4, Math.min(40, slot * 0.7));
  const ticks = Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max];
  const every = Math.ceil(data.length / 13);
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="wk-title wk-desc">
<title id="wk-title">Incidents per week</title>
<desc id="wk-desc">${data.map((d) => `Week of ${d.label}: ${d.count}`).join('; ')}</desc>
${ticks.map((t) => {
    const y = top + plotH - (t / max) * plotH;
    return html`<line class="grid" x1="${left}" x2="${W - 10}" y1="${y}" y2="${y}"/><text x="${left - 6}" y="${y + 4}" text-anchor="end">${t}</text>`;
  })}
<line class="axis" x1="${left}" x2="${W - 10}" y1="${top + plotH}" y2="${top + plotH}"/>
${data.map((d, i) => {
    const h = (d.count / max) * plotH;
    const x = left + i * slot + (slot - barW) / 2;
    return html`<g><rect class="bar" x="${x.toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}"><title>Week of ${d.label}: ${d.count}</title></rect>
${d.count ? html`<text class="value" x="${(x + barW / 2).toFixed(1)}" y="${(top + plotH - h - 4).toFixed(1)}" text-anchor="middle">${d.count}</text>` : ''}
${i % every === 0 ? html`<text x="${(x + barW / 2).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${d.label}</text>` : ''}</g>`;
  })}
<text x="${left}" y="${H - 6}">Week beginning (Monday)</text>
</svg>`;
}

/** Horizontal bars, one per label. */
function barList(id: string, title: string, data: Array<{ label: string; count: number }>, alt = false): Html {
  const W = 860;
  const rowH = 30;
  const labelW = 430;
  const H = Math.max(1, data.length) * rowH + 10;
  const max = Math.max(1, ...data.map((d) => d.count));
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="${id}-title ${id}-desc">
<title id="${id}-title">${title}</title>
<desc id="${id}-desc">${data.map((d) => `${d.label}: ${d.count}`).join('; ')}</desc>
${data.map((d, i) => {
    const w = (d.count / max) * (W - labelW - 60);
    const y = 5 + i * rowH;
    return html`<g><text x="${labelW - 8}" y="${y + 19}" text-anchor="end">${d.label.length > 62 ? `${d.label.slice(0, 61)}…` : d.label}</text>
<rect class="bar${alt ? ' alt' : ''}" x="${labelW}" y="${y + 4}" width="${Math.max(d.count ? 2 : 0, w).toFixed(1)}" height="${rowH - 10}"><title>${d.label}: ${d.count}</title></rect>
<text class="value" x="${(labelW + w + 6).toFixed(1)}" y="${y + 19}">${d.count}</text></g>`;
  })}
</svg>`;
}

function numbersTable(caption: string, head: [string, string], rows: Array<[string, number]>): Html {
  return html`<details class="more"><summary>Show the numbers as a table</summary><table><caption>${caption}</caption><thead><tr><th scope="col">${head[0]}</th><th scope="col" class="num">${head[1]}</th></tr></thead><tbody>${rows.map(([a, b]) => html`<tr><td>${a}</td><td class="num">${b}</td></tr>`)}</tbody></table></details>`;
}

/** Incidents per school, a table per school, and each school's incidents per rule. */
function schoolsSection(list: SchoolFigures[]): Html {
  const rules = [...new Set(list.flatMap((s) => s.perRule.map((r) => r.rule)))];
  const count = (s: SchoolFigures, rule: string) => s.perRule.find((r) => r.rule === rule)?.count ?? 0;
  return html`<h2 id="per-school">Schools</h2>
<p class="muted">Each school's figures for the same period. A school with more pupils or more staff sending personal data will have more.</p>
${barList('schools', 'Incidents per school', list.map((s) => ({ label: s.name, count: s.total })))}
<div class="table-wrap"><table class="per-school">
<caption>Figures per school</caption>
<thead><tr><th scope="col">School</th><th scope="col" class="num">Emails stopped</th><th scope="col" class="num">Held for review</th><th scope="col" class="num">Blocked (near misses)</th><th scope="col" class="num">Potential breaches</th><th scope="col" class="num">Still waiting for a decision</th><th scope="col" class="num">Median time to a decision</th></tr></thead>
<tbody>${list.map((s) => html`<tr data-school="${s.id}"><th scope="row">${s.name}</th><td class="num">${s.total}</td><td class="num">${s.held}</td><td class="num">${s.nearMisses}</td><td class="num">${s.potentialBreaches}</td><td class="num">${s.open}</td><td class="num">${s.medianDecisionMs === null ? '–' : duration(s.medianDecisionMs)}${s.decided ? html` <span class="muted">(${s.decided} decided)</span>` : ''}</td></tr>`)}</tbody>
</table></div>
${rules.length ? html`<h3 id="per-school-rule">Incidents per rule in each school</h3>
<div class="table-wrap"><table class="per-school-rule">
<caption class="visually-hidden">Incidents per rule in each school</caption>
<thead><tr><th scope="col">School</th>${rules.map((r) => html`<th scope="col" class="num">${ruleTitle(r)}</th>`)}</tr></thead>
<tbody>${list.map((s) => html`<tr data-school="${s.id}"><th scope="row">${s.name}</th>${rules.map((r) => html`<td class="num">${count(s, r)}</td>`)}</tr>`)}</tbody>
</table></div>` : ''}`;
}

export function reportPage(ctx: ConsoleContext, user: SessionUser, r: Report): string {
  const tz = ctx.settings.timeZone;
  const several = seesSeveralSchools(ctx.schools, user);
  const about = r.school ? ctx.schools.nameOf(r.school) : user.scopeName ?? ctx.schools.name;
  const body = html`
<h1>Report for the headteacher and governors</h1>
<p class="lead">${about}: ${dateOnly(r.since, tz)} to ${dateOnly(r.until, tz)} (${r.weeks} weeks). Counts only: no message content appears in this report.</p>
<form class="filters" method="get" action="/report" aria-label="Report period">
${several ? html`<div class="field"><label for="report-school">School</label><select id="report-school" name="school"><option value="">Every school</option>${ctx.schools.list.map((s) => html`<option value="${s.id}"${r.school === s.id ? html` selected` : ''}>${s.name}</option>`)}</select></div>` : ''}
<div class="field"><label for="weeks">Period</label><select id="weeks" name="weeks">${REPORT_PERIODS.map((w) => html`<option value="${w}"${w === r.weeks ? html` selected` : ''}>Last ${w} weeks</option>`)}</select></div>
<div class="field"><button class="btn secondary" type="submit">Show</button></div>
</form>
<h2>Summary</h2>
<div class="grid">
<div class="stat"><span class="n">${r.total}</span><span class="l">emails stopped</span></div>
<div class="stat"><span class="n">${r.held}</span><span class="l">held for review</span></div>
<div class="stat"><span class="n">${r.nearMisses}</span><span class="l">blocked before sending (near misses)</span></div>
<div class="stat"><span class="n">${r.potentialBreaches}</span><span class="l">potential breaches</span></div>
<div class="stat"><span class="n">${r.medianDecisionMs === null ? '–' : duration(r.medianDecisionMs)}</span><span class="l">median time to a decision${r.decided ? ` (${r.decided} decided)` : ''}</span></div>
</div>
${r.perSchool ? schoolsSection(r.perSchool) : ''}
<h2 id="per-week">Incidents per week</h2>
${weekChart(r.perWeek)}
${numbersTable('Incidents per week', ['Week beginning', 'Incidents'], r.perWeek.map((w) => [w.label, w.count]))}
<h2 id="per-rule">Incidents per rule</h2>
${r.perRule.length ? html`${barList('rules', 'Incidents per rule', r.perRule.map((x) => ({ label: ruleTitle(x.rule), count: x.count })))}${numbersTable('Incidents per rule', ['Rule', 'Incidents'], r.perRule.map((x) => [ruleTitle(x.rule), x.count]))}` : html`<p class="muted">No incidents in this period.</p>`}
<h2 id="outcomes">What happened to them</h2>
${barList('outcomes', 'Held versus released versus rejected', r.outcomes.map((o) => ({ label: STATUS_TITLES[o.status], count: o.count })), true)}
${numbersTable('Outcomes', ['Outcome', 'Incidents'], r.outcomes.map((o) => [STATUS_TITLES[o.status], o.count]))}
<h2 id="sent-anyway">Sent anyway by their senders</h2>
<p class="muted">Where the school lets senders judge a finding themselves (a pupil's name in a subject line or a file name), the sender may send the email unchanged with a reason. Each reason is shown as written, with pupils' names and identifiers masked.</p>
${r.sentAnyway.length ? html`<div class="table-wrap"><table class="cards"><thead><tr><th scope="col">Reference</th><th scope="col">Sender</th><th scope="col">When</th><th scope="col">Their reason</th></tr></thead><tbody>${r.sentAnyway.map((s) => html`<tr><td data-label="Reference">${s.reference}</td><td data-label="Sender">${s.sender}</td><td data-label="When">${dateOnly(s.at, tz)}</td><td data-label="Their reason">${s.reason}</td></tr>`)}</tbody></table></div>` : html`<p class="muted">None in this period.</p>`}
<h2 id="training">Staff who may need a reminder or training</h2>
<p class="muted">The senders with the most stopped emails in the period. Counts only; a high count may mean a role that handles much personal data rather than carelessness.</p>
${r.topSenders.length ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Sender</th><th scope="col" class="num">Emails stopped</th></tr></thead><tbody>${r.topSenders.map((s) => html`<tr><td>${s.sender}</td><td class="num">${s.count}</td></tr>`)}</tbody></table></div>` : html`<p class="muted">None.</p>`}
<p class="muted">Print this page for the governors' pack (the navigation and forms are left out of the printout).</p>`;
  return page({ title: "Governors' report", user, schoolName: ctx.schools.name, active: 'report', body });
}
