// The links in notification emails (src/act/notify/links.ts), as the console answers them.
//
// - `/confirm/<token>`: the business manager's "release" or "reject". It needs her to be signed
//   in, as the account the email was sent to; it opens the incident with that decision ready to
//   confirm. Opening it changes nothing; the confirmation is the console's own form (session,
//   CSRF), which also spends the link, so that it works once.
// - `/send-anyway/<token>`: the sender's own remedy, for rules the school lets the sender judge
//   (sender_may_override). No account: the signed link is the sender's proof. The page shows only
//   that message's summary; the sender cancels it, or sends it unchanged with a written reason,
//   recorded in the incident and shown in the governors' report. Forms carry a one-time value
//   matching a cookie; requests are rate-limited per address.
import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { SessionUser } from '../auth.ts';
import { sameToken } from '../auth.ts';
import { checkLink, linkUseId, TOKEN_SHAPE, type LinkClaims, type LinkPurpose } from '../../../act/notify/links.ts';
import { safeFindings } from '../../../act/notify/compose.ts';
import { formatLocal } from '../../../act/notify/settings.ts';
import { schoolNotify } from '../../../act/hold.ts';
import { ruleDefinition } from '../../../decide/rules.ts';
import { findIncident, type Incident } from '../../../store/incidents.ts';
import { linkKey, linkUse, useLink } from '../../../store/links.ts';
import { IncidentActionError, rejectIncident, releaseIncident } from '../../actions.ts';
import { audit } from '../context.ts';
import { html, type Html } from '../html.ts';
import { errorPage, page } from '../layout.ts';
import { mayView } from '../schools.ts';
import { redactAddresses } from '../../../act/deliver.ts';
import { RecentEvents } from '../../../recent-events.ts';
import { type Env, type RouteKit } from './kit.ts';

/** What went wrong with a link, in words for the person holding it. */
export type LinkProblem = { status: 403 | 404 | 409 | 410; title: string; message: Html | string };

/** The shared checks: signature, expiry, used before. Account and incident checks are the caller's. */
async function readLink(k: RouteKit, token: string, purposes: LinkPurpose[]): Promise<{ claims: LinkClaims } | { problem: LinkProblem }> {
  const { ctx } = k;
  const key = await linkKey(ctx.store.db);
  const checked = checkLink(key, token, ctx.now());
  if (!checked.ok && checked.why === 'forged') return { problem: { status: 404, title: 'This link is not valid', message: 'The link is incomplete or has been changed. Use the link exactly as it was in the email.' } };
  if (!checked.ok) {
    return { problem: { status: 410, title: 'This link has expired', message: `It worked until ${formatLocal(checked.claims!.expiresAt, ctx.settings.timeZone)}. The email is still in the console, where the business manager can decide on it.` } };
  }
  if (!purposes.includes(checked.claims.purpose)) return { problem: { status: 404, title: 'This link is not valid', message: 'The link is incomplete or has been changed. Use the link exactly as it was in the email.' } };
  const used = await linkUse(ctx.store.db, linkUseId(checked.claims));
  if (used) return { problem: { status: 409, title: 'This link has already been used', message: `It was used on ${formatLocal(used.usedAt, ctx.settings.timeZone)}. Each link in an email works once.` } };
  return { claims: checked.claims };
}

/** Whether a signed-in account is the one the email was sent to: its email address, or a sign-in name that is that address. */
function isAddressee(user: SessionUser, claims: LinkClaims): boolean {
  return claims.to === (user.email ?? '').toLowerCase() || claims.to === user.username.toLowerCase();
}

/**
 * Spends a business manager's link as her decision is confirmed (the incident routes' release and
 * reject forms carry it): checked again in full, then recorded as used. Returns a problem to show,
 * or null when the decision may go ahead.
 */
export async function spendDecisionLink(k: RouteKit, user: SessionUser, token: string, reference: string, action: 'release' | 'reject'): Promise<LinkProblem | null> {
  const read = await readLink(k, token, [action]);
  if ('problem' in read) return read.problem;
  const { claims } = read;
  if (claims.reference !== reference) return { status: 404, title: 'This link is not valid', message: 'The link is for another email.' };
  if (!isAddressee(user, claims)) return wrongAccount(claims);
  if (!(await useLink(k.ctx.store.db, linkUseId(claims), reference, action, user.username, k.ctx.now()))) {
    return { status: 409, title: 'This link has already been used', message: 'Each link in an email works once.' };
  }
  return null;
}

function wrongAccount(claims: LinkClaims): LinkProblem {
  return {
    status: 403,
    title: 'This link is for someone else',
    message: `It was emailed to ${redactAddresses(claims.to)} and works only for that person's account. Sign out and sign in as them, or open the email from the held-mail list.`,
  };
}

export function linkRoutes(k: RouteKit): Hono<Env> {
  const { ctx, send, form, field, serviceName, requires } = k;
  const app = new Hono<Env>();
  const problemPage = (c: Context<Env>, p: LinkProblem) => send(c, p.status, errorPage(c.get('user') ?? null, serviceName, p.title, p.message));

  // ---- the business manager's links -------------------------------------------------------
  app.get('/confirm/:token', requires('decide'), async (c) => {
    const user = c.get('user')!;
    const token = c.req.param('token');
    const read = await readLink(k, token, ['release', 'reject']);
    if ('problem' in read) return problemPage(c, read.problem);
    const { claims } = read;
    const inc = await findIncident(ctx.store.db, claims.reference);
    if (!inc || !mayView(user, inc.tenant)) return k.notFound(c);
    if (!isAddressee(user, claims)) {
      await audit(ctx, user.username, 'email-link-refused', `${claims.purpose} link for ${inc.reference} opened by another account`);
      return problemPage(c, wrongAccount(claims));
    }
    // The incident's own page, that decision first, with the link in its form (nothing done yet).
    return c.redirect(`/incidents/${inc.reference}?decide=${claims.purpose}&link=${token}#decide`, 303);
  });

  // ---- the sender's "send it anyway" ------------------------------------------------------
  const recent = new RecentEvents(10 * 60_000, () => ctx.now().getTime());
  const limited = (ip: string) => recent.count(ip) <= 30;
  // __Secure-, not __Host-: the cookie is for the sender's page only (Path=/send-anyway), and a
  // __Host- cookie must have Path=/ (browsers drop it, and Hono refuses to set it).
  const formCookie = ctx.settings.secureCookies ? '__Secure-hm_sender' : 'hm_sender';

  /** The link, its open incident and the school's say-so that the sender may decide. */
  const senderCase = async (token: string): Promise<{ claims: LinkClaims; inc: Incident } | { problem: LinkProblem }> => {
    const read = await readLink(k, token, ['override']);
    if ('problem' in read) return read;
    const { claims } = read;
    const inc = await findIncident(ctx.store.db, claims.reference);
    if (!inc || inc.sender.toLowerCase() !== claims.to) return { problem: { status: 404, title: 'This link is not valid', message: 'The email it was for is no longer held.' } };
    if (inc.status !== 'open') {
      return { problem: { status: 409, title: 'This email has already been dealt with', message: inc.status === 'released' ? 'It has been sent.' : 'The business manager has decided on it; their email to you says what happens next.' } };
    }
    if (inc.potentialBreach || !schoolNotify(ctx.hold, inc.tenant).senderMayOverride(inc.rules)) {
      return { problem: { status: 403, title: 'The business manager needs to look at this one', message: 'What was found in this email is something only the business manager can decide on. They will let you know.' } };
    }
    return { claims, inc };
  };

  const senderPage = (c: Context<Env>, status: number, token: string, inc: Incident, claims: LinkClaims, error?: string) => {
    const formValue = randomBytes(24).toString('base64url');
    setCookie(c, formCookie, formValue, { path: '/send-anyway', httpOnly: true, secure: ctx.settings.secureCookies, sameSite: 'Strict', maxAge: 3600 });
    const s = schoolNotify(ctx.hold, inc.tenant);
    const findings = safeFindings(inc.findings, () => true);
    const rules = inc.rules.map((r) => ruleDefinition(r)?.title ?? r);
    const body = html`<h1>Your email ${inc.reference}</h1>
${error ? html`<div class="notice error" role="alert"><p>${error}</p></div>` : ''}
<p>Sent on ${formatLocal(inc.detectedAt, s.timeZone)} to ${inc.recipients.length === 1 ? redactAddresses(inc.recipients[0]) : `${inc.recipients.length} recipients`}. It has <strong>not</strong> been sent yet.</p>
<h2>Why it was stopped</h2>
<ul>${rules.map((r) => html`<li>${r}</li>`)}</ul>
<ul>${findings.map((f) => html`<li>${f.reason}</li>`)}</ul>
<p>If what was found is not really about a pupil (a name that is also an ordinary word, say), you can send the email exactly as it is. Your reason is recorded with the email and seen by the business manager and in the report to governors.</p>
<form method="post" action="/send-anyway/${token}" class="good" aria-labelledby="send-h">
<input type="hidden" name="_form" value="${formValue}">
<h3 id="send-h">Send it anyway</h3>
<label for="justification">Why is it all right to send? <span class="hint">(at least a few words; recorded)</span></label>
<textarea id="justification" name="justification" required minlength="10" maxlength="1000"></textarea>
<p><button class="btn" type="submit" name="choice" value="send">Send my email as it is</button></p>
</form>
<form method="post" action="/send-anyway/${token}" aria-labelledby="cancel-h">
<input type="hidden" name="_form" value="${formValue}">
<h3 id="cancel-h">Do not send it</h3>
<p>You will fix it and send a new email instead.</p>
<p><button class="btn secondary" type="submit" name="choice" value="cancel">Cancel this email</button></p>
</form>
<p class="muted">This page works once, until ${formatLocal(claims.expiresAt, s.timeZone)}.</p>`;
    return send(c, status, page({ title: `Your email ${inc.reference}`, user: null, schoolName: s.schoolName, body }));
  };

  app.get('/send-anyway/:token', async (c) => {
    if (!limited(c.get('ip'))) return send(c, 429, errorPage(null, serviceName, 'Too many requests', 'Please wait a few minutes and try again.'));
    const token = c.req.param('token');
    const found = await senderCase(token);
    if ('problem' in found) return problemPage(c, found.problem);
    return senderPage(c, 200, token, found.inc, found.claims);
  });

  app.post('/send-anyway/:token', async (c) => {
    if (!limited(c.get('ip'))) return send(c, 429, errorPage(null, serviceName, 'Too many requests', 'Please wait a few minutes and try again.'));
    const token = c.req.param('token');
    const b = await form(c);
    if (!sameToken(getCookie(c, formCookie), field(b, '_form'))) {
      return send(c, 403, errorPage(null, serviceName, 'Not allowed', 'The form had expired or did not come from this page. Open the link in the email again.'));
    }
    const found = await senderCase(token);
    if ('problem' in found) return problemPage(c, found.problem);
    const { claims, inc } = found;
    const choice = field(b, 'choice');
    const justification = field(b, 'justification').slice(0, 1000);
    if (choice === 'send' && justification.length < 10) return senderPage(c, 400, token, inc, claims, 'Please say in a few words why it is all right to send.');
    if (choice !== 'send' && choice !== 'cancel') return senderPage(c, 400, token, inc, claims, 'Choose whether to send the email or cancel it.');
    const actor = `${claims.to} (the sender, from the link in their notice)`;
    if (!(await useLink(ctx.store.db, linkUseId(claims), inc.reference, 'override', actor, ctx.now()))) {
      return problemPage(c, { status: 409, title: 'This link has already been used', message: 'Each link in an email works once.' });
    }
    try {
      if (choice === 'cancel') {
        await rejectIncident(ctx.hold, inc.reference, actor, 'cancelled by the sender', { tellSender: false });
        ctx.logger?.info({ event: 'sender-cancelled', reference: inc.reference }, 'sender cancelled a held message');
        return send(c, 200, page({ title: 'Cancelled', user: null, schoolName: serviceName, body: html`<h1>Cancelled</h1><div class="notice" role="status"><p>Your email ${inc.reference} will not be sent. Send a new, corrected email when you are ready.</p></div>` }));
      }
      // The reason is personal writing that other people read (business manager, governors): kept redacted.
      const reason = ctx.hold.redactNote?.(justification, inc.tenant) ?? '[the reason could not be recorded safely]';
      await releaseIncident(ctx.hold, inc.reference, actor, `sent anyway by the sender: ${reason}`, { override: reason });
      ctx.logger?.info({ event: 'sender-override', reference: inc.reference }, 'sender sent a held message anyway');
      return send(c, 200, page({ title: 'Sent', user: null, schoolName: serviceName, body: html`<h1>Sent</h1><div class="notice" role="status"><p>Your email ${inc.reference} is on its way to its recipients, exactly as you wrote it. Your reason has been recorded.</p></div>` }));
    } catch (err) {
      if (!(err instanceof IncidentActionError)) throw err;
      return problemPage(c, { status: 409, title: 'That could not be done', message: 'This email has already been dealt with.' });
    }
  });

  return app;
}

/** A token-shaped path segment (checked before any page takes it further). */
export function isLinkToken(s: string): boolean {
  return TOKEN_SHAPE.test(s);
}
