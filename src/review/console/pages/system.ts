// System health for IT: the gateway instances sharing this store, quarantine and outbox depth,
// roster and detector versions, next-hop reachability, and the configuration in force. Counts
// and settings only: never a sender, subject or any message content.
import { RULES, RULE_IDS } from '../../../decide/rules.ts';
import type { SessionUser } from '../auth.ts';
import type { ConsoleContext, GatewayStatus } from '../context.ts';
import { html, type Html } from '../html.ts';
import { duration, page, time } from '../layout.ts';
import { ROLE_TITLES } from '../../users.ts';

export interface SystemFacts {
  instances: Array<{ name: string; startedAt: Date; lastSeen: Date; status: GatewayStatus }>;
  here: GatewayStatus | null;
  hereName: string;
  quarantine: { open: number; held: number; purged: number; oldestOpen: Date | null };
  outbox: { pending: number; sending: number; failed: number; oldestPending: Date | null; lastError: string | null };
  accounts: Array<{ username: string; role: keyof typeof ROLE_TITLES }>;
}

export async function systemFacts(ctx: ConsoleContext, hereName: string, here: GatewayStatus | null): Promise<SystemFacts> {
  const db = ctx.db;
  const instances = (await db.selectFrom('console_instances').selectAll().orderBy('name').execute()).map((r) => ({
    name: r.name, startedAt: new Date(r.started_at), lastSeen: new Date(r.last_seen_at), status: JSON.parse(r.detail) as GatewayStatus,
  }));
  const count = async (q: Promise<{ n: number | string | bigint } | undefined>) => Number((await q)?.n ?? 0);
  const open = await count(db.selectFrom('incidents').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'open').executeTakeFirst());
  const held = await count(db.selectFrom('held_messages').select((eb) => eb.fn.countAll<number>().as('n')).where('purged_at', 'is', null).executeTakeFirst());
  const purged = await count(db.selectFrom('held_messages').select((eb) => eb.fn.countAll<number>().as('n')).where('purged_at', 'is not', null).executeTakeFirst());
  const oldestOpen = await db.selectFrom('incidents').select((eb) => eb.fn.min('detected_at').as('t')).where('status', '=', 'open').executeTakeFirst();
  const byStatus = await db.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  const n = (s: string) => Number(byStatus.find((r) => r.status === s)?.n ?? 0);
  const oldestPending = await db.selectFrom('outbox').select((eb) => eb.fn.min('created_at').as('t')).where('status', 'in', ['pending', 'sending']).executeTakeFirst();
  const lastError = await db.selectFrom('outbox').select('last_error').where('last_error', 'is not', null).orderBy('next_attempt_at', 'desc').limit(1).executeTakeFirst();
  const accounts = await db.selectFrom('console_users').select(['username', 'role']).orderBy('username').execute();
  return {
    instances,
    here,
    hereName,
    quarantine: { open, held, purged, oldestOpen: oldestOpen?.t ? new Date(oldestOpen.t as string) : null },
    outbox: { pending: n('pending'), sending: n('sending'), failed: n('failed'), oldestPending: oldestPending?.t ? new Date(oldestPending.t as string) : null, lastError: lastError?.last_error ?? null },
    accounts,
  };
}

function yesNo(ok: boolean | undefined, yes: string, no: string): Html {
  if (ok === undefined) return html`<span class="muted">not reported</span>`;
  return ok ? html`<span class="ok">${yes}</span>` : html`<span class="bad">${no}</span>`;
}

function ruleSetting(ctx: ConsoleContext, id: string, key: 'action' | 'severity' | 'notify'): string {
  const rules = ctx.config.policy.rules;
  const doc = rules && typeof rules === 'object' ? (rules as Record<string, Record<string, unknown> | undefined>)[id] : undefined;
  const v = doc?.[key] ?? (RULES as Record<string, { defaults: Record<string, unknown> }>)[id]?.defaults[key];
  return v === undefined ? '' : String(v);
}

export function systemPage(ctx: ConsoleContext, user: SessionUser, f: SystemFacts): string {
  const tz = ctx.settings.timeZone;
  const now = ctx.now();
  const fresh = (d: Date) => now.getTime() - d.getTime() < 120_000;
  const here = f.here;
  const cfg = ctx.config;
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
<div class="table-wrap"><table><thead><tr><th scope="col">Instance</th><th scope="col">Last report</th><th scope="col">SMTP listener</th><th scope="col">Next hop</th><th scope="col">Roster</th><th scope="col">Detectors</th><th scope="col" class="num">In flight</th></tr></thead>
<tbody>${f.instances.map((i) => html`<tr><td>${i.name}${i.name === f.hereName ? html` <span class="muted">(this one)</span>` : ''}<br><span class="muted">up since ${time(i.startedAt, tz)}</span></td>
<td>${fresh(i.lastSeen) ? html`<span class="ok">${now.getTime() - i.lastSeen.getTime() < 60_000 ? 'within the last minute' : `${duration(now.getTime() - i.lastSeen.getTime())} ago`}</span>` : html`<span class="bad">silent for ${duration(now.getTime() - i.lastSeen.getTime())}</span>`}</td>
<td>${i.status.listen ? `${i.status.listen.host}:${i.status.listen.port}` : ''}</td>
<td>${i.status.nextHop ? html`${i.status.nextHop.host ? `${i.status.nextHop.host}:${i.status.nextHop.port} ` : ''}${yesNo(i.status.nextHop.reachable, 'reachable', 'NOT reachable')}${i.status.nextHop.capture ? html` <span class="muted">(try-it-out capture)</span>` : ''}${i.status.nextHop.detail && !i.status.nextHop.reachable ? html`<br><span class="muted">${i.status.nextHop.detail}</span>` : ''}` : html`<span class="muted">not reported</span>`}</td>
<td>${i.status.roster ? html`${i.status.roster.pupils ?? '?'} pupils${i.status.roster.loadedAt ? html`<br><span class="muted">loaded ${time(new Date(i.status.roster.loadedAt), tz)}</span>` : ''}${i.status.roster.problem ? html`<br><span class="bad">${i.status.roster.problem}</span>` : ''}` : html`<span class="muted">no roster</span>`}</td>
<td>${i.status.detectors ? html`${i.status.detectors.version ?? ''}${i.status.detectors.count ? html`<br><span class="muted">${i.status.detectors.count} detectors</span>` : ''}` : html`<span class="muted">not reported</span>`}</td>
<td class="num">${i.status.inFlight ?? ''}</td></tr>`)}</tbody></table></div>
${!f.instances.length ? html`<p class="muted">No instance has reported yet.</p>` : ''}
<h2 id="queues">Quarantine and outbox</h2>
<div class="panel"><dl class="facts">
<dt>Oldest incident waiting for a decision</dt><dd>${f.quarantine.oldestOpen ? html`${time(f.quarantine.oldestOpen, tz)} (${duration(now.getTime() - f.quarantine.oldestOpen.getTime())} ago)` : 'none'}</dd>
<dt>Held messages deleted by retention</dt><dd>${f.quarantine.purged} <span class="muted">(kept ${ctx.store.settings.quarantineRetentionDays} days; incidents kept ${ctx.store.settings.incidentRetentionYears} years)</span></dd>
<dt>Outbox</dt><dd>${f.outbox.pending} pending, ${f.outbox.sending} sending, ${f.outbox.failed} failed${f.outbox.oldestPending ? html`; oldest waiting since ${time(f.outbox.oldestPending, tz)}` : ''}</dd>
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
<h3>Rules</h3>
<div class="table-wrap"><table><thead><tr><th scope="col">Rule</th><th scope="col">Action</th><th scope="col" class="num">Severity</th><th scope="col">Business manager told</th></tr></thead>
<tbody>${RULE_IDS.map((id) => html`<tr><td>${RULES[id].title}<br><code class="muted">${id}</code></td><td>${ruleSetting(ctx, id, 'action')}</td><td class="num">${ruleSetting(ctx, id, 'severity')}</td><td>${ruleSetting(ctx, id, 'notify')}</td></tr>`)}</tbody></table></div>
<h3>Console accounts</h3>
<p class="muted">Managed on the server with <code>hallmonitor users add|reset|remove|list</code>.</p>
<div class="table-wrap"><table><thead><tr><th scope="col">User name</th><th scope="col">Role</th></tr></thead><tbody>${f.accounts.map((a) => html`<tr><td>${a.username}</td><td>${ROLE_TITLES[a.role]}</td></tr>`)}</tbody></table></div>`;
  return page({ title: 'System health', user, schoolName: ctx.settings.schoolName, active: 'system', body });
}
