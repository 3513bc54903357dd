// What every route of the console shares: the context, the replies (a page, 403, 404), the form
// reader, and `requires(permission)`, the middleware that lets a request through only for a
// signed-in user whose role has the permission (otherwise: to the sign-in page, or 403).
import type { Context, MiddlewareHandler } from 'hono';
import type { SessionUser } from '../auth.ts';
import type { ConsoleContext } from '../context.ts';
import { errorPage } from '../layout.ts';
import { can, type Permission } from '../roles.ts';

export type Env = { Variables: { user: SessionUser | null; ip: string } };

export const REFERENCE = /^HM-\d{4}-\d{6,}$/i;

export interface RouteKit {
  ctx: ConsoleContext;
  /** The header's name when nobody is signed in: the trust's (or the one school's). */
  serviceName: string;
  send(c: Context<Env>, status: number, body: string): Response;
  forbidden(c: Context<Env>, why?: string): Response;
  notFound(c: Context<Env>): Response;
  form(c: Context<Env>): Promise<Record<string, string | string[] | File | File[]>>;
  field(b: Record<string, unknown>, k: string): string;
  /** Lets the request through for a signed-in user with this permission; `c.get('user')` is then set. */
  requires(perm: Permission): MiddlewareHandler<Env>;
}

export function routeKit(ctx: ConsoleContext): RouteKit {
  const serviceName = ctx.schools.name;
  const send = (c: Context<Env>, status: number, body: string) => c.html(body, status as 200);
  const forbidden = (c: Context<Env>, why = 'Your role does not allow this.') => send(c, 403, errorPage(c.get('user'), serviceName, 'Not allowed', why));
  return {
    ctx,
    serviceName,
    send,
    forbidden,
    notFound: (c) => send(c, 404, errorPage(c.get('user'), serviceName, 'Not found', 'There is nothing at this address. It may have been mistyped, or the incident may have been deleted at the end of its retention period.')),
    form: async (c) => (await c.req.parseBody({ all: true })) as Record<string, string | string[] | File | File[]>,
    field: (b, k) => (typeof b[k] === 'string' ? (b[k] as string).trim() : ''),
    requires: (perm) => async (c, next) => {
      const user = c.get('user');
      if (!user) {
        const next = c.req.path + (new URL(c.req.url).search || '');
        return c.redirect(`/sign-in?next=${encodeURIComponent(next)}`, 303);
      }
      if (!can(user.role, perm)) return forbidden(c);
      await next();
    },
  };
}

/** The signed-in user (set by `requires`). */
export function userOf(c: Context<Env>): SessionUser {
  return c.get('user')!;
}
