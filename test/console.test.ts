// The business manager's console, end to end in a real browser (Debian's Chromium, with
// JavaScript switched OFF: the review flow must work without it), on both storage back ends.
// Mail goes through the real relay and is held; the business manager signs in, finds it in the
// queue, opens it, and releases it (the next hop gets the original bytes), rejects another (the
// sender gets the notice) and marks a third as a potential breach (the ICO clock shows).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { headerValue } from '../src/act/notify/plan.ts';
import { addUser } from '../src/review/users.ts';
import { consoleDb } from '../src/review/console/migrations.ts';
import { findIncident, incidentHistory, listIncidents } from '../src/store/incidents.ts';
import type { Verdict } from '../src/types.ts';
import { launchBrowser, newContext, screenshot, signIn } from './helpers/browser.ts';
import { startSink, splitTrace, type Sink } from './helpers/smtp.ts';
import {
  BACKENDS, createStorage, OUTSIDER, PUPIL, quarantineVerdict, schoolMessage, sendRaw, startHoldingGateway, TEACHER, waitFor,
  type Backend, type HoldingGateway, type TestStorage,
} from './quarantine-helpers.ts';

const BM = { username: 'sam.okafor', name: 'Sam Okafor', password: 'correct horse battery staple' };
const SUBJECT = `Trip list and medical needs - ${PUPIL.full} Year 5`;

/** The policy's verdict for the test message: the attachment, plus the name in the subject (with its span). */
function heldVerdict(): Verdict {
  const v = quarantineVerdict();
  const start = SUBJECT.indexOf(PUPIL.full);
  v.rules.push('pupil-name-in-subject');
  v.findings.push({
    rule: 'pupil-name-in-subject', detector: 'pupil-name', where: 'subject', evidence: PUPIL.redacted,
    reason: `A pupil's name (${PUPIL.redacted}) is in the subject line.`, span: [start, start + PUPIL.full.length],
  });
  return v;
}

const inspector = async (m: { raw: Buffer }): Promise<Verdict> =>
  headerValue(m.raw, 'x-test-verdict')?.trim() === 'hold' ? heldVerdict() : { action: 'deliver', rules: [], findings: [], severity: 0 };

const held = (subject = SUBJECT) => schoolMessage({ subject, extraHeaders: 'X-Test-Verdict: hold' });

describe.each(BACKENDS)('the console on %s', (backend: Backend) => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;

  /** Sends a held message through the relay and returns its incident reference. */
  async function hold(raw: Buffer): Promise<string> {
    const before = new Set((await listIncidents(gw.gateway.store.db)).map((i) => i.reference));
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], raw);
    expect(r.code).toBe(250);
    const inc = (await listIncidents(gw.gateway.store.db)).find((i) => !before.has(i.reference));
    expect(inc).toBeDefined();
    return inc!.reference;
  }

  async function open(reference: string): Promise<void> {
    await page.goto(`${base}/queue`);
    await Promise.all([page.waitForNavigation(), page.locator('main table').getByRole('link', { name: reference, exact: true }).click()]);
    await expect.poll(() => page.locator('h1').textContent(), { timeout: 15_000 }).toContain(reference);
  }

  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage(backend);
    gw = await startHoldingGateway({ storage, sink, inspector, console: { listen: '127.0.0.1:0' } });
    base = gw.gateway.console!.url;
    await addUser(await consoleDb(gw.gateway.store), { username: BM.username, displayName: BM.name, role: 'business-manager', password: BM.password });
    browser = await launchBrowser();
    context = await newContext(browser, { javaScript: false });
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('signs in, lists the held message in the queue, opens it, and releases the original bytes to the recipient', async () => {
    const raw = held();
    const reference = await hold(raw);
    expect(sink.messages.filter((m) => m.rcptTo.includes(OUTSIDER))).toHaveLength(0);

    await page.goto(base);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    if (backend === 'sqlite') await screenshot(page, 'console-sign-in');
    await signIn(page, base, BM.username, BM.password);
    expect(new URL(page.url()).pathname).toBe('/queue');
    const row = page.locator('tr', { has: page.getByRole('link', { name: reference, exact: true }) });
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    expect(await row.textContent()).toContain(SUBJECT);
    expect(await row.textContent()).toContain(TEACHER);
    expect(await row.textContent()).toContain('Personal data in an attachment that is not encrypted');
    expect(await page.locator('.counts').textContent()).toContain("A pupil's name in the subject line");
    if (backend === 'sqlite') await screenshot(page, 'console-queue');

    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: reference, exact: true }).click()]);
    const main = page.locator('main');
    expect(await page.locator('h1').textContent()).toContain(reference);
    const text = (await main.textContent()) ?? '';
    // Who, to whom, what, when; the rules in plain English with the school's policy; the redacted evidence.
    expect(text).toContain(TEACHER);
    expect(text).toContain(OUTSIDER);
    expect(text).toContain('Personal data in an attachment that is not encrypted');
    expect(text).toContain('must be encrypted or password protected before they are sent to external recipients');
    expect(text).toContain(`2 pupils named (${PUPIL.redacted}, O***** P*******)`);
    // The evidence is highlighted in place in the subject line.
    expect(await page.locator('dd mark').first().textContent()).toBe(PUPIL.full);
    // The text body, and the attachment with its real type, size, encryption and what was found.
    expect(await page.locator('pre.body').textContent()).toContain('needs her inhaler on the coach');
    const attachment = page.locator('#attachments + .table-wrap tr', { hasText: 'trip list.csv' });
    expect(await attachment.textContent()).toContain('Not encrypted');
    expect(await attachment.textContent()).toContain('2 pupils named');
    if (backend === 'sqlite') await screenshot(page, 'console-message');

    // Headers on demand, recorded.
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Show the full headers' }).click()]);
    expect(await page.locator('pre.headers').textContent()).toContain('X-Test-Verdict: hold');

    await page.getByLabel('Why is it safe?').fill('Checked with the coach company: they are the trip organiser and need the list.');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Release the message' }).click()]);
    expect(await page.locator('[role=status]').first().textContent()).toContain('Released');
    // the heading says what happened, no longer "held for review"
    expect(await page.locator('h1').textContent()).toContain('released, delivered to its recipients');
    // the notice's release link, followed again after the decision, says so and offers nothing
    await page.goto(`${base}/incidents/${reference}?decide=release`);
    expect(await page.locator('#decide ~ .notice').first().textContent()).toContain('already been decided');
    expect(await page.locator(`form[action="/incidents/${reference}/release"]`).count()).toBe(0);

    const delivered = await waitFor('the released message at the next hop', () => sink.messages.find((m) => m.rcptTo.includes(OUTSIDER)));
    expect(delivered.mailFrom).toBe(TEACHER);
    expect(splitTrace(delivered.data).rest.equals(raw)).toBe(true);

    const inc = await findIncident(gw.gateway.store.db, reference);
    expect(inc?.status).toBe('released');
    const history = await incidentHistory(gw.gateway.store.db, reference);
    const actor = `${BM.name} (${BM.username}, console)`;
    expect(history.map((h) => [h.actor, h.action])).toEqual(expect.arrayContaining([
      [actor, 'viewed'], [actor, 'viewed-headers'], [actor, 'released'],
    ]));
    expect(history.find((h) => h.action === 'released')?.detail).toContain('coach company');
  });

  it('rejects a held message and the sender gets the notice', async () => {
    const reference = await hold(held(`Reading scores - ${PUPIL.full}`));
    await open(reference);
    await page.getByLabel('Reason').first().fill('Please send the scores through the secure portal instead.');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Reject the message' }).click()]);
    expect(await page.locator('[role=status]').first().textContent()).toContain('Rejected');
    expect((await findIncident(gw.gateway.store.db, reference))?.status).toBe('rejected');
    const notice = await waitFor('the sender\'s rejection notice', () =>
      sink.messages.find((m) => m.rcptTo.includes(TEACHER) && m.data.includes(reference) && m.data.toString('utf8').includes('will not be sent')));
    expect(notice.mailFrom).toBe('');
    // Nothing reached the outside recipient for this incident.
    expect(sink.messages.filter((m) => m.rcptTo.includes(OUTSIDER) && m.data.includes('Reading scores'))).toHaveLength(0);
  });

  it('marks a potential breach with the risk questions and shows the running 72-hour ICO clock', async () => {
    const reference = await hold(held(`Safeguarding follow-up - ${PUPIL.full}`));
    await open(reference);
    await page.getByLabel('What personal data was involved?').fill('Name, date of birth and medical need of two pupils.');
    await page.getByLabel("How many people's data?").fill('2');
    await page.getByLabel('Not known yet').check();
    await page.getByLabel('Who has been told?').fill('Headteacher and the DPO.');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Mark as a potential breach' }).click()]);
    expect(await page.locator('[role=status]').first().textContent()).toContain('potential breach');
    const clock = page.locator(`section.clock[data-reference="${reference}"]`);
    const left = (await clock.locator('.left').textContent()) ?? '';
    expect(left).toMatch(/^(71|72) h \d+ min left$/);
    const inc = await findIncident(gw.gateway.store.db, reference);
    expect(inc?.potentialBreach).toBe(true);
    expect(inc?.icoDeadline?.getTime()).toBe(inc!.detectedAt.getTime() + 72 * 3_600_000);
    const entry = (await incidentHistory(gw.gateway.store.db, reference)).find((h) => h.action === 'marked-potential-breach');
    expect(entry?.detail).toContain('People affected: 2');
    expect(entry?.detail).toContain('Recovered or contained: not known yet');
    expect(entry?.detail).toContain('Told: Headteacher and the DPO.');

    // The queue shows the running clock, most urgent first.
    await page.goto(`${base}/queue`);
    await expect.poll(() => page.locator(`section.clock[data-reference="${reference}"]`).count(), { timeout: 15_000 }).toBe(1);
    if (backend === 'sqlite') await screenshot(page, 'console-queue-with-clock');

    // Reported to the ICO once the held message is decided (no report form while it waits: a
    // report would take it out of the queue unsent): the clock stops and the queue no longer shows it.
    await open(reference);
    expect(await page.getByLabel('ICO case reference').count()).toBe(0);
    await page.getByLabel('Reason').first().fill('Not to be sent: a referral goes through the safeguarding portal.');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Reject the message' }).click()]);
    await page.getByLabel('ICO case reference').fill('ICO/00012345');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Record the ICO report' }).click()]);
    expect(await page.locator(`section.clock[data-reference="${reference}"] .left`).textContent()).toContain('Clock stopped');
    expect((await findIncident(gw.gateway.store.db, reference))?.status).toBe('reported-to-ico');
    await page.goto(`${base}/queue`);
    expect(await page.locator(`section.clock[data-reference="${reference}"]`).count()).toBe(0);
  });

  it('releases several obvious false positives at once from the queue', async () => {
    const refs = [await hold(held('Staff rota A')), await hold(held('Staff rota B'))];
    await page.goto(`${base}/queue`);
    for (const r of refs) await page.getByLabel(`Select ${r}`).check();
    await page.getByLabel('Reason').fill('False positive: staff names, not pupils.');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Release selected messages' }).click()]);
    expect(await page.locator('[role=status]').first().textContent()).toContain('2 messages released');
    for (const r of refs) expect((await findIncident(gw.gateway.store.db, r))?.status).toBe('released');
    await waitFor('both released messages', () => sink.messages.filter((m) => m.rcptTo.includes(OUTSIDER) && m.data.includes('Staff rota')).length === 2);
  });

  it('exports the register as CSV and draws the governors\' report', async () => {
    await page.goto(`${base}/register`);
    expect(await page.locator('main table').textContent()).toContain('Reported to the ICO');
    if (backend === 'sqlite') await screenshot(page, 'console-register');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download as CSV/ }).click()]);
    const csv = await new Promise<string>((resolve, reject) => {
      download.createReadStream().then((s) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        s.on('error', reject);
      }, reject);
    });
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toContain('reference,school_id,school,detected_at');
    expect(lines).toHaveLength(1 + (await listIncidents(gw.gateway.store.db)).length);
    expect(csv).not.toContain(PUPIL.full);
    // The same privacy default as the CLI export: the sender as a domain, not an address.
    expect(csv).not.toContain(TEACHER);
    expect(csv).toContain(`"${TEACHER.slice(TEACHER.indexOf('@') + 1)}"`);
    await page.goto(`${base}/report`);
    expect(await page.locator('svg.chart').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('main').textContent()).toContain(TEACHER);
    if (backend === 'sqlite') await screenshot(page, 'console-report');
  });

  it('finds held mail by words of its subject, searched on the server', async () => {
    const reference = await hold(held('Minibus forms for the choir trip'));
    await page.goto(`${base}/queue?status=all`);
    await page.getByLabel('Search').fill('choir MINIBUS');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Apply filters' }).click()]);
    expect(await page.locator('main table a[href^="/incidents/"]').allTextContents()).toEqual([reference]);
    await page.goto(`${base}/queue?status=all&q=${encodeURIComponent('choir orchestra')}`);
    expect(await page.locator('main').textContent()).toContain('No held mail matches this search.');
  });

  it('is usable on a phone: at 390 px the queue, the register, the report and an incident fit the screen (rows become cards)', async () => {
    const reference = await hold(held());
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    try {
      const p = await phone.newPage();
      await signIn(p, base, BM.username, BM.password);
      for (const path of ['/queue?status=all', '/register', '/report', `/incidents/${reference}`]) {
        await p.goto(`${base}${path}`);
        const width = Number(await p.evaluate('document.documentElement.scrollWidth'));
        const wide = await p.evaluate(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391).slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).join('; ')`);
        expect(width, `${path} is ${width} px wide: ${wide}`).toBeLessThanOrEqual(390);
        // and in words a business manager who never read the README understands
        expect(await p.locator('main').textContent(), path).not.toMatch(/\b(detector|score|threshold|verdict|MIME|regex|span|npx)\b|×/i);
      }
      // on the queue, each row is a card that still names its columns and shows the subject
      await p.goto(`${base}/queue?status=all`);
      const card = p.locator('main table.cards tbody tr').first();
      expect(await card.locator('td.subj').isVisible()).toBe(true);
      expect(await p.evaluate(`getComputedStyle(document.querySelector('main table.cards tbody tr td.subj'), '::before').content`)).toContain('Subject');
      if (backend === 'sqlite') await screenshot(p, 'console-queue-phone');
    } finally {
      await phone.close();
    }
  });

  it('shows IT the gateway instance, quarantine and outbox depth and next-hop reachability', async () => {
    // An outbox error the next hop worded with a parent's address (kept before such errors were
    // redacted when stored), and a failure notice to a sender waiting for its retry.
    const db = gw.gateway.store.db;
    const row = await db.selectFrom('outbox').select('id').limit(1).executeTakeFirstOrThrow();
    await db.updateTable('outbox').set({ last_error: '550 5.1.1 No such user here: <okonkwo.family@hotmail.co.uk>', next_attempt_at: '2999-01-01T00:00:00.000Z' }).where('id', '=', row.id).execute();
    await db.insertInto('bounces').values({ id: 'b-console', recipient: 'teacher@oakfield.sch.uk', raw: Buffer.from('report'), status: 'pending', created_at: new Date().toISOString(), next_attempt_at: '2999-01-01T00:00:00.000Z', attempts: 1, claimed_by: null, claimed_until: null, last_error: '451' }).execute();
    await page.goto(`${base}/system`);
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain(gw.config.hostname);
    expect(text).toContain(`${sink.host}:${sink.port} reachable`);
    expect(text).toMatch(/Quarantine store.*writable \([0-9.]+ ms\)/s); // the write-and-read probe
    expect(text).toContain('messages in quarantine');
    expect(text).toContain('sam.okafor');
    expect(text).toContain('o***@hotmail.co.uk');
    expect(text).not.toContain('okonkwo.family');
    expect(text).toMatch(/Failure notices to senders waiting\s*1/);
    await db.deleteFrom('bounces').where('id', '=', 'b-console').execute();
    if (backend === 'sqlite') await screenshot(page, 'console-system');
  });
});
