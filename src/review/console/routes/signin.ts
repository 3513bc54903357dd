// Signing in and out. A sign-in form carries a one-time token bound to its cookie; a wrong
// password or a locked account says so without saying which of the two was wrong.
import { Hono, type Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { endSession, newSignInToken, sessionCookieName, signIn, signInCookieName } from '../auth.ts';
import { actorOf, audit } from '../context.ts';
import { signInPage } from '../pages/signin.ts';
import { homeFor } from '../roles.ts';
import { TOKEN_SHAPE } from '../../../act/notify/links.ts';
import { REFERENCE, type Env, type RouteKit } from './kit.ts';

export function signInRoutes(k: RouteKit): Hono<Env> {
  const { ctx, send, form, field, serviceName } = k;
  const { settings, db } = ctx;
  const app = new Hono<Env>();
  const cookieName = sessionCookieName(settings);
  const signinCookie = signInCookieName(settings);
  const cookieOpts = { path: '/', httpOnly: true, secure: settings.secureCookies, sameSite: 'Strict' as const };

  // ---- sign-in and sign-out ---------------------------------------------------------------

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

  return app;
}

/** Pages a sign-in may return to (and one incident's page). */
const NEXT_PAGES = ['/queue', '/register', '/report', '/system'];

/**
 * Where to go after signing in: only one of the console's own pages, with a plain query string.
 * Anything else (another site, `//host`, `/\tevil.example` that browsers read as `//evil.example`,
 * a control character, a path of no page) is dropped, and the user lands on their home page.
 */
export function safeNext(n: string | undefined): string | undefined {
  if (!n || n.length > 500) return undefined;
  const q = n.indexOf('?');
  const path = q < 0 ? n : n.slice(0, q);
  const incident = path.startsWith('/incidents/') && REFERENCE.test(path.slice('/incidents/'.length));
  // A link from an email (src/review/console/routes/links.ts): its token, nothing else.
  const emailLink = path.startsWith('/confirm/') && TOKEN_SHAPE.test(path.slice('/confirm/'.length));
  if (!NEXT_PAGES.includes(path) && !incident && !emailLink) return undefined;
  for (const ch of q < 0 ? '' : n.slice(q + 1)) {
    const alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    if (!alnum && !'&=_.-%+,'.includes(ch)) return undefined;
  }
  return n;
}
