// The incident register (page and CSV), the governors' report, and the system health page.
import { Hono } from 'hono';
import { actorOf, audit } from '../context.ts';
import { registerFilters, registerPage, registerRows } from '../pages/register.ts';
import { buildReport, REPORT_PERIODS, reportPage } from '../pages/report.ts';
import { systemFacts, systemPage } from '../pages/system.ts';
import { registerCsv } from '../../register.ts';
import { userOf, type Env, type RouteKit } from './kit.ts';

export function registerRoutes(k: RouteKit): Hono<Env> {
  const { ctx, send, requires } = k;
  const { settings } = ctx;
  const app = new Hono<Env>();

  // ---- register, report, health -------------------------------------------------------------
  app.get('/register', requires('register'), async (c) => {
    const user = userOf(c);
    const f = registerFilters(c.req.query(), { schools: ctx.schools, user });
    const rows = await registerRows(ctx, user, f);
    await audit(ctx, actorOf(user), 'console-viewed-register', `${rows.length} incidents (${describeFilters(f, user.tenant)})`);
    return send(c, 200, registerPage(ctx, user, f, rows, ''));
  });

  app.get('/register.csv', requires('register'), async (c) => {
    const user = userOf(c);
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

  app.get('/report', requires('register'), async (c) => {
    const user = userOf(c);
    const w = Number(c.req.query('weeks'));
    const weeks = REPORT_PERIODS.includes(w) ? w : 12;
    return send(c, 200, reportPage(ctx, user, await buildReport(ctx, weeks, user, c.req.query('school'))));
  });

  app.get('/system', requires('health'), async (c) => {
    const user = userOf(c);
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
