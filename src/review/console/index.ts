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
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import type { Config } from '../../config/index.ts';
import type { HoldContext } from '../../act/hold.ts';
import { notifySettings } from '../../act/notify/settings.ts';
import type { Store } from '../../store/index.ts';
import { loadSession, sameToken, sessionCookieName, signInCookieName } from './auth.ts';
import type { ConsoleContext, ConsoleDeps, GatewayStatus } from './context.ts';
import { errorPage } from './layout.ts';
import { consoleDb } from './migrations.ts';
import { homeFor } from './roles.ts';
import { consoleSchools, scopeName } from './schools.ts';
import { incidentRoutes } from './routes/incident.ts';
import { linkRoutes } from './routes/links.ts';
import { routeKit, type Env } from './routes/kit.ts';
import { queueRoutes } from './routes/queue.ts';
import { registerRoutes } from './routes/register.ts';
import { signInRoutes } from './routes/signin.ts';
import { consoleSettings, type ConsoleSettings } from './settings.ts';
import { CONSOLE_CSS } from './style.ts';

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


export async function startConsole(config: Config, store: Store, deps: ConsoleDeps = {}): Promise<ConsoleServer> {
  const settings = consoleSettings(config);
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

/**
 * The console's security headers (hono/secure-headers): a strict CSP, no framing, no sniffing, no
 * referrer, isolated browsing context; HSTS when the console itself ends TLS. A route that sets
 * its own (the sandboxed message viewer) keeps it.
 */
function securityHeaders(settings: ConsoleSettings) {
  return secureHeaders({
    overwrite: false,
    contentSecurityPolicy: {
      defaultSrc: ["'none'"], styleSrc: ["'self'"], imgSrc: ["'self'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"], frameSrc: ["'self'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    crossOriginOpenerPolicy: 'same-origin',
    crossOriginResourcePolicy: 'same-origin',
    crossOriginEmbedderPolicy: false,
    permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [], usb: [] },
    strictTransportSecurity: settings.tls ? 'max-age=31536000' : false,
  });
}

export function createConsoleApp(ctx: ConsoleContext): Hono<Env> {
  const { settings, db } = ctx;
  const k = routeKit(ctx);
  const { forbidden, notFound, serviceName } = k;
  const app = new Hono<Env>();
  const cookieName = sessionCookieName(settings);
  const signinCookie = signInCookieName(settings);

  app.use('*', securityHeaders(settings));
  app.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
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
    // The sender's "send it anyway" page (no account): its own one-time form value, checked there.
    if (c.req.path.startsWith('/send-anyway/')) return next();
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

  app.get('/static/console.css', (c) => c.body(CONSOLE_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'private, max-age=300' }));
  app.get('/static/favicon.svg', (c) => c.body(FAVICON, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'private, max-age=86400' }));
  app.get('/favicon.ico', (c) => c.redirect('/static/favicon.svg', 301));
  app.get('/', (c) => {
    const user = c.get('user');
    return c.redirect(user ? homeFor(user.role) : '/sign-in', 303);
  });

  // The pages, by job (routes/): each route names the permission it requires.
  app.route('/', signInRoutes(k));
  app.route('/', queueRoutes(k));
  app.route('/', incidentRoutes(k));
  app.route('/', registerRoutes(k));
  app.route('/', linkRoutes(k));
  return app;
}
