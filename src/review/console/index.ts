// The business manager's console: server-rendered pages, served by the gateway process on its own
// port (console.listen, or `hallmonitor serve --console HOST:PORT`), HTTPS when console.tls is set.
// Works without JavaScript (there is none); every response carries a strict Content-Security-
// Policy; every form carries the session's CSRF token; every view and decision is recorded in the
// incident's history.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import os from 'node:os';
import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../../config/index.ts';
import type { HoldContext } from '../../act/hold.ts';
import { IncidentActionError, releaseIncident, rejectIncident, updateIncident } from '../actions.ts';
import { notifySettings } from '../../act/notify/settings.ts';
import type { Store } from '../../store/index.ts';
import { findIncident, heldMessage, incidentHistory } from '../../store/incidents.ts';
import { endSession, loadSession, newSignInToken, sameToken, sessionCookieName, signIn, signInCookieName, type SessionUser } from './auth.ts';
import { actorOf, audit, minSeverityFor, record, type AttachmentFacts, type ConsoleContext, type ConsoleDeps, type GatewayStatus } from './context.ts';
import { html, type Html } from './html.ts';
import { errorPage } from './layout.ts';
import { displayMessage } from './mail.ts';
import { consoleDb } from './migrations.ts';
import { incidentPage } from './pages/incident.ts';
import { queuePage } from './pages/queue.ts';
import { registerFilters, registerPage, registerRows } from './pages/register.ts';
import { registerCsv } from '../register.ts';
import { buildReport, REPORT_PERIODS, reportPage } from './pages/report.ts';
import { signInPage } from './pages/signin.ts';
import { systemFacts, systemPage } from './pages/system.ts';
import { can, canDecide, homeFor, type Permission } from './roles.ts';
import { consoleSchools, mayView, scopeName } from './schools.ts';
import { consoleSettings, type ConsoleSettings } from './settings.ts';
import { CONSOLE_CSS } from './style.ts';
import { sanitiseForViewer, VIEWER_CSP } from './viewer.ts';

export type { ConsoleDeps, GatewayStatus } from './context.ts';
export { consoleSettings, type ConsoleSettings } from './settings.ts';

export interface ConsoleServer {
  address(): { host: string; port: number };
  /** Where staff reach it: console.public_url, or the listen address. */
  url: string;
  close(): Promise<void>;
}

/** The CSP of every console page. The only frame is the sandboxed message viewer, from this origin. */
export const CONSOLE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; frame-src 'self'";

const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d2b4f"/><path d="M9 8v16M23 8v16M9 16h14" stroke="#fff" stroke-width="4" stroke-linecap="round"/></svg>';

const REFERENCE = /^HM-\d{4}-\d{6,}$/i;

type Env = { Variables: { user: SessionUser | null; ip: string } };

const NOTICES: Record<string, string> = {
  released: 'Released. The message is on its way to its recipients; the release is recorded below.',
  rejected: 'Rejected. The sender will get an email saying it was not sent, with how to send it safely.',
  breach: 'Marked as a potential breach. The ICO clock is running: see the deadline below.',
  escalated: 'Escalated as a potential breach. The ICO clock runs for 72 hours from now.',
  ico: 'Recorded: reported to the ICO. The clock has stopped.',
  closed: 'Closed – no breach.',
};

export async function startConsole(config: Config, store: Store, deps: ConsoleDeps = {}, overrides: { listen?: string } = {}): Promise<ConsoleServer> {
  const settings = consoleSettings(config, overrides);
  if (!settings.listen) throw new Error('console.listen is not set: the console has nowhere to listen');
  const db = await consoleDb(store);
  const hold: HoldContext = deps.hold ?? { store, notify: notifySettings(config), hostname: config.hostname };
  const schools = consoleSchools(config);
  const ctx: ConsoleContext = { config, settings, store, db, hold, schools, deps, logger: deps.logger, now: deps.now ?? (() => new Date()) };
  const app = createConsoleApp(ctx);

  const server = createAdaptorServer({
    fetch: app.fetch,
    ...(settings.tls
      ? { createServer: createHttpsServer, serverOptions: { cert: settings.tls.cert, key: settings.tls.key, minVersion: 'TLSv1.2' as const } }
      : { createServer: createHttpServer }),
  }) as Server;
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.listen!.port, settings.listen!.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => ctx.logger?.error({ event: 'console-error', err: err.message }, 'console server error'));
  const a = server.address() as { address: string; port: number };
  const address = { host: a.address, port: a.port };
  const url = settings.publicUrl ?? `${settings.tls ? 'https' : 'http'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;

  // Heartbeat: this instance's health, in the shared store, so the System health page of any
  // instance lists them all.
  const name = deps.instanceName ?? `${config.hostname} (${os.hostname()}, pid ${process.pid})`;
  const startedAt = ctx.now().toISOString();
  // The gateway's status includes a next-hop probe (an SMTP connection): it is asked afresh at
  // most every 5 minutes, or when someone opens System health; between, the heartbeat only says
  // "still here".
  let lastStatus: GatewayStatus = {};
  let lastAskedAt = 0;
  const beat = async (fresh = false) => {
    const nowMs = ctx.now().getTime();
    if (fresh || nowMs - lastAskedAt >= 300_000) {
      try {
        lastStatus = (await deps.status?.()) ?? {};
      } catch (err) {
        lastStatus = { ok: false, error: (err as Error).message };
      }
      lastAskedAt = nowMs;
    }
    const now = new Date(nowMs).toISOString();
    const detail = JSON.stringify(lastStatus);
    await db.insertInto('console_instances').values({ name, started_at: startedAt, last_seen_at: now, detail })
      .onConflict((oc) => oc.column('name').doUpdateSet({ last_seen_at: now, detail, started_at: startedAt }))
      .execute();
    return lastStatus;
  };
  ctx.heartbeat = () => beat(true);
  await beat().catch((err: Error) => ctx.logger?.warn({ event: 'console-heartbeat-failed', err: err.message }, 'console heartbeat failed'));
  let beating: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    beating ??= beat().catch((err: Error) => ctx.logger?.warn({ event: 'console-heartbeat-failed', err: err.message }, 'console heartbeat failed')).finally(() => { beating = undefined; });
  }, 30_000);
  timer.unref();
  ctx.logger?.info({ event: 'console-started', listen: `${address.host}:${address.port}`, tls: !!settings.tls, url }, 'console is serving');

  let closing: Promise<void> | undefined;
  return {
    address: () => address,
    url,
    close: () => (closing ??= (async () => {
      clearInterval(timer);
      await beating;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.deleteFrom('console_instances').where('name', '=', name).execute().catch(() => undefined);
    })()),
  };
}

declare module './context.ts' {
  interface ConsoleContext {
    /** Refreshes this instance's heartbeat row and returns its status (set once serving). */
    heartbeat?: () => Promise<GatewayStatus>;
  }
}

function securityHeaders(c: Context, settings: ConsoleSettings): void {
  const h = c.res.headers;
  if (!h.has('content-security-policy')) h.set('content-security-policy', CONSOLE_CSP);
  if (!h.has('x-frame-options')) h.set('x-frame-options', 'DENY');
  h.set('x-content-type-options', 'nosniff');
  h.set('referrer-policy', 'no-referrer');
  h.set('cross-origin-opener-policy', 'same-origin');
  h.set('cross-origin-resource-policy', 'same-origin');
  h.set('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()');
  if (!h.has('cache-control')) h.set('cache-control', 'no-store');
  if (settings.tls) h.set('strict-transport-security', 'max-age=31536000');
}

export function createConsoleApp(ctx: ConsoleContext): Hono<Env> {
  const { settings, db } = ctx;
  // The header's name when nobody is signed in: the trust's (or the one school's).
  const serviceName = ctx.schools.name;
  const app = new Hono<Env>();
  const cookieName = sessionCookieName(settings);
  const signinCookie = signInCookieName(settings);
  const cookieOpts = { path: '/', httpOnly: true, secure: settings.secureCookies, sameSite: 'Strict' as const };

  const send = (c: Context<Env>, status: number, body: string) => c.html(body, status as 200);
  const forbidden = (c: Context<Env>, why = 'Your role does not allow this.') =>
    send(c, 403, errorPage(c.get('user'), serviceName, 'Not allowed', why));
  const notFound = (c: Context<Env>) => send(c, 404, errorPage(c.get('user'), serviceName, 'Not found', 'There is nothing at this address. It may have been mistyped, or the incident may have been deleted at the end of its retention period.'));

  app.use('*', async (c, next) => {
    await next();
    securityHeaders(c, settings);
  });
  app.onError((err, c) => {
    ctx.logger?.error({ event: 'console-failed', path: c.req.path, err: err.message }, 'console request failed');
    const res = c.html(errorPage(c.get('user') ?? null, serviceName, 'Something went wrong', 'The page could not be shown. Nothing was changed unless the page said so. Try again; if it keeps happening, tell IT (the details are in the gateway log).'), 500);
    return res;
  });
  app.notFound((c) => notFound(c));
  app.use('*', bodyLimit({ maxSize: 256 * 1024, onError: (c) => c.text('Too large', 413) }));

  // Who is asking: the session (if any) and the address, for the sign-in record.
  app.use('*', async (c, next) => {
    c.set('ip', getConnInfo(c).remote.address ?? 'unknown');
    const user = await loadSession(db, getCookie(c, cookieName), settings, ctx.now());
    if (user) user.scopeName = scopeName(ctx.schools, user);
    c.set('user', user);
    await next();
  });

  // Every state-changing request: same origin, a live session and its CSRF token (sign-in: the
  // one-time sign-in token matching its cookie). Anything else is refused with 403.
  app.use('*', async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    if (method !== 'POST') return c.text('Method not allowed', 405);
    const site = c.req.header('sec-fetch-site');
    if (site && site !== 'same-origin' && site !== 'none') return forbidden(c, 'This form was sent from another site, so it was refused.');
    const type = c.req.header('content-type') ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded') && !type.startsWith('multipart/form-data')) return forbidden(c, 'The request was not sent by a console form.');
    const body = await c.req.parseBody({ all: true });
    if (c.req.path === '/sign-in') {
      if (!sameToken(getCookie(c, signinCookie), typeof body._signin === 'string' ? body._signin : null)) {
        return forbidden(c, 'The sign-in form had expired. Go back, reload the page and sign in again.');
      }
      return next();
    }
    const user = c.get('user');
    if (!user) return forbidden(c, 'You are not signed in (or your session ended). Sign in and try again.');
    if (!sameToken(user.csrf, typeof body._csrf === 'string' ? body._csrf : null)) return forbidden(c, 'The form had expired or did not come from this console. Reload the page and try again.');
    return next();
  });

  const form = async (c: Context<Env>) => (await c.req.parseBody({ all: true })) as Record<string, string | string[] | File | File[]>;
  const field = (b: Record<string, unknown>, k: string): string => (typeof b[k] === 'string' ? (b[k] as string).trim() : '');

  /** The signed-in user with a permission, or a response (sign-in redirect or 403). */
  const gate = (c: Context<Env>, perm: Permission): SessionUser | Response => {
    const user = c.get('user');
    if (!user) {
      const next = c.req.path + (new URL(c.req.url).search || '');
      return c.redirect(`/sign-in?next=${encodeURIComponent(next)}`, 303);
    }
    if (!can(user.role, perm)) return forbidden(c);
    return user;
  };

  app.get('/static/console.css', (c) => c.body(CONSOLE_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'private, max-age=300' }));
  app.get('/static/favicon.svg', (c) => c.body(FAVICON, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'private, max-age=86400' }));
  app.get('/favicon.ico', (c) => c.redirect('/static/favicon.svg', 301));

  app.get('/', (c) => {
    const user = c.get('user');
    return c.redirect(user ? homeFor(user.role) : '/sign-in', 303);
  });

  // ---- sign-in and sign-out ---------------------------------------------------------------
  const safeNext = (n: string | undefined): string | undefined => (n && n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') && n.length < 500 ? n : undefined);

  const signInForm = (c: Context<Env>, status: number, extra: Partial<Parameters<typeof signInPage>[0]> = {}) => {
    const token = newSignInToken();
    setCookie(c, signinCookie, token, { ...cookieOpts, maxAge: 3600 });
    return send(c, status, signInPage({ schoolName: serviceName, timeZone: settings.timeZone, token, ...extra }));
  };

  app.get('/sign-in', (c) => {
    const user = c.get('user');
    if (user) return c.redirect(homeFor(user.role), 303);
    const q = c.req.query();
    return signInForm(c, 200, { next: safeNext(q.next), error: q.signed_out ? 'signed-out' : undefined });
  });

  app.post('/sign-in', async (c) => {
    const b = await form(c);
    const username = field(b, 'username');
    const password = typeof b.password === 'string' ? b.password : '';
    const next = safeNext(field(b, 'next'));
    const result = await signIn(db, username, password, c.get('ip'), settings, ctx.now());
    if (!result.ok) {
      ctx.logger?.warn({ event: 'console-sign-in-refused', reason: result.reason, ip: c.get('ip') }, 'console sign-in refused');
      if (result.reason === 'locked') return signInForm(c, 429, { username, next, error: 'locked', lockedUntil: result.until });
      return signInForm(c, 401, { username, next, error: 'wrong' });
    }
    setCookie(c, cookieName, result.token, { ...cookieOpts, maxAge: settings.sessionHours * 3600 });
    deleteCookie(c, signinCookie, { path: '/', secure: settings.secureCookies });
    await audit(ctx, actorOf(result.user), 'console-signed-in', `from ${c.get('ip')}`);
    return c.redirect(next ?? homeFor(result.user.role), 303);
  });

  app.post('/sign-out', async (c) => {
    const user = c.get('user')!;
    await endSession(db, user.sessionId);
    await audit(ctx, actorOf(user), 'console-signed-out', null);
    deleteCookie(c, cookieName, { path: '/', secure: settings.secureCookies });
    return c.redirect('/sign-in?signed_out=1', 303);
  });

  // ---- held mail ----------------------------------------------------------------------------
  app.get('/queue', async (c) => {
    const user = gate(c, 'queue');
    if (user instanceof Response) return user;
    const q = c.req.query();
    let notice: Html | '' = '';
    if (q.released !== undefined) {
      const ok = Number(q.released) || 0;
      const failed = Number(q.failed) || 0;
      notice = html`<div class="notice${failed ? ' warn' : ''}" role="status"><p>${ok} ${ok === 1 ? 'message' : 'messages'} released.${failed ? ` ${failed} could not be released (already decided by someone else, or not yours to decide): open them to see why.` : ''}</p></div>`;
    }
    const body = await queuePage(ctx, user, q, notice);
    // The queue shows subject lines (content), so each look at it is recorded, with what was listed.
    await audit(ctx, actorOf(user), 'console-viewed-queue', listedReferences(body));
    return send(c, 200, body);
  });

  app.post('/queue/release', async (c) => {
    const user = gate(c, 'bulk-release');
    if (user instanceof Response) return user;
    const b = await form(c);
    const refs = ([] as unknown[]).concat(b.ref ?? []).filter((r): r is string => typeof r === 'string' && REFERENCE.test(r)).slice(0, 500);
    const reason = field(b, 'reason');
    if (reason.length < 3) return send(c, 400, errorPage(user, serviceName, 'A reason is needed', 'Say why these messages are safe to send (for example "false positive: the name is a member of staff"). Go back and try again.'));
    if (!refs.length) return send(c, 400, errorPage(user, serviceName, 'Nothing selected', 'Tick the messages to release, then press the button. Go back and try again.'));
    let ok = 0;
    let failed = 0;
    for (const ref of refs) {
      const inc = await findIncident(ctx.store.db, ref);
      // Another school's incident is not this user's to release (nor to know about).
      if (!inc || !mayView(user, inc.tenant) || !canDecide(user.role, inc, minSeverityFor(ctx, inc.tenant))) {
        failed++;
        continue;
      }
      try {
        await releaseIncident(ctx.hold, inc.reference, actorOf(user), `${reason} (bulk release of ${refs.length})`);
        ok++;
      } catch (err) {
        if (!(err instanceof IncidentActionError)) throw err;
        failed++;
      }
    }
    await audit(ctx, actorOf(user), 'console-bulk-release', `${ok} released, ${failed} not: ${refs.join(', ')}`);
    return c.redirect(`/queue?released=${ok}&failed=${failed}`, 303);
  });

  // ---- one incident -------------------------------------------------------------------------
  // An incident of another school is "not found" (404, not 403): its reference tells nothing.
  const loadIncident = async (c: Context<Env>, user: SessionUser) => {
    const ref = c.req.param('ref') ?? '';
    if (!REFERENCE.test(ref)) return undefined;
    const inc = await findIncident(ctx.store.db, ref);
    return inc && mayView(user, inc.tenant) ? inc : undefined;
  };

  const attachmentCache = new Map<string, Promise<AttachmentFacts[] | null>>();
  const attachmentFacts = (sha: string, raw: Buffer): Promise<AttachmentFacts[] | null> => {
    let p = attachmentCache.get(sha);
    if (!p) {
      p = (ctx.deps.attachmentFacts ?? defaultAttachmentFacts)(raw).catch((err: Error) => {
        ctx.logger?.warn({ event: 'console-attachments-unread', err: err.message }, 'attachment facts unavailable');
        return null;
      });
      attachmentCache.set(sha, p);
      while (attachmentCache.size > 8) attachmentCache.delete(attachmentCache.keys().next().value!);
    }
    return p;
  };

  app.get('/incidents/:ref', async (c) => {
    const user = gate(c, 'record');
    if (user instanceof Response) return user;
    const inc = await loadIncident(c, user);
    if (!inc) return notFound(c);
    if (inc.reference !== c.req.param('ref')) return c.redirect(`/incidents/${inc.reference}`, 301);
    const q = c.req.query();
    const content = can(user.role, 'content');
    const show = { headers: content && q.show === 'headers', links: content && q.links === '1', pictures: content && q.pictures === '1' };
    const held = await heldMessage(ctx.store.db, inc.reference);
    const raw = content && held?.raw && !held.purgedAt ? held.raw : null;
    const message = raw ? await displayMessage(raw) : null;
    const attachments = raw && held ? await attachmentFacts(held.sha256, raw) : null;
    // Recorded before the page is shown: a view that cannot be recorded is not shown.
    await record(ctx, inc.reference, user, content ? 'viewed' : 'viewed-record', null);
    if (show.headers) await record(ctx, inc.reference, user, 'viewed-headers');
    if (show.links) await record(ctx, inc.reference, user, 'viewed-links');
    if (show.pictures) await record(ctx, inc.reference, user, 'viewed-pictures');
    const history = await incidentHistory(ctx.store.db, inc.reference);
    const done = q.done && NOTICES[q.done] ? html`<div class="notice" role="status"><p>${NOTICES[q.done]}</p></div>` : '';
    return send(c, 200, incidentPage(ctx, user, { incident: inc, held, history, message, attachments, show, notice: done }));
  });

  // The HTML body, sanitised, for <iframe sandbox> only: its own CSP (which also sandboxes it when
  // opened directly), framable by this origin only.
  app.get('/incidents/:ref/body.html', async (c) => {
    const user = gate(c, 'content');
    if (user instanceof Response) return user;
    const inc = await loadIncident(c, user);
    if (!inc) return notFound(c);
    const held = await heldMessage(ctx.store.db, inc.reference);
    if (!held?.raw || held.purgedAt) return notFound(c);
    const m = await displayMessage(held.raw);
    const view = sanitiseForViewer(m.html ?? '', { showPictures: c.req.query('pictures') === '1', attachments: m.attachments });
    return c.body(view.html, 200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': VIEWER_CSP,
      'x-frame-options': 'SAMEORIGIN',
    });
  });

  app.get('/incidents/:ref/original.eml', async (c) => {
    const user = gate(c, 'raw');
    if (user instanceof Response) return user;
    const inc = await loadIncident(c, user);
    if (!inc) return notFound(c);
    const held = await heldMessage(ctx.store.db, inc.reference);
    if (!held?.raw || held.purgedAt) return notFound(c);
    await record(ctx, inc.reference, user, 'downloaded-original', `${held.size} bytes, sha256 ${held.sha256.slice(0, 16)}…`);
    return c.body(new Uint8Array(held.raw), 200, {
      // application/octet-stream: the browser saves it and never renders it.
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${inc.reference}.eml"`,
    });
  });

  const decide = (action: string, run: (c: Context<Env>, user: SessionUser, ref: string, b: Record<string, unknown>) => Promise<string | Response>) =>
    app.post(`/incidents/:ref/${action}`, async (c) => {
      const user = gate(c, 'decide');
      if (user instanceof Response) return user;
      const inc = await loadIncident(c, user);
      if (!inc) return notFound(c);
      if (!canDecide(user.role, inc, minSeverityFor(ctx, inc.tenant))) return forbidden(c, 'The business manager decides on this incident.');
      const b = await form(c);
      try {
        const done = await run(c, user, inc.reference, b);
        if (done instanceof Response) return done;
        return c.redirect(`/incidents/${inc.reference}?done=${done}`, 303);
      } catch (err) {
        if (!(err instanceof IncidentActionError)) throw err;
        return send(c, 409, errorPage(user, serviceName, 'That could not be done', html`${err.message}. <a href="/incidents/${inc.reference}">Back to ${inc.reference}</a>`));
      }
    });

  const needReason = (c: Context<Env>, user: SessionUser, ref: string, what: string) =>
    send(c, 400, errorPage(user, serviceName, 'A reason is needed', html`Please say ${what}. <a href="/incidents/${ref}">Back to ${ref}</a>`));

  decide('release', async (c, user, ref, b) => {
    const reason = field(b, 'reason');
    if (reason.length < 3) return needReason(c, user, ref, 'why the message is safe to send');
    await releaseIncident(ctx.hold, ref, actorOf(user), reason.slice(0, 2000));
    return 'released';
  });
  decide('reject', async (c, user, ref, b) => {
    const reason = field(b, 'reason');
    if (reason.length < 3) return needReason(c, user, ref, 'why it is rejected');
    await rejectIncident(ctx.hold, ref, actorOf(user), reason.slice(0, 2000));
    return 'rejected';
  });
  decide('breach', async (c, user, ref, b) => {
    const what = field(b, 'what_data');
    const howMany = field(b, 'how_many');
    const recovered = field(b, 'recovered');
    const told = field(b, 'who_told');
    if (!what || !howMany || !recovered || !told) return needReason(c, user, ref, 'what data was involved, how many people, whether it was recovered and who has been told');
    const assessment = `Risk assessment. Data involved: ${what.slice(0, 2000)}. People affected: ${howMany.slice(0, 50)}. Recovered or contained: ${recovered.slice(0, 50)}. Told: ${told.slice(0, 2000)}.`;
    const escalate = field(b, 'escalate') === '1';
    await updateIncident(ctx.hold, ref, actorOf(user), assessment, escalate ? { escalate: true } : { potentialBreach: true });
    return escalate ? 'escalated' : 'breach';
  });
  decide('ico-reported', async (c, user, ref, b) => {
    const icoRef = field(b, 'ico_reference').slice(0, 100);
    const note = field(b, 'reason').slice(0, 2000);
    await updateIncident(ctx.hold, ref, actorOf(user), [icoRef ? `ICO reference ${icoRef}` : 'reported to the ICO', note].filter(Boolean).join('. '), { status: 'reported-to-ico' });
    return 'ico';
  });
  decide('close', async (c, user, ref, b) => {
    const reason = field(b, 'reason');
    if (reason.length < 3) return needReason(c, user, ref, 'why no breach happened');
    await updateIncident(ctx.hold, ref, actorOf(user), reason.slice(0, 2000), { status: 'closed-no-breach' });
    return 'closed';
  });

  // ---- register, report, health -------------------------------------------------------------
  app.get('/register', async (c) => {
    const user = gate(c, 'register');
    if (user instanceof Response) return user;
    const f = registerFilters(c.req.query(), { schools: ctx.schools, user });
    const rows = await registerRows(ctx, user, f);
    await audit(ctx, actorOf(user), 'console-viewed-register', `${rows.length} incidents (${describeFilters(f, user.tenant)})`);
    return send(c, 200, registerPage(ctx, user, f, rows, ''));
  });

  app.get('/register.csv', async (c) => {
    const user = gate(c, 'register');
    if (user instanceof Response) return user;
    const f = registerFilters(c.req.query(), { schools: ctx.schools, user });
    const rows = await registerRows(ctx, user, f);
    await audit(ctx, actorOf(user), 'console-register-exported', `${rows.length} incidents (${describeFilters(f, user.tenant)})`);
    const day = ctx.now().toISOString().slice(0, 10);
    const school = user.tenant ?? (f.school || null);
    return c.body(registerCsv(rows, { timeZone: settings.timeZone, schoolName: ctx.schools.nameOf }), 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="hallmonitor-incident-register-${school ? `${school}-` : ''}${day}.csv"`,
    });
  });

  app.get('/report', async (c) => {
    const user = gate(c, 'register');
    if (user instanceof Response) return user;
    const w = Number(c.req.query('weeks'));
    const weeks = REPORT_PERIODS.includes(w) ? w : 12;
    return send(c, 200, reportPage(ctx, user, await buildReport(ctx, weeks, user, c.req.query('school'))));
  });

  app.get('/system', async (c) => {
    const user = gate(c, 'health');
    if (user instanceof Response) return user;
    const here = ctx.heartbeat ? await ctx.heartbeat().catch(() => null) : null;
    return send(c, 200, systemPage(ctx, user, await systemFacts(ctx, user, ctx.deps.instanceName ?? '', here)));
  });

  return app;
}

/** The register's filters in words, for the audit log. */
function describeFilters(f: { status: string; from: string; to: string; school: string }, tenant: string | null): string {
  const school = tenant ?? f.school;
  return `${school ? `school ${school}, ` : ''}status ${f.status}${f.from ? `, from ${f.from}` : ''}${f.to ? `, to ${f.to}` : ''}`;
}

/** The incident references a rendered queue page links to (our own markup), for the audit log. */
function listedReferences(page: string): string {
  const refs = new Set<string>();
  let at = 0;
  for (;;) {
    at = page.indexOf('href="/incidents/', at);
    if (at < 0) break;
    const start = at + 'href="/incidents/'.length;
    const end = page.indexOf('"', start);
    refs.add(page.slice(start, end));
    at = end;
  }
  return refs.size ? `listed ${[...refs].join(', ')}` : 'nothing listed';
}

/** The inspection stage's view of the attachments: real type, encryption, archive entries. */
async function defaultAttachmentFacts(raw: Buffer): Promise<AttachmentFacts[] | null> {
  const { inspect } = await import('../../inspect/index.ts');
  const inspection = await inspect(raw, { timeoutMs: 30_000 });
  const map = (list: typeof inspection.attachments): AttachmentFacts[] => list.map((a) => ({
    where: a.where, filename: a.filename, size: a.size, declaredType: a.declaredType, realType: a.realType, format: a.format,
    encryption: a.encryption, encryptionDetail: a.encryptionDetail, entries: a.entries ? map(a.entries) : undefined,
  }));
  return map(inspection.attachments);
}
