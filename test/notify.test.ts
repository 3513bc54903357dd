// Notifications: the template language, the school's own templates, masking, who is told when,
// the daily digest on the school's clock, and the outbox worker's retries, permanent failures,
// leases and (on PostgreSQL) two workers never sending the same notice.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import MailComposer from 'nodemailer/lib/mail-composer';
import { loadPolicy } from '../src/decide/index.ts';
import { createExaminer } from '../src/examine.ts';
import { loadRoster } from '../src/roster/index.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { ConfigError } from '../src/config/index.ts';
import { compileTemplate, escapeHtml, plainText, TemplateError } from '../src/act/notify/template.ts';
import { composeDigest, describeWhere, loadTemplates, maskFileName, safeFindings, composeIncidentNotice } from '../src/act/notify/compose.ts';
import { nextDigestTime, notifySettings, type NotifySettings } from '../src/act/notify/settings.ts';
import { createOutboxWorker } from '../src/act/notify/worker.ts';
import { holdMessage, type HoldContext } from '../src/act/hold.ts';
import { createDeliverer, type Deliverer } from '../src/act/deliver.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { claimDue, outboxFor } from '../src/store/outbox.ts';
import { enqueueBounce } from '../src/store/bounces.ts';
import { releaseIncident } from '../src/review/actions.ts';
import { findIncident, incidentHistory } from '../src/store/incidents.ts';
import { startGateway } from '../src/gateway.ts';
import type { ReceivedMessage, Verdict } from '../src/types.ts';
import type { Incident } from '../src/store/incidents.ts';
import { startSink, type Sink } from './helpers/smtp.ts';
import {
  BACKENDS, blockVerdict, createStorage, OUTSIDER, PUPIL, quarantineVerdict, schoolMessage, SCHOOL, TEACHER, testConfig, type Backend, type TestStorage,
} from './quarantine-helpers.ts';

function received(raw = schoolMessage(), from = TEACHER): ReceivedMessage {
  return {
    id: `N${randomBytes(6).toString('hex').toUpperCase()}`,
    envelope: { mailFrom: from, mailFromParams: {}, rcptTo: [{ address: OUTSIDER }] },
    raw,
    receivedAt: new Date(),
    client: { address: '127.0.0.1', hostname: '', helo: 'exchange.oakfield.sch.uk', tls: false },
  };
}

describe('the template language', () => {
  it('fills values, repeats lists, shows and hides sections, and drops the lines section tags stand on', () => {
    const t = compileTemplate('Hello {{name}}\n{{#items}}\n- {{n}}. {{text}}\n{{/items}}\n{{^items}}\nnothing\n{{/items}}\n{{#flag}}on{{/flag}}{{! a comment }}|{{rule.title}}|{{{raw}}}', 't');
    const out = t.render({ name: 'Sam <b>', items: [{ n: 1, text: 'one' }, { n: 2, text: 'two' }], flag: true, rule: { title: 'T' }, raw: '<i>' }, escapeHtml);
    expect(out).toBe('Hello Sam &lt;b&gt;\n- 1. one\n- 2. two\non|T|<i>');
    expect(t.render({ name: 'x', items: [] }, plainText)).toBe('Hello x\nnothing\n||');
  });

  it('refuses unclosed or mismatched sections with the template named', () => {
    expect(() => compileTemplate('{{#a}}x', 'bm.txt')).toThrow(TemplateError);
    expect(() => compileTemplate('{{#a}}x{{/b}}', 'bm.txt')).toThrow(/bm\.txt: \{\{\/b\}\} does not close \{\{#a\}\}/);
  });

  it('escapes HTML and strips control characters from plain text', () => {
    expect(escapeHtml(`<a href="x">O'Neil & co</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;');
    expect(plainText('a\r\nb\u0007c')).toBe('a \nb c');
  });
});

describe('masking what notices say about where things were found', () => {
  it('keeps the shape of a file name but not the name', () => {
    expect(maskFileName('Amelia Thornbury SEN plan.docx')).toBe('"A***** T******** S** p***.docx"');
    expect(describeWhere('subject')).toBe('the subject line');
    expect(describeWhere('body:html')).toBe('the text of the email');
    expect(describeWhere('attachment:Year5.zip/Amelia Thornbury.csv')).toBe('the attachment "Y****.zip" › "A***** T********.csv"');
    expect(describeWhere('filename:attachment:Amelia.jpg')).toBe('the file name of the attachment "A*****.jpg"');
    // The parts of an attached email are named by the inspection, not the sender: shown as they are.
    expect(describeWhere('attachment:Amelia Thornbury.eml/body')).toBe('the attachment "A***** T********.eml" › body');
    expect(describeWhere('attachment:headers')).toBe('the attachment "h******"');
    expect(describeWhere('something-new:Amelia')).toBe('the email');
  });

  it('masks a file name only where the school\'s detectors find personal data in it', () => {
    const findings = [
      { rule: 'unencrypted-sensitive-attachment', detector: 'pupil-name', where: 'attachment:year8-trip-list.csv', evidence: 'A***** T********', reason: 'year8-trip-list.csv is not encrypted and holds personal data: the names of 4 pupils.' },
      { rule: 'unencrypted-sensitive-attachment', detector: 'pupil-name', where: 'attachment:Amelia Thornbury plan.docx', evidence: null, reason: 'Amelia Thornbury plan.docx is not encrypted.' },
    ] as Incident['findings'];
    // the detectors: redacting changes a text only where a pupil is named
    const personalIn = (t: string) => t.includes('Amelia');
    const [trip, plan] = safeFindings(findings, personalIn);
    expect(trip.where).toBe('the attachment "year8-trip-list.csv"');
    expect(trip.reason).toContain('year8-trip-list.csv is not encrypted');
    expect(plan.where).toBe('the attachment "A***** T******** p***.docx"');
    expect(plan.reason).not.toContain('Amelia');
    // a name a finding was about is masked whatever the detectors say now
    const [named] = safeFindings([{ ...findings[0], where: 'filename:attachment:Grace.jpg' }], () => false);
    expect(named.where).toBe('the file name of the attachment "G****.jpg"');
    // without the detectors (CLI, exports) every name is masked
    expect(safeFindings(findings)[0].where).toBe('the attachment "y****-t***-l***.csv"');
  });

  it('says a sentence once per rule and place, with the evidence of each finding joined', () => {
    const f = (evidence: string, reason: string) => ({ rule: 'unencrypted-sensitive-attachment', detector: 'special-medical', where: 'attachment:list.csv', evidence, reason });
    const lines = safeFindings([
      f('3 pupils named', 'list.csv is not encrypted and holds personal data.'),
      f('asthma', 'Mentions a health or medical condition close to a pupil\'s name'),
      f('inhaler', 'Mentions a health or medical condition close to a pupil\'s name'),
      f('**/**/****', 'A date in a text that lists dates of birth'),
      f('**/**/****', 'A date in a text that lists dates of birth'),
    ] as Incident['findings'], () => false);
    expect(lines.map((l) => [l.reason, l.evidence])).toEqual([
      ['list.csv is not encrypted and holds personal data.', '3 pupils named'],
      ['Mentions a health or medical condition close to a pupil\'s name', 'asthma, inhaler'],
      ['A date in a text that lists dates of birth', '**/**/****'],
    ]);
  });

  it('masks a file name that a finding quotes in its reason', () => {
    const [f] = safeFindings(quarantineVerdict().findings);
    expect(f.reason).toContain('"A***** T******** t*** l***.csv"'.slice(1, -1));
    expect(f.reason).not.toContain(PUPIL.surname);
    expect(f.evidence).toContain(PUPIL.redacted);
  });
});

describe('who is told, and the school’s own templates', () => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createStorage('sqlite');
  });
  afterAll(async () => storage?.cleanup());

  it('a school can override one template; the rest come from the shipped set', async () => {
    const dir = path.join(storage.dataDir, 'templates');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'sender-held.txt'), 'Subject: Held by Oakfield ({{reference}})\nDear colleague, {{#rules}}{{title}}{{/rules}}.\n');
    const config = testConfig({ storage, sink: { host: '127.0.0.1', port: 25 }, school: { templates_dir: dir } });
    const s = notifySettings(config);
    const t = loadTemplates(s.templatesDir);
    const store = await openStore(config);
    try {
      const { reference } = await holdMessage({ store, notify: s, hostname: 'gw' }, received(), quarantineVerdict());
      const inc = (await findIncident(store.db, reference))!;
      const own = composeIncidentNotice(t, s, 'sender-held', inc);
      expect(own.subject).toBe(`Held by Oakfield (${reference})`);
      expect(own.text).toBe('Dear colleague, Personal information in an attachment that is not password protected.\n');
      const shipped = composeIncidentNotice(t, s, 'business-manager', inc);
      expect(shipped.subject).toContain('[Hallmonitor] Email held for review');
    } finally {
      await store.close();
    }
  });

  it('a broken template stops the gateway at start-up, naming the file', async () => {
    const dir = path.join(storage.dataDir, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'business-manager.html'), '<p>{{#rules}}{{title}}</p>');
    writeFileSync(path.join(dir, 'sender-held.txt'), 'no subject line here\n');
    const config = testConfig({ storage, sink: { host: '127.0.0.1', port: 25 }, school: { templates_dir: dir } });
    const err = await startGateway(config, { inspector: async () => quarantineVerdict() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toContain('business-manager.html: {{#rules}} is never closed');
    expect(problems).toContain('sender-held.txt: the first line must be "Subject: …"');
  });

  it('bad notification settings refuse start-up with the key named', () => {
    const bad = () => notifySettings(testConfig({
      storage, sink: { host: '127.0.0.1', port: 25 },
      school: { business_manager: 'not an address', digest_time: '25:99', time_zone: 'Mars/Olympus' },
      policy: { block_mode: 'bounce', rules: { 'pupil-name-in-subject': { notify: 'weekly' } } },
      console: { public_url: 'ftp://x' },
    }));
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (e) {
      const p = (e as ConfigError).problems.join('\n');
      for (const key of ['school.business_manager', 'school.digest_time', 'school.time_zone', 'policy.block_mode', 'policy.rules.pupil-name-in-subject.notify', 'console.public_url']) expect(p).toContain(key);
    }
  });

  it('the sender is only written to at a school address and never about automatic mail; the safeguarding lead hears of severity 5', async () => {
    const config = testConfig({ storage, sink: { host: '127.0.0.1', port: 25 } });
    const s = notifySettings(config);
    const store = await openStore(config);
    try {
      const ctx: HoldContext = { store, notify: s, hostname: 'gw' };
      const templates = async (ref: string) => (await outboxFor(store.db, ref)).map((r) => `${r.template}→${r.recipient}`).sort();
      const outsider = await holdMessage(ctx, received(schoolMessage(), 'someone@elsewhere.example'), quarantineVerdict());
      expect(await templates(outsider.reference)).toEqual([`business-manager→${SCHOOL.business_manager}`]);
      const automatic = await holdMessage(ctx, received(schoolMessage({ extraHeaders: 'Auto-Submitted: auto-replied' })), quarantineVerdict());
      expect(await templates(automatic.reference)).toEqual([`business-manager→${SCHOOL.business_manager}`]);
      const nullSender = await holdMessage(ctx, received(schoolMessage(), ''), quarantineVerdict());
      expect(await templates(nullSender.reference)).toEqual([`business-manager→${SCHOOL.business_manager}`]);
      const serious: Verdict = { ...quarantineVerdict(), rules: ['misdirected-pupil-data'], severity: 5 };
      const five = await holdMessage(ctx, received(), serious);
      expect(await templates(five.reference)).toEqual([`business-manager→${SCHOOL.business_manager}`, `safeguarding-lead→${SCHOOL.safeguarding_lead}`, `sender-held→${TEACHER}`].sort());
      const quiet = notifySettings(testConfig({ storage, sink: { host: '127.0.0.1', port: 25 }, policy: { rules: { 'unencrypted-sensitive-attachment': { notify: 'none' } } } }));
      const none = await holdMessage({ ...ctx, notify: quiet }, received(), quarantineVerdict());
      expect(await templates(none.reference)).toEqual([`sender-held→${TEACHER}`]);
      const overridden = notifySettings(config, { businessManager: 'head@oakfield.sch.uk' });
      expect(overridden.businessManager).toBe('head@oakfield.sch.uk');
    } finally {
      await store.close();
    }
  });

  it('the daily digest time follows the school’s clock, British Summer Time included', () => {
    const s = notifySettings(testConfig({ storage, sink: { host: '127.0.0.1', port: 25 } }));
    expect(nextDigestTime(s, new Date('2026-06-15T10:00:00Z')).toISOString()).toBe('2026-06-16T06:30:00.000Z');
    expect(nextDigestTime(s, new Date('2026-06-15T05:00:00Z')).toISOString()).toBe('2026-06-15T06:30:00.000Z');
    expect(nextDigestTime(s, new Date('2026-12-01T10:00:00Z')).toISOString()).toBe('2026-12-02T07:30:00.000Z');
    // The night the clocks go forward (29 March 2026).
    expect(nextDigestTime(s, new Date('2026-03-28T12:00:00Z')).toISOString()).toBe('2026-03-29T06:30:00.000Z');
  });
});

describe.each(BACKENDS)('the outbox worker (%s)', (backend: Backend) => {
  let storage: TestStorage;
  let sink: Sink;
  let store: Store;
  let deliverer: Deliverer;
  let settings: NotifySettings;
  let ctx: HoldContext;
  const templates = loadTemplates(null);
  let clock = new Date();
  const worker = (s: Store = store, d: Deliverer = deliverer) =>
    createOutboxWorker({ store: s, deliverer: d, settings, templates, hostname: 'gw.oakfield.sch.uk', retryBaseMs: 1_000, now: () => clock });

  beforeAll(async () => {
    storage = await createStorage(backend);
    sink = await startSink();
    const config = testConfig({ storage, sink });
    settings = notifySettings(config);
    store = await openStore(config);
    deliverer = createDeliverer(config.nextHop!, { hostname: 'gw.oakfield.sch.uk' });
    ctx = { store, notify: settings, hostname: 'gw', now: () => clock };
  });
  afterEach(async () => {
    sink.fault = { kind: 'none' };
    sink.refuse.clear();
    sink.messages.length = 0;
    await store.db.deleteFrom('outbox').execute();
    await store.db.deleteFrom('bounces').execute();
  });
  afterAll(async () => {
    deliverer?.close();
    await store?.close();
    await sink?.close();
    await storage?.cleanup();
  });

  it('retries a deferred notice with growing delays and sends it exactly once when the next hop recovers', async () => {
    clock = new Date('2026-11-24T16:00:00Z');
    const { reference } = await holdMessage(ctx, received(), quarantineVerdict());
    sink.fault = { kind: 'reply', stage: 'rcpt', code: 451, text: '4.3.2 Try again later' };
    const w = worker();
    expect(await w.runOnce()).toBe(2);
    let rows = await outboxFor(store.db, reference);
    expect(rows.every((r) => r.status === 'pending' && r.attempts === 1 && r.last_error?.includes('451'))).toBe(true);
    const first = Math.max(...rows.map((r) => new Date(r.next_attempt_at).getTime())) - clock.getTime();
    expect(first).toBeGreaterThanOrEqual(900);
    expect(first).toBeLessThanOrEqual(1_100);
    expect(await w.runOnce()).toBe(0); // not due yet
    clock = new Date(clock.getTime() + 1_200);
    expect(await w.runOnce()).toBe(2);
    rows = await outboxFor(store.db, reference);
    const second = Math.max(...rows.map((r) => new Date(r.next_attempt_at).getTime())) - clock.getTime();
    expect(second).toBeGreaterThanOrEqual(1_800); // doubled
    sink.fault = { kind: 'none' };
    clock = new Date(clock.getTime() + 2_500);
    expect(await w.runOnce()).toBe(2);
    expect(sink.messages).toHaveLength(2);
    rows = await outboxFor(store.db, reference);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([['sent', 3], ['sent', 3]]);
    clock = new Date(clock.getTime() + 3_600_000);
    expect(await w.runOnce()).toBe(0);
    expect(sink.messages).toHaveLength(2);
    expect((await incidentHistory(store.db, reference)).filter((h) => h.action === 'notified')).toHaveLength(2);
  });

  it('records a permanent refusal in the incident history and does not retry it', async () => {
    clock = new Date('2026-11-24T16:00:00Z');
    const { reference } = await holdMessage(ctx, received(), quarantineVerdict());
    sink.refuse.set(SCHOOL.business_manager, 550);
    const w = worker();
    await w.runOnce();
    const rows = await outboxFor(store.db, reference);
    expect(rows.find((r) => r.template === 'business-manager')).toMatchObject({ status: 'failed' });
    // The outbox's last error (shown to the IT lead on /system and by the CLI) names no address:
    // the next hop's reply did ("5.1.1 No such user here: <bursar@…>").
    const lastError = rows.find((r) => r.template === 'business-manager')!.last_error!;
    expect(lastError).toContain('550');
    expect(lastError).not.toContain(SCHOOL.business_manager);
    expect(lastError).toContain(`${SCHOOL.business_manager[0]}***@`);
    expect(rows.find((r) => r.template === 'sender-held')).toMatchObject({ status: 'sent' });
    const failed = (await incidentHistory(store.db, reference)).find((h) => h.action === 'notice-failed');
    expect(failed?.detail).toContain('550');
    clock = new Date(clock.getTime() + 86_400_000);
    expect(await w.runOnce()).toBe(0);
  });

  it('a failure notice to a sender is kept until the sender\'s next hop takes it: deferred, retried, then gone from the store', async () => {
    clock = new Date('2026-11-24T16:00:00Z');
    const raw = Buffer.from('From: MAILER-DAEMON@gw\r\nTo: j.hargreaves@oakfield.sch.uk\r\nSubject: Undelivered Mail\r\n\r\nnot delivered to 1 recipient\r\n');
    await enqueueBounce(store.db, TEACHER, raw, clock);
    sink.refuse.set(TEACHER, 451);
    const w = worker();
    expect(await w.runOnce()).toBe(1);
    expect(sink.messages).toHaveLength(0);
    const [waiting] = await store.db.selectFrom('bounces').selectAll().execute();
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
    expect(waiting.last_error).toContain('451');
    // Before its retry time nothing is tried; after it, the notice goes and its row with it.
    expect(await w.runOnce()).toBe(0);
    sink.refuse.clear();
    clock = new Date(clock.getTime() + 10_000);
    expect(await w.runOnce()).toBe(1);
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]).toMatchObject({ mailFrom: '', rcptTo: [TEACHER] });
    expect(sink.messages[0].data.toString()).toContain('not delivered to 1 recipient');
    expect(await store.db.selectFrom('bounces').selectAll().execute()).toEqual([]);
    // Refused outright (5xx): given up, not retried for ever.
    await enqueueBounce(store.db, 'left@oakfield.sch.uk', raw, clock);
    sink.refuse.set('left@oakfield.sch.uk', 550);
    expect(await w.runOnce()).toBe(1);
    expect(await store.db.selectFrom('bounces').selectAll().execute()).toEqual([]);
  });

  it('a released message the next hop refuses for one recipient: the others get it, and the sender is told', async () => {
    clock = new Date('2026-11-24T16:00:00Z');
    const message = received(schoolMessage({ to: [OUTSIDER, 'left.school@coachtravel.example'] }));
    message.envelope.rcptTo = [{ address: OUTSIDER }, { address: 'left.school@coachtravel.example' }];
    const { reference } = await holdMessage(ctx, message, quarantineVerdict());
    await store.db.deleteFrom('outbox').execute(); // the hold's own notices are not under test here
    await releaseIncident(ctx, reference, 'Sarah Jones', 'fine to send');
    sink.refuse.set('left.school@coachtravel.example', 550);
    await worker().runOnce();
    const released = sink.messages.find((m) => m.mailFrom === TEACHER)!;
    expect(released.rcptTo).toEqual([OUTSIDER]);
    const bounce = sink.messages.find((m) => m.mailFrom === '')!;
    expect(bounce.rcptTo).toEqual([TEACHER]);
    expect(bounce.data.toString()).toContain('Final-Recipient: rfc822;left.school@coachtravel.example');
    expect(await store.db.selectFrom('bounces').selectAll().execute()).toEqual([]);
  });

  it('a release the command line sends itself is queued claimed: a running gateway\'s worker leaves it, unless the command dies', async () => {
    clock = new Date('2026-11-24T16:00:00Z');
    const first = await holdMessage(ctx, received(), quarantineVerdict());
    const second = await holdMessage(ctx, received(), quarantineVerdict());
    await store.db.deleteFrom('outbox').execute(); // the holds' own notices are not under test here
    const cli = createOutboxWorker({ store, deliverer, settings, templates, hostname: 'cli', leaseMs: 60_000, now: () => clock });
    const gateway = worker();
    const { jobId } = await releaseIncident(ctx, first.reference, 'Sarah Jones', 'fine to send', { claim: cli.claim() });
    // The gateway polls between the command's commit and its send: the row is not its to take.
    expect(await gateway.runOnce()).toBe(0);
    expect(sink.messages).toHaveLength(0);
    expect(await cli.sendJob(jobId)).toMatchObject({ state: 'sent' });
    expect(sink.messages.map((m) => m.rcptTo)).toEqual([[OUTSIDER]]);
    expect((await outboxFor(store.db, first.reference))[0]).toMatchObject({ status: 'sent', attempts: 1, claimed_by: cli.id });
    // A command that died after queueing: the gateway delivers it once the claim runs out.
    await releaseIncident(ctx, second.reference, 'Sarah Jones', 'fine to send', { claim: createOutboxWorker({ store, deliverer, settings, templates, hostname: 'cli', leaseMs: 60_000, now: () => clock }).claim() });
    expect(await gateway.runOnce()).toBe(0);
    clock = new Date(clock.getTime() + 61_000);
    expect(await gateway.runOnce()).toBe(1);
    expect(sink.messages).toHaveLength(2);
    expect((await outboxFor(store.db, second.reference))[0]).toMatchObject({ status: 'sent', attempts: 2, claimed_by: gateway.id });
  });

  it('a notice claimed by a worker that died is sent by another once the lease runs out, with the same Message-ID', async () => {
    clock = new Date('2026-11-24T16:00:00Z');
    const { reference } = await holdMessage(ctx, received(), blockVerdict());
    // pupil-name-in-subject: the business manager hears in the digest; the sender at once.
    const [row] = (await outboxFor(store.db, reference)).filter((r) => r.mode === 'immediate');
    const dead = await claimDue(store.db, store.kind, 'dead-worker', clock, 60_000, 10);
    expect(dead.map((r) => r.id)).toContain(row.id);
    const w = worker();
    expect(await w.runOnce()).toBe(0); // the lease still holds
    clock = new Date(clock.getTime() + 61_000);
    expect(await w.runOnce()).toBe(1);
    expect(sink.messages).toHaveLength(1);
    const parsed = await simpleParser(sink.messages[0].data);
    expect(parsed.messageId).toBe(row.message_id_header);
  });

  it('sends one daily digest per recipient at the digest time, listing every incident once', async () => {
    clock = new Date('2026-11-24T10:00:00Z');
    const refs: string[] = [];
    for (let i = 0; i < 3; i++) refs.push((await holdMessage(ctx, received(), blockVerdict())).reference);
    const w = worker();
    await w.runOnce(); // the three sender notices go at once; the digest waits
    expect(sink.messages.map((m) => m.rcptTo[0])).toEqual([TEACHER, TEACHER, TEACHER]);
    clock = new Date('2026-11-25T07:29:00Z');
    expect(await w.runOnce()).toBe(0);
    clock = new Date('2026-11-25T07:31:00Z');
    expect(await w.runOnce()).toBe(3);
    expect(sink.messages).toHaveLength(4);
    const digest = await simpleParser(sink.messages[3].data);
    expect(sink.messages[3].rcptTo).toEqual([SCHOOL.business_manager]);
    expect(digest.subject).toBe('[Hallmonitor] Daily summary: 3 emails stopped');
    for (const r of refs) expect(digest.text).toContain(r);
    expect(digest.text).not.toContain(PUPIL.surname);
    expect(digest.headers.get('auto-submitted')).toBe('auto-generated');
    clock = new Date('2026-11-26T07:31:00Z');
    expect(await w.runOnce()).toBe(0);
  });

  if (backend === 'postgres') {
    it('two gateways’ workers sharing the database never send the same notice (FOR UPDATE SKIP LOCKED)', async () => {
      clock = new Date();
      const refs = [];
      for (let i = 0; i < 20; i++) refs.push((await holdMessage(ctx, received(), quarantineVerdict())).reference);
      const other = await openStore(testConfig({ storage, sink }));
      const d2 = createDeliverer({ host: sink.host, port: sink.port, starttls: 'off', secure: false, rejectUnauthorized: true, timeoutSeconds: 5 }, { hostname: 'gw-b' });
      try {
        const a = createOutboxWorker({ store, deliverer, settings, templates, hostname: 'gw-a', batch: 3 });
        const b = createOutboxWorker({ store: other, deliverer: d2, settings, templates, hostname: 'gw-b', batch: 3 });
        const [na, nb] = await Promise.all([a.runOnce(), b.runOnce()]);
        expect(na + nb).toBe(40);
        expect(na).toBeGreaterThan(0);
        expect(nb).toBeGreaterThan(0);
        expect(sink.messages).toHaveLength(40);
        const ids = await Promise.all(sink.messages.map(async (m) => (await simpleParser(m.data)).messageId));
        expect(new Set(ids).size).toBe(40);
      } finally {
        d2.close();
        await other.close();
      }
    });
  }
});

describe('the business manager\'s notice: links, not commands; no ICO deadline for mail that never left', () => {
  const incident = (action: 'quarantine' | 'block'): Incident => ({
    reference: 'HM-2026-000042', tenant: 'school', messageId: 'm1', detectedAt: new Date('2026-11-24T09:00:00Z'), action,
    kind: action === 'block' ? 'near-miss' : 'held', status: 'open', sender: 'teacher@oakfield.sch.uk', recipients: ['parent@example.com'],
    rules: ['pupil-name-in-subject'], severity: 2, findings: [], potentialBreach: false, breachMarkedAt: null, icoDeadline: null, escalatedAt: null,
    heldBy: 'gw', updatedAt: new Date('2026-11-24T09:00:00Z'),
  } as Incident);
  const settings = (consoleUrl: string | null): NotifySettings => ({ ...notifySettings(testConfig({ storage: { backend: 'sqlite', dataDir: tmpdir(), store: {}, sql: async () => undefined, cleanup: async () => undefined }, sink: { host: '127.0.0.1', port: 25 } })), consoleUrl });
  const templates = loadTemplates(null);

  it('a locked file named after a pupil, its password beside it: the notice and the digest mask its name', async () => {
    // The password rule named the locked files only in its reason, which the masking could not
    // tell from a sentence: "Amelia Thornbury EHCP.zip" reached the business manager as it is.
    const work = mkdtempSync(path.join(tmpdir(), 'hm-locked-'));
    let zip: Buffer;
    try {
      writeFileSync(path.join(work, 'plan.txt'), 'Support plan\n');
      execFileSync('zip', ['-q', '-j', '-P', 'Sunflower42', path.join(work, 'Amelia Thornbury EHCP.zip'), path.join(work, 'plan.txt')]);
      zip = readFileSync(path.join(work, 'Amelia Thornbury EHCP.zip'));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    const { roster } = await loadRoster(path.join(import.meta.dirname, 'fixtures/check/roster.csv'));
    const examiner = await createExaminer({ policy: loadPolicy({ source: 'test', school: { domains: ['oakfield.sch.uk'] }, policy: {} }), roster });
    try {
      const raw = await new MailComposer({ from: 'teacher@oakfield.sch.uk', to: 'senco@oakfield.sch.uk', subject: 'Plan', text: 'The password is Sunflower42', attachments: [{ filename: 'Amelia Thornbury EHCP.zip', content: zip }] }).compile().build();
      const { verdict } = await examiner.examine(raw, { mailFrom: 'teacher@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address: 'senco@oakfield.sch.uk' }] });
      expect(verdict.rules).toEqual(['password-in-same-email']);
      expect(verdict.findings.map((f) => f.where)).toContain('attachment:Amelia Thornbury EHCP.zip');
      const inc = { ...incident('block'), rules: verdict.rules, findings: verdict.findings.map((f) => ({ ...f, rule: f.rule ?? 'password-in-same-email' })) } as Incident;
      const personalIn = (t: string) => examiner.redact(t) !== t;
      const s = settings('https://hallmonitor.oakfield.sch.uk');
      const notice = composeIncidentNotice(templates, s, 'business-manager', inc, { personalIn });
      const digest = composeDigest(templates, s, [inc], { personalIn });
      for (const body of [notice.text, notice.html, digest.text, digest.html]) {
        expect(body).not.toMatch(/Amelia|Thornbury/);
        expect(body).toContain('A***** T******** E***.zip');
      }
    } finally {
      await examiner.close();
    }
  });

  it('with a console: one link to the incident, no command line, no ICO deadline', () => {
    for (const action of ['quarantine', 'block'] as const) {
      const n = composeIncidentNotice(templates, settings('https://hallmonitor.oakfield.sch.uk'), 'business-manager', incident(action));
      for (const body of [n.text, n.html]) {
        expect(body).toContain('https://hallmonitor.oakfield.sch.uk/incidents/HM-2026-000042');
        expect(body).not.toMatch(/npx|hallmonitor quarantine|ICO by|within 72 hours/);
        expect(body).toContain('Nothing has left the school, so this is not a data breach');
      }
    }
  });

  it('held mail: release and reject links that open the incident to confirm, in the notice and the digest', () => {
    const s = settings('https://hallmonitor.oakfield.sch.uk');
    const n = composeIncidentNotice(templates, s, 'business-manager', incident('quarantine'));
    expect(n.text).toContain('Safe to send? Release it: https://hallmonitor.oakfield.sch.uk/incidents/HM-2026-000042?decide=release#decide');
    expect(n.text).toContain('Must not go? Reject it: https://hallmonitor.oakfield.sch.uk/incidents/HM-2026-000042?decide=reject#decide');
    expect(n.html).toContain('href="https://hallmonitor.oakfield.sch.uk/incidents/HM-2026-000042?decide=release#decide"');
    const d = composeDigest(templates, s, [incident('quarantine'), { ...incident('block'), reference: 'HM-2026-000043' }]);
    expect(d.text).toContain('Release: https://hallmonitor.oakfield.sch.uk/incidents/HM-2026-000042?decide=release#decide');
    expect(d.text).not.toContain('HM-2026-000043?decide'); // a blocked one has nothing to release
    expect(d.html).toContain('?decide=reject#decide');
  });

  it('without a console: the commands, in a section for the IT lead', () => {
    const held = composeIncidentNotice(templates, settings(null), 'business-manager', incident('quarantine'));
    expect(held.text).toMatch(/FOR THE IT LEAD \(no console is set up; run these on the gateway\)\n {2}npx hallmonitor quarantine show HM-2026-000042\n {2}npx hallmonitor quarantine release HM-2026-000042/);
    expect(held.text.indexOf('npx')).toBeGreaterThan(held.text.indexOf('FOR THE IT LEAD'));
    expect(held.html).toContain('For the IT lead');
    const blocked = composeIncidentNotice(templates, settings(null), 'business-manager', incident('block'));
    expect(blocked.text).toContain('npx hallmonitor incidents show HM-2026-000042');
    expect(blocked.text).not.toContain('quarantine release');
  });
});

describe('notification emails are well formed', () => {
  it('builds a multipart/alternative message with UTF-8 text and HTML', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-notify-'));
    try {
      const storage = { backend: 'sqlite' as const, dataDir: dir, store: {}, sql: async () => undefined, cleanup: async () => undefined };
      const config = testConfig({ storage, sink: { host: '127.0.0.1', port: 25 } });
      const s = notifySettings(config);
      const { buildEmail } = await import('../src/act/notify/compose.ts');
      const buf = await buildEmail(s, { subject: 'Test – “quotes”', text: 'Plain – text', html: '<p>HTML</p>' }, 'x@oakfield.sch.uk', '<HM-2026-000001.x.1@gw>', new Date('2026-11-24T16:00:00Z'), 'HM-2026-000001');
      const p = await simpleParser(buf);
      expect(p.subject).toBe('Test – “quotes”');
      expect(p.text?.trim()).toBe('Plain – text');
      expect(p.html).toContain('<p>HTML</p>');
      expect(buf.toString('latin1')).toMatch(/Content-Type: multipart\/alternative/);
      expect(p.from?.text).toBe('"Hallmonitor (Oakfield Primary School)" <hallmonitor@oakfield.sch.uk>');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
