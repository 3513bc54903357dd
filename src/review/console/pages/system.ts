// System health for IT: the gateway instances sharing this store, quarantine and outbox depth,
// roster and detector versions, next-hop reachability, and the configuration in force. Counts
// and settings only: never a sender, subject or any message content. In a trust, every school's
// roster (pupils, when loaded, any problem) as this gateway instance has it; an account of one
// school sees its own school's roster, incidents, outbox and accounts, a trust account all of them.
import { RULES, RULE_IDS, type RuleId } from '../../../decide/rules.ts';
import { redactAddresses } from '../../../act/deliver.ts';
import { pendingBounces } from '../../../store/bounces.ts';
import type { SessionUser } from '../auth.ts';
import type { ConsoleContext, GatewayStatus, SchoolRosterStatus } from '../context.ts';
import { html, type Html } from '../html.ts';
import { duration, page, time } from '../layout.ts';
import { ROLE_TITLES } from '../../users.ts';
import { seesSeveralSchools, viewSchools } from '../schools.ts';

export interface SystemFacts {
  instances: Array<{ name: string; startedAt: Date; lastSeen: Date; status: GatewayStatus }>;
  here: GatewayStatus | null;
  hereName: string;
  quarantine: { open: number; held: number; purged: number; oldestOpen: Date | null };
  /** lastError with addresses redacted (rows written before they were redacted when stored); bounces: failure notices to senders waiting. */
  outbox: { pending: number; sending: number; failed: number; oldestPending: Date | null; lastError: string | null; bounces: number };
  accounts: Array<{ username: string; role: keyof typeof ROLE_TITLES; tenant: string | null }>;
  /** Every school's roster as this instance has it (only the user's own school for a school's account). */
  schools: SchoolRosterStatus[];
}

export async function systemFacts(ctx: ConsoleContext, user: Pick<SessionUser, 'tenant'>, hereName: string, here: GatewayStatus | null): Promise<SystemFacts> {
  const db = ctx.db;
  // A school's account: its own school's incidents, outbox and accounts only.
  const tenants = viewSchools(ctx.schools, user);
  const own = tenants ?? [];
  const instances = (await db.selectFrom('console_instances').selectAll().orderBy('name').execute()).map((r) => ({
    name: r.name, startedAt: new Date(r.started_at), lastSeen: new Date(r.last_seen_at), status: JSON.parse(r.detail) as GatewayStatus,
  }));
  const count = async (q: Promise<{ n: number | string | bigint } | undefined>) => Number((await q)?.n ?? 0);
  const incidents = () => {
    const q = db.selectFrom('incidents');
    return tenants ? q.where('incidents.tenant', 'in', own) : q;
  };
  const heldMessages = () => {
    const q = db.selectFrom('held_messages');
    return tenants ? q.where('held_messages.reference', 'in', db.selectFrom('incidents').select('reference').where('tenant', 'in', own)) : q;
  };
  const outbox = () => {
    const q = db.selectFrom('outbox');
    return tenants ? q.where('outbox.tenant', 'in', own) : q;
  };
  const open = await count(incidents().select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'open').executeTakeFirst());
  const held = await count(heldMessages().select((eb) => eb.fn.countAll<number>().as('n')).where('purged_at', 'is', null).executeTakeFirst());
  const purged = await count(heldMessages().select((eb) => eb.fn.countAll<number>().as('n')).where('purged_at', 'is not', null).executeTakeFirst());
  const oldestOpen = await incidents().select((eb) => eb.fn.min('detected_at').as('t')).where('status', '=', 'open').executeTakeFirst();
  const byStatus = await outbox().select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  const n = (s: string) => Number(byStatus.find((r) => r.status === s)?.n ?? 0);
  const oldestPending = await outbox().select((eb) => eb.fn.min('created_at').as('t')).where('status', 'in', ['pending', 'sending']).executeTakeFirst();
  const lastError = await outbox().select('last_error').where('last_error', 'is not', null).orderBy('next_attempt_at', 'desc').limit(1).executeTakeFirst();
  let accountsQuery = db.selectFrom('console_users').select(['username', 'role', 'tenant']).orderBy('username');
  if (tenants) accountsQuery = accountsQuery.where('tenant', 'in', own);
  const accounts = await accountsQuery.execute();
  const schools = (here?.schools ?? []).filter((s) => !tenants || own.includes(s.id));
  return {
    instances,
    here,
    hereName,
    quarantine: { open, held, purged, oldestOpen: oldestOpen?.t ? new Date(oldestOpen.t as string) : null },
    outbox: { pending: n('pending'), sending: n('sending'), failed: n('failed'), oldestPending: oldestPending?.t ? new Date(oldestPending.t as string) : null, lastError: lastError?.last_error ? redactAddresses(lastError.last_error) : null, bounces: await pendingBounces(db) },
    accounts,
    schools,
  };
}

function yesNo(ok: boolean | undefined, yes: string, no: string): Html {
  if (ok === undefined) return html`<span class="muted">not reported</span>`;
  return ok ? html`<span class="ok">${yes}</span>` : html`<span class="bad">${no}</span>`;
}

function ruleSetting(ctx: ConsoleContext, user: Pick<SessionUser, 'tenant'>, id: string, key: 'action' | 'severity' | 'notify'): string {
  // A school's account sees its school's rules (the trust's defaults with its overrides); a trust account the trust's defaults.
  const rules = ((user.tenant !== null && ctx.schools.get(user.tenant)?.config) || ctx.config).policy.rules;
  const v = rules[id as RuleId]?.[key] ?? RULES[id as RuleId]?.defaults[key];
  return v === undefined ? '' : String(v);
}

/** Each school's roster on this instance: pupils, when it was loaded, and any problem. */
function schoolRosters(ctx: ConsoleContext, f: SystemFacts, several: boolean): Html {
  if (ctx.schools.single && f.schools.length <= 1) return html``;
  const tz = ctx.settings.timeZone;
  const problems = f.schools.filter((s) => s.problem).length;
  return html`<h2 id="schools">${several ? 'Schools' : 'Your school'}: rosters</h2>
<p class="muted">As this gateway instance (${f.hereName || 'this one'}) has them loaded. A roster with a problem keeps the previous one in force until it is fixed.</p>
${f.schools.length ? html`${several ? html`<p>${f.schools.length} ${f.schools.length === 1 ? 'school' : 'schools'}; ${problems ? html`<span class="bad">${problems} with a roster problem</span>` : html`<span class="ok">no roster problems</span>`}.</p>` : ''}
<div class="table-wrap"><table class="school-rosters"><thead><tr><th scope="col">School</th><th scope="col" class="num">Pupils</th><th scope="col">Roster loaded</th><th scope="col">Problem</th></tr></thead>
<tbody>${f.schools.map((s) => html`<tr data-school="${s.id}"><th scope="row">${s.name ?? ctx.schools.nameOf(s.id)}</th><td class="num">${s.pupils}</td><td>${s.loadedAt ? time(new Date(s.loadedAt), tz) : html`<span class="bad">not loaded</span>`}</td><td>${s.problem ? html`<span class="bad">${s.problem}</span>` : html`<span class="ok">none</span>`}</td></tr>`)}</tbody></table></div>`
    : html`<p class="muted">This gateway instance has not reported its schools' rosters (it may run with a test inspector, or not have loaded them yet).</p>`}`;
}

export function systemPage(ctx: ConsoleContext, user: SessionUser, f: SystemFacts): string {
  const tz = ctx.settings.timeZone;
  const now = ctx.now();
  const fresh = (d: Date) => now.getTime() - d.getTime() < 120_000;
  const here = f.here;
  const cfg = ctx.config;
  const several = seesSeveralSchools(ctx.schools, user);
  const body = html`
<h1>System health</h1>
<p class="lead">For IT: is every part of Hallmonitor working? No message content is shown here.</p>
<div class="grid">
<div class="stat"><span class="n">${f.instances.filter((i) => fresh(i.lastSeen)).length}</span><span class="l">gateway instances reporting</span></div>
<div class="stat"><span class="n">${f.quarantine.open}</span><span class="l">incidents waiting for a decision</span></div>
<div class="stat"><span class="n">${f.quarantine.held}</span><span class="l">messages in quarantine</span></div>
<div class="stat"><span class="n">${f.outbox.pending + f.outbox.sending}</span><span class="l">emails waiting in the outbox</span></div>
<div class="stat"><span class="n">${f.outbox.failed}</span><span class="l">outbox emails that failed</span></div>
</div>
<h2 id="instances">Gateway instances</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Instance</th><th scope="col">Last report</th><th scope="col">SMTP listener</th><th scope="col">Next hop</th><th scope="col">Quarantine store</th><th scope="col">Roster</th><th scope="col">Detectors</th><th scope="col" class="num">In flight</th></tr></thead>
<tbody>${f.instances.map((i) => html`<tr><td>${i.name}${i.name === f.hereName ? html` <span class="muted">(this one)</span>` : ''}<br><span class="muted">up since ${time(i.startedAt, tz)}</span></td>
<td>${fresh(i.lastSeen) ? html`<span class="ok">${now.getTime() - i.lastSeen.getTime() < 60_000 ? 'within the last minute' : `${duration(now.getTime() - i.lastSeen.getTime())} ago`}</span>` : html`<span class="bad">silent for ${duration(now.getTime() - i.lastSeen.getTime())}</span>`}</td>
<td>${i.status.listen ? `${i.status.listen.host}:${i.status.listen.port}` : ''}</td>
<td>${i.status.nextHop ? html`${i.status.nextHop.host ? `${i.status.nextHop.host}:${i.status.nextHop.port} ` : ''}${yesNo(i.status.nextHop.reachable, 'reachable', 'NOT reachable')}${i.status.nextHop.capture ? html` <span class="muted">(try-it-out capture)</span>` : ''}${i.status.nextHop.detail && !i.status.nextHop.reachable ? html`<br><span class="muted">${i.status.nextHop.detail}</span>` : ''}` : html`<span class="muted">not reported</span>`}</td>
<td>${i.status.store ? (i.status.store.writable ? html`<span class="ok">writable</span> <span class="muted">(${i.status.store.probeMs} ms)</span>` : html`<span class="bad">NOT writable</span>${i.status.store.error ? html`<br><span class="muted">${i.status.store.error}</span>` : ''}`) : html`<span class="muted">not reported</span>`}</td>
<td>${i.status.roster ? html`${i.status.roster.pupils ?? '?'} pupils${i.status.roster.loadedAt ? html`<br><span class="muted">loaded ${time(new Date(i.status.roster.loadedAt), tz)}</span>` : ''}${i.status.roster.problem ? html`<br><span class="bad">${i.status.roster.problem}</span>` : ''}` : html`<span class="muted">no roster</span>`}</td>
<td>${i.status.detectors ? html`${i.status.detectors.version ?? ''}${i.status.detectors.count ? html`<br><span class="muted">${i.status.detectors.count} detectors</span>` : ''}` : html`<span class="muted">not reported</span>`}</td>
<td class="num">${i.status.inFlight ?? ''}</td></tr>`)}</tbody></table></div>
${!f.instances.length ? html`<p class="muted">No instance has reported yet.</p>` : ''}
${schoolRosters(ctx, f, several)}
<h2 id="queues">Quarantine and outbox</h2>
<div class="panel"><dl class="facts">
<dt>Oldest incident waiting for a decision</dt><dd>${f.quarantine.oldestOpen ? html`${time(f.quarantine.oldestOpen, tz)} (${duration(now.getTime() - f.quarantine.oldestOpen.getTime())} ago)` : 'none'}</dd>
<dt>Held messages deleted by retention</dt><dd>${f.quarantine.purged} <span class="muted">(kept ${ctx.store.settings.quarantineRetentionDays} days; incidents kept ${ctx.store.settings.incidentRetentionYears} years)</span></dd>
<dt>Outbox</dt><dd>${f.outbox.pending} pending, ${f.outbox.sending} sending, ${f.outbox.failed} failed${f.outbox.oldestPending ? html`; oldest waiting since ${time(f.outbox.oldestPending, tz)}` : ''}</dd>
<dt>Failure notices to senders waiting</dt><dd>${f.outbox.bounces} <span class="muted">(recipients the next hop refused after the school's server had its 250; retried until sent)</span></dd>
${f.outbox.lastError ? html`<dt>Last outbox error</dt><dd><code>${f.outbox.lastError}</code></dd>` : ''}
</dl></div>
<h2 id="config">Configuration in force</h2>
<div class="panel"><dl class="facts">
<dt>Configuration file</dt><dd>${cfg.source}</dd>
<dt>Gateway name</dt><dd>${cfg.hostname}</dd>
<dt>SMTP listener</dt><dd>${cfg.listen.host}:${cfg.listen.port}</dd>
<dt>Next hop</dt><dd>${cfg.nextHop ? `${cfg.nextHop.host}:${cfg.nextHop.port} (STARTTLS ${cfg.nextHop.starttls})` : 'none: try-it-out capture mode'}</dd>
<dt>Store</dt><dd>${ctx.store.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'}: ${ctx.store.location}</dd>
<dt>Policy mode</dt><dd>${here?.policy?.mode ?? (typeof cfg.policy.mode === 'string' ? cfg.policy.mode : 'enforce')}</dd>
<dt>Console</dt><dd>${ctx.settings.listen ? `${ctx.settings.listen.host}:${ctx.settings.listen.port}` : ''}${ctx.settings.tls ? ' with TLS' : ' without TLS'}${ctx.settings.publicUrl ? `; reached at ${ctx.settings.publicUrl}` : ''}; sessions ${ctx.settings.sessionHours} h (idle ${ctx.settings.idleMinutes} min); lock-out after ${ctx.settings.lockout.failures} failures for ${ctx.settings.lockout.minutes} min</dd>
</dl></div>
<h3>Rules${several ? html` <span class="muted">(the trust's defaults; a school may override them)</span>` : ''}</h3>
<div class="table-wrap"><table><thead><tr><th scope="col">Rule</th><th scope="col">Action</th><th scope="col" class="num">Severity</th><th scope="col">Business manager told</th></tr></thead>
<tbody>${RULE_IDS.map((id) => html`<tr><td>${RULES[id].title}<br><code class="muted">${id}</code></td><td>${ruleSetting(ctx, user, id, 'action')}</td><td class="num">${ruleSetting(ctx, user, id, 'severity')}</td><td>${ruleSetting(ctx, user, id, 'notify')}</td></tr>`)}</tbody></table></div>
<h3>Console accounts</h3>
<p class="muted">Managed on the server with <code>hallmonitor users add|reset|remove|list</code>.</p>
<div class="table-wrap"><table><thead><tr><th scope="col">User name</th><th scope="col">Role</th>${ctx.schools.single ? '' : html`<th scope="col">School</th>`}</tr></thead><tbody>${f.accounts.map((a) => html`<tr><td>${a.username}</td><td>${ROLE_TITLES[a.role]}</td>${ctx.schools.single ? '' : html`<td>${a.tenant === null ? html`<span class="muted">Whole trust</span>` : ctx.schools.nameOf(a.tenant)}</td>`}</tr>`)}</tbody></table></div>`;
  return page({ title: 'System health', user, schoolName: ctx.schools.name, active: 'system', body });
}
