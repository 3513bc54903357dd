// The queue of held mail, and releasing several messages at once.
import { Hono } from 'hono';
import { releaseIncident, IncidentActionError } from '../../actions.ts';
import { findIncident } from '../../../store/incidents.ts';
import { actorOf, audit, minSeverityFor } from '../context.ts';
import { html, type Html } from '../html.ts';
import { errorPage } from '../layout.ts';
import { queuePage } from '../pages/queue.ts';
import { canDecide } from '../roles.ts';
import { mayView } from '../schools.ts';
import { REFERENCE, userOf, type Env, type RouteKit } from './kit.ts';

export function queueRoutes(k: RouteKit): Hono<Env> {
  const { ctx, send, form, field, requires, serviceName } = k;
  const app = new Hono<Env>();

  // ---- held mail ----------------------------------------------------------------------------
  app.get('/queue', requires('queue'), async (c) => {
    const user = userOf(c);
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

  app.post('/queue/release', requires('bulk-release'), async (c) => {
    const user = userOf(c);
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

  return app;
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
