// Issue 18: acting from the email. The business manager's release and reject links (signed, for
// her account only, once, expiring; opening one changes nothing) and the sender's "send it anyway"
// link for rules the school lets the sender judge (no account; a written reason, recorded and shown
// to the governors), driven in Chromium the way each of them would, on SQLite and PostgreSQL.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { headerValue } from '../src/act/notify/plan.ts';
import { signLink } from '../src/act/notify/links.ts';
import { SENDER_OVERRIDE } from '../src/review/actions.ts';
import { consoleDb } from '../src/review/console/migrations.ts';
import { addUser } from '../src/review/users.ts';
import { findIncident, incidentHistory, listIncidents } from '../src/store/incidents.ts';
import { linkKey } from '../src/store/links.ts';
import type { Verdict } from '../src/types.ts';
import { launchBrowser, newContext, signIn } from './helpers/browser.ts';
import { startSink, splitTrace, type Sink } from './helpers/smtp.ts';
import {
  BACKENDS, blockVerdict, createStorage, OUTSIDER, PUPIL, quarantineVerdict, ROSTER_CSV, SCHOOL, schoolMessage, sendRaw, startHoldingGateway, TEACHER, waitFor,
  type Backend, type HoldingGateway, type TestStorage,
} from './quarantine-helpers.ts';

const BM = { username: 'sam.okafor', name: 'Sam Okafor', password: 'correct horse battery staple', email: SCHOOL.business_manager };
const OTHER = { username: 'pat.deputy', name: 'Pat Deputy', password: 'another long passphrase here' };

const inspector = async (m: { raw: Buffer }): Promise<Verdict> => {
  const v = headerValue(m.raw, 'x-test-verdict')?.trim();
  return v === 'hold' ? quarantineVerdict() : v === 'block' ? blockVerdict() : { action: 'deliver', rules: [], findings: [], severity: 0 };
};

/** A teacher's plain email to the coach company: only its subject line names a pupil. */
function plainMessage(subject: string): Buffer {
  return Buffer.from([
    `From: Jane Hargreaves <${TEACHER}>`, `To: ${OUTSIDER}`, `Subject: ${subject}`, 'Date: Tue, 24 Nov 2026 16:02:11 +0000',
    `Message-ID: <${Date.now()}.${Math.random().toString(36).slice(2)}@oakfield.sch.uk>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '',
    'Hello, could you confirm the pick-up times for Thursday? Thanks, Jane', '',
  ].join('\r\n'));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.each(BACKENDS)('links in notification emails on %s', (backend: Backend) => {
  // Two gateways: one whose test inspector holds what each message's header says (the business
  // manager's links), and one with the real policy and roster, whose detectors also redact what a
  // sender writes (the sender's links).
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  let base: string;
  let realSink: Sink;
  let realStorage: TestStorage;
  let real: HoldingGateway;
  let realBase: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const stub = () => ({ gw, sink, base });
  const policy = () => ({ gw: real, sink: realSink, base: realBase });
  type Side = ReturnType<typeof stub>;

  async function hold(raw: Buffer, side: Side = stub()): Promise<string> {
    const db = side.gw.gateway.store.db;
    const before = new Set((await listIncidents(db)).map((i) => i.reference));
    expect((await sendRaw(side.gw.port, TEACHER, [OUTSIDER], raw)).code).toBe(250);
    const inc = (await listIncidents(db)).find((i) => !before.has(i.reference));
    expect(inc).toBeDefined();
    return inc!.reference;
  }

  /** The plain-text part of the notice about `reference` sent to `to`. */
  async function noticeText(to: string, reference: string, side: Side = stub()): Promise<string> {
    const m = await waitFor(`the notice to ${to} about ${reference}`, () => side.sink.messages.find((x) => x.rcptTo.includes(to) && x.data.includes(`X-Hallmonitor-Reference: ${reference}`)));
    return (await simpleParser(m.data)).text ?? '';
  }

  const linkIn = (text: string, kind: 'confirm' | 'send-anyway', n = 0, side: Side = stub()): string => {
    const all = [...text.matchAll(new RegExp(`${side.base.replace(/[.:/]/g, '\\$&')}/${kind}/[A-Za-z0-9_.-]+`, 'g'))].map((m) => m[0]);
    expect(all.length).toBeGreaterThan(n);
    return all[n];
  };

  async function browse(): Promise<Page> {
    const context = await newContext(browser, { javaScript: false });
    contexts.push(context);
    return context.newPage();
  }

  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage(backend);
    const roster = path.join(storage.dataDir, 'roster.csv');
    writeFileSync(roster, ROSTER_CSV);
    const port = await freePort();
    gw = await startHoldingGateway({ storage, sink, inspector, console: { listen: `127.0.0.1:${port}` }, school: { roster } });
    base = gw.gateway.console!.url;
    expect(base).toBe(`http://127.0.0.1:${port}`);
    const db = await consoleDb(gw.gateway.store);
    await addUser(db, { username: BM.username, displayName: BM.name, role: 'business-manager', password: BM.password, email: BM.email });
    await addUser(db, { username: OTHER.username, displayName: OTHER.name, role: 'business-manager', password: OTHER.password });
    realSink = await startSink();
    realStorage = await createStorage(backend);
    const realRoster = path.join(realStorage.dataDir, 'roster.csv');
    writeFileSync(realRoster, ROSTER_CSV);
    const realPort = await freePort();
    real = await startHoldingGateway({ storage: realStorage, sink: realSink, console: { listen: `127.0.0.1:${realPort}` }, school: { roster: realRoster } });
    realBase = real.gateway.console!.url;
    await addUser(await consoleDb(real.gateway.store), { username: BM.username, displayName: BM.name, role: 'business-manager', password: BM.password, email: BM.email });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
    await real?.stop();
    await realSink?.close();
    await realStorage?.cleanup();
  });

  it("the business manager's release link: sign in, confirm once, and it never works again", async () => {
    const raw = schoolMessage({ extraHeaders: 'X-Test-Verdict: hold' });
    const reference = await hold(raw);
    const text = await noticeText(BM.email, reference);
    const release = linkIn(text, 'confirm', 0);
    const reject = linkIn(text, 'confirm', 1);
    expect(text).toContain(`Safe to send? Release it: ${release}`);
    expect(release).not.toBe(reject);

    const page = await browse();
    // Not signed in: the sign-in page first, then straight back to the link.
    await page.goto(release);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    await page.getByLabel('User name').fill(BM.username);
    await page.getByLabel('Password').fill(BM.password);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(new URL(page.url()).pathname).toBe(`/incidents/${reference}`);
    expect(await page.locator('#decide ~ .notice').first().textContent()).toContain('Nothing has been done yet');
    // Opening the link changed nothing.
    expect((await findIncident(gw.gateway.store.db, reference))?.status).toBe('open');
    expect(await gw.gateway.store.db.selectFrom('link_uses').select('id').where('reference', '=', reference).execute()).toHaveLength(0);

    await page.getByLabel('Why is it safe?').fill('The coach company organises the trip and needs the list.');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Release the message' }).click()]);
    expect(await page.locator('[role=status]').first().textContent()).toContain('Released');
    const delivered = await waitFor('the released message', () => sink.messages.find((m) => m.rcptTo.includes(OUTSIDER)));
    expect(splitTrace(delivered.data).rest.equals(raw)).toBe(true);
    expect(await gw.gateway.store.db.selectFrom('link_uses').select(['purpose', 'used_by']).where('reference', '=', reference).execute())
      .toEqual([{ purpose: 'release', used_by: BM.username }]);

    // Used: the same link again says so, and offers nothing.
    const again = await page.goto(release);
    expect(again?.status()).toBe(409);
    expect(await page.locator('h1').textContent()).toBe('This link has already been used');
  });

  it('a link works only for the account it was sent to, only as signed, and only until it expires', async () => {
    const reference = await hold(schoolMessage({ subject: 'Reading groups', extraHeaders: 'X-Test-Verdict: hold' }));
    const text = await noticeText(BM.email, reference);
    const reject = linkIn(text, 'confirm', 1);

    // Another business manager's account: refused, and recorded.
    const other = await browse();
    await signIn(other, base, OTHER.username, OTHER.password);
    const wrong = await other.goto(reject);
    expect(wrong?.status()).toBe(403);
    expect(await other.locator('main').textContent()).toContain('works only for that person');
    expect(await other.locator('main').textContent()).toContain('b***@oakfield.sch.uk');
    // Nor can it be confirmed by posting the form with that link from the other account.
    await other.goto(`${base}/incidents/${reference}`);
    const token = reject.slice(reject.lastIndexOf('/') + 1);
    const csrf = await other.locator('form[action$="/reject"] input[name=_csrf]').getAttribute('value');
    const posted = await other.request.post(`${base}/incidents/${reference}/reject`, { form: { _csrf: csrf!, reason: 'not mine to reject', link: token } });
    expect(posted.status()).toBe(403);
    expect((await findIncident(gw.gateway.store.db, reference))?.status).toBe('open');

    const page = await browse();
    await signIn(page, base, BM.username, BM.password);
    // Forged: one character of the signature changed.
    const last = reject.at(-1) === 'A' ? 'B' : 'A';
    const forged = await page.goto(reject.slice(0, -1) + last);
    expect(forged?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('This link is not valid');
    // Altered: the same signature on another incident's claims is not valid either.
    const [body, sig] = token.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    const altered = Buffer.from(JSON.stringify({ ...claims, p: 'release' })).toString('base64url');
    expect((await page.goto(`${base}/confirm/${altered}.${sig}`))?.status()).toBe(404);
    // Expired: a link signed with the gateway's own key, its time over.
    const key = await linkKey(gw.gateway.store.db);
    const expired = signLink(key, { purpose: 'reject', reference, to: BM.email, expiresAt: new Date(Date.now() - 60_000) });
    expect((await page.goto(`${base}/confirm/${expired}`))?.status()).toBe(410);
    expect(await page.locator('h1').textContent()).toBe('This link has expired');

    // CSRF still applies to the confirming form: the link alone is not enough.
    await page.goto(reject);
    expect(new URL(page.url()).pathname).toBe(`/incidents/${reference}`);
    const noCsrf = await page.request.post(`${base}/incidents/${reference}/reject`, { form: { reason: 'no csrf token', link: token } });
    expect(noCsrf.status()).toBe(403);
    expect((await findIncident(gw.gateway.store.db, reference))?.status).toBe('open');

    // The real thing, by the right account, works (the refusals above did not spend it).
    await page.getByLabel('Reason').first().fill('Send it through the secure portal instead.');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Reject the message' }).click()]);
    expect((await findIncident(gw.gateway.store.db, reference))?.status).toBe('rejected');
    const refusals = await gw.gateway.store.db.selectFrom('audit_log').select(['actor', 'action']).where('action', '=', 'email-link-refused').execute();
    expect(refusals.some((r) => r.actor === OTHER.username)).toBe(true);
  });

  it('the sender of a blocked message sends it anyway with a reason: delivered unchanged, recorded redacted, in the governors\' report, once', async () => {
    const raw = plainMessage(`Coach times - ${PUPIL.full} depot`);
    const reference = await hold(raw, policy());
    const text = await noticeText(TEACHER, reference, policy());
    const link = linkIn(text, 'send-anyway', 0, policy());
    expect(text).toContain('you can send the email unchanged yourself');

    const page = await browse();
    const opened = await page.goto(link);
    expect(opened?.status()).toBe(200);
    const main = (await page.locator('main').textContent()) ?? '';
    // Only that message's summary, masked: no pupil's name, no subject.
    expect(main).toContain(reference);
    expect(main).toContain("A pupil's name in the subject line");
    expect(main).not.toContain(PUPIL.full);
    expect(main).not.toContain('Coach times');
    expect((await findIncident(real.gateway.store.db, reference))?.status).toBe('open');

    // A form posted without the page's own cookie (another site, a script) is refused.
    const stranger = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'choice=send&justification=from+somewhere+else&_form=guess' });
    expect(stranger.status).toBe(403);

    await page.getByLabel('Why is it all right to send?').fill(`${PUPIL.full} is the name of the coach depot, not a pupil here.`);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Send my email as it is' }).click()]);
    expect(await page.locator('h1').textContent()).toBe('Sent');
    const delivered = await waitFor('the message sent anyway', () => realSink.messages.find((m) => m.rcptTo.includes(OUTSIDER) && m.data.includes('Coach times')));
    expect(splitTrace(delivered.data).rest.equals(raw)).toBe(true);
    expect(delivered.mailFrom).toBe(TEACHER);

    const inc = await findIncident(real.gateway.store.db, reference);
    expect(inc?.status).toBe('released');
    const entry = (await incidentHistory(real.gateway.store.db, reference)).find((h) => h.action === SENDER_OVERRIDE);
    expect(entry?.actor).toContain(TEACHER);
    expect(entry?.detail).toContain('is the name of the coach depot');
    expect(entry?.detail).toContain(PUPIL.redacted);
    expect(entry?.detail).not.toContain(PUPIL.full);

    // Once only.
    expect((await page.goto(link))?.status()).toBe(409);

    // The governors' report lists it, with the redacted reason.
    const bm = await browse();
    await signIn(bm, realBase, BM.username, BM.password);
    await bm.goto(`${realBase}/report`);
    const row = bm.locator('#sent-anyway + p + .table-wrap tr', { hasText: reference });
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain(PUPIL.redacted);
    expect(await row.textContent()).not.toContain(PUPIL.full);
  });

  it('the sender may cancel instead; held mail under other rules has no such link; the page is rate-limited', async () => {
    const reference = await hold(plainMessage(`Swimming - ${PUPIL.full}`), policy());
    const link = linkIn(await noticeText(TEACHER, reference, policy()), 'send-anyway', 0, policy());
    const page = await browse();
    await page.goto(link);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Cancel this email' }).click()]);
    expect(await page.locator('h1').textContent()).toBe('Cancelled');
    expect((await findIncident(real.gateway.store.db, reference))?.status).toBe('rejected');
    // Nobody is told what the sender did themselves.
    await new Promise((r) => setTimeout(r, 600));
    expect(realSink.messages.filter((m) => m.rcptTo.includes(TEACHER) && m.data.includes(reference))).toHaveLength(1);

    // A pupil's name in the subject, and a list of pupils with medical details in an attachment
    // that is not encrypted: only the business manager decides, so the sender gets no such link.
    const both = await hold(schoolMessage(), policy());
    expect((await findIncident(real.gateway.store.db, both))?.rules).toEqual(expect.arrayContaining(['pupil-name-in-subject', 'unencrypted-sensitive-attachment']));
    const bothText = await noticeText(TEACHER, both, policy());
    expect(bothText).not.toContain('/send-anyway/');
    expect(bothText).toContain('was NOT sent');

    // Guessing tokens is slow: 30 requests in ten minutes from one address, then 429.
    let limited = 0;
    for (let i = 0; i < 32; i++) if ((await fetch(`${realBase}/send-anyway/${'A'.repeat(30)}.${'B'.repeat(43)}`)).status === 429) limited++;
    expect(limited).toBeGreaterThan(0);
  });
});
