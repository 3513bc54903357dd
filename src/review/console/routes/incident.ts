// One incident: its page (recorded before it is shown), the sanitised body in a sandboxed frame,
// the original .eml, and the decisions (release, reject, potential breach, reported to the ICO,
// closed), each with its reason, for the roles that may take them.
import { Hono, type Context } from 'hono';
import type { SessionUser } from '../auth.ts';
import { IncidentActionError, releaseIncident, rejectIncident, updateIncident } from '../../actions.ts';
import { findIncident, heldMessage, incidentHistory } from '../../../store/incidents.ts';
import { actorOf, minSeverityFor, record, type AttachmentFacts } from '../context.ts';
import { html } from '../html.ts';
import { errorPage } from '../layout.ts';
import { displayMessage } from '../mail.ts';
import { incidentPage } from '../pages/incident.ts';
import { can, canDecide } from '../roles.ts';
import { mayView } from '../schools.ts';
import { sanitiseForViewer, VIEWER_CSP } from '../viewer.ts';
import { REFERENCE, userOf, type Env, type RouteKit } from './kit.ts';
import { spendDecisionLink } from './links.ts';
import { TOKEN_SHAPE } from '../../../act/notify/links.ts';

const NOTICES: Record<string, string> = {
  released: 'Released. The message is on its way to its recipients; the release is recorded below.',
  rejected: 'Rejected. The sender will get an email saying it was not sent, with how to send it safely.',
  breach: 'Marked as a potential breach. The ICO clock is running: see the deadline below.',
  escalated: 'Escalated as a potential breach. The ICO clock runs for 72 hours from now.',
  ico: 'Recorded: reported to the ICO. The clock has stopped.',
  closed: 'Closed – no breach.',
};

export function incidentRoutes(k: RouteKit): Hono<Env> {
  const { ctx, send, forbidden, notFound, form, field, requires, serviceName } = k;
  const app = new Hono<Env>();

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

  app.get('/incidents/:ref', requires('record'), async (c) => {
    const user = userOf(c);
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
    const decide = q.decide === 'release' || q.decide === 'reject' ? q.decide : undefined;
    // From an email's signed link (routes/links.ts checked it): carried by the form, spent when confirmed.
    const link = decide && q.link && TOKEN_SHAPE.test(q.link) ? q.link : undefined;
    return send(c, 200, incidentPage(ctx, user, { incident: inc, held, history, message, attachments, show, notice: done, decide, link }));
  });

  // The HTML body, sanitised, for <iframe sandbox> only: its own CSP (which also sandboxes it when
  // opened directly), framable by this origin only.
  app.get('/incidents/:ref/body.html', requires('content'), async (c) => {
    const user = userOf(c);
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

  app.get('/incidents/:ref/original.eml', requires('raw'), async (c) => {
    const user = userOf(c);
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
    app.post(`/incidents/:ref/${action}`, requires('decide'), async (c) => {
      const user = userOf(c);
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

  // Release and reject: a reason, and when the decision was confirmed from an email's link, the
  // link spent (it works once; a bad link stops the decision).
  const decideWithReason = (action: 'release' | 'reject', why: string, act: typeof releaseIncident | typeof rejectIncident, done: string) =>
    decide(action, async (c, user, ref, b) => {
      const reason = field(b, 'reason');
      if (reason.length < 3) return needReason(c, user, ref, why);
      const token = field(b, 'link');
      const problem = token ? await spendDecisionLink(k, user, token, ref, action) : null;
      if (problem) return send(c, problem.status, errorPage(user, serviceName, problem.title, html`${problem.message} <a href="/incidents/${ref}">Open ${ref}</a>`));
      await act(ctx.hold, ref, actorOf(user), reason.slice(0, 2000));
      return done;
    });
  decideWithReason('release', 'why the message is safe to send', releaseIncident, 'released');
  decideWithReason('reject', 'why it is rejected', rejectIncident, 'rejected');
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

  return app;
}

/** The inspection stage's view of the attachments: real type, encryption, archive entries. */
async function defaultAttachmentFacts(raw: Buffer): Promise<AttachmentFacts[] | null> {
  const { inspect } = await import('../../../inspect/index.ts');
  const inspection = await inspect(raw, { timeoutMs: 30_000 });
  const map = (list: typeof inspection.attachments): AttachmentFacts[] => list.map((a) => ({
    where: a.where, filename: a.filename, size: a.size, declaredType: a.declaredType, realType: a.realType, format: a.format,
    encryption: a.encryption, encryptionDetail: a.encryptionDetail, entries: a.entries ? map(a.entries) : undefined,
  }));
  return map(inspection.attachments);
}
