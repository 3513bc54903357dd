// Crash and restart at each step, with `hallmonitor serve` as a child process running the school's
// real policy: SIGKILL between steps, restart, and check nothing was lost and no notice or release
// went out twice. Both storage back ends.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { findIncident, heldMessage, listIncidents } from '../src/store/incidents.ts';
import { outboxFor } from '../src/store/outbox.ts';
import { RawSmtp, startSink, splitTrace, type Sink } from './helpers/smtp.ts';
import {
  BACKENDS, cli, createStorage, mentions, nameInSubjectMessage, nhsNumberMessage, OUTSIDER, PUPIL, ROSTER_CSV, SCHOOL, sendRaw, spawnServe, TEACHER,
  waitFor, type Backend, type ServeProcess, type TestStorage,
} from './quarantine-helpers.ts';

const HEAD = 'head@oakfield.sch.uk';

describe.each(BACKENDS)('crash and restart (%s)', (backend: Backend) => {
  let sink: Sink;
  let storage: TestStorage;
  let configFile: string;
  let store: Store;
  let gw: ServeProcess | undefined;
  const to = (addr: string) => sink.messages.filter((m) => m.rcptTo.includes(addr));
  const settle = () => new Promise((r) => setTimeout(r, 2_500)); // more than a worker pass after start-up

  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage(backend);
    const roster = path.join(storage.dataDir, 'roster.csv');
    writeFileSync(roster, ROSTER_CSV);
    configFile = path.join(storage.dataDir, 'hallmonitor.yaml');
    writeFileSync(configFile, stringify({
      hostname: 'hallmonitor.oakfield.sch.uk',
      listen: '127.0.0.1:0',
      data_dir: storage.dataDir,
      next_hop: { host: sink.host, port: sink.port, starttls: 'off', timeout_seconds: 5 },
      health: { listen: null },
      log: { level: 'info' },
      relay: { allow_networks: ['127.0.0.0/8'] },
      school: { ...SCHOOL, roster },
      store: { ...storage.store, outbox_retry_seconds: 1, outbox_lease_seconds: 10 },
    }));
    store = await openStore(loadConfig(configFile));
  });
  afterAll(async () => {
    await gw?.crash().catch(() => undefined);
    await store?.close();
    await sink?.close();
    await storage?.cleanup();
  });

  let ref1 = '';
  let raw1: Buffer;

  it('killed after the hold committed but before any notice got out: nothing lost', async () => {
    sink.fault = { kind: 'reply', stage: 'connect', code: 421, text: 'Service not available' };
    gw = await spawnServe(configFile);
    raw1 = nhsNumberMessage();
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], raw1);
    expect(r.code).toBe(250);
    ref1 = /held for review as (HM-\d{4}-\d{6})/.exec(r.response)![1];
    await waitFor('the notices to be tried and deferred', async () => (await outboxFor(store.db, ref1)).every((x) => x.attempts >= 1 && x.status === 'pending'));
    await gw.crash();
    const inc = await findIncident(store.db, ref1);
    // An NHS number and the pupil's asthma, named, to a coach company: both rules hold it.
    expect(inc).toMatchObject({ status: 'open', rules: ['identifier-in-message', 'personal-data-in-body'], sender: TEACHER, recipients: [OUTSIDER] });
    expect(Buffer.compare((await heldMessage(store.db, ref1))!.raw!, raw1)).toBe(0);
    expect((await outboxFor(store.db, ref1)).map((x) => x.template).sort()).toEqual(['business-manager', 'sender-held']);
    expect(sink.messages).toHaveLength(0);
  });

  it('after the restart the notices go out once, and never again after another crash and restart', async () => {
    sink.fault = { kind: 'none' };
    gw = await spawnServe(configFile);
    await sink.waitForMessages(2, 30_000);
    await waitFor('the notices marked sent', async () => (await outboxFor(store.db, ref1)).every((x) => x.status === 'sent'));
    await gw.crash();
    gw = await spawnServe(configFile);
    await settle();
    expect(sink.messages.map((m) => m.rcptTo[0]).sort()).toEqual([SCHOOL.business_manager, TEACHER]);
    for (const m of sink.messages) {
      const p = await simpleParser(m.data);
      expect(p.text).toContain(ref1);
      expect(mentions([p.subject, p.text, p.html, m.data.toString('utf8')].join('\n'), PUPIL.surname)).toBe(false);
    }
    expect(mentions(gw.output(), PUPIL.surname)).toBe(false);
  });

  let ref2 = '';
  let raw2: Buffer;

  it('killed in the middle of DATA: nothing half-stored; the upstream retry is held once (and --business-manager is honoured)', async () => {
    const before = (await listIncidents(store.db)).length;
    raw2 = nhsNumberMessage();
    const c = await RawSmtp.connect(gw!.port);
    await c.read();
    await c.command('EHLO exchange.oakfield.sch.uk');
    await c.command(`MAIL FROM:<${TEACHER}>`);
    await c.command(`RCPT TO:<${OUTSIDER}>`);
    expect((await c.command('DATA')).code).toBe(354);
    c.write(raw2.subarray(0, 200));
    await new Promise((r) => setTimeout(r, 200));
    await gw!.crash();
    await c.waitClosed();
    expect(await listIncidents(store.db)).toHaveLength(before);

    gw = await spawnServe(configFile, ['--business-manager', HEAD]);
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], raw2);
    expect(r.code).toBe(250);
    ref2 = /(HM-\d{4}-\d{6})/.exec(r.response)![1];
    expect(await listIncidents(store.db)).toHaveLength(before + 1);
    await waitFor('the head to be told', () => to(HEAD).length === 1 || undefined, 30_000);
  });

  it('released from the CLI while the gateway is down: delivered once, unchanged, and not again when the gateway comes back', async () => {
    await gw!.crash();
    gw = undefined;
    const r = await cli(['quarantine', 'release', ref1, '--reason', 'Coach company needs it for first aid', '--as', 'Sarah Jones', '--config', configFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(to(OUTSIDER)).toHaveLength(1);
    expect(Buffer.compare(splitTrace(to(OUTSIDER)[0].data).rest, raw1)).toBe(0);
    gw = await spawnServe(configFile);
    await settle();
    expect(to(OUTSIDER)).toHaveLength(1);
  });

  it('a release queued for the gateway survives its crash and is delivered once by the restarted gateway', async () => {
    await gw!.crash();
    const r = await cli(['quarantine', 'release', ref2, '--queue-only', '--reason', 'checked with the head', '--as', 'Sarah Jones', '--config', configFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('The running gateway will deliver it.');
    expect(to(OUTSIDER)).toHaveLength(1);
    gw = await spawnServe(configFile);
    await waitFor('the queued release', () => to(OUTSIDER).length === 2 || undefined, 30_000);
    expect(Buffer.compare(splitTrace(to(OUTSIDER)[1].data).rest, raw2)).toBe(0);
    await waitFor('the release marked sent', async () => (await outboxFor(store.db, ref2)).find((x) => x.job === 'release')?.status === 'sent');
    await gw.crash();
    gw = await spawnServe(configFile);
    await settle();
    expect(to(OUTSIDER)).toHaveLength(2);
  });

  it('a blocked attempt and a rejection made while the gateway is down: each sender notice goes out once', async () => {
    const b = await sendRaw(gw!.port, TEACHER, [OUTSIDER], nameInSubjectMessage());
    expect(b.code).toBe(250);
    const blocked = /(HM-\d{4}-\d{6})/.exec(b.response)![1];
    expect(await findIncident(store.db, blocked)).toMatchObject({ kind: 'near-miss', rules: ['pupil-name-in-subject'] });
    const q = await sendRaw(gw!.port, TEACHER, [OUTSIDER], nhsNumberMessage());
    const ref3 = /(HM-\d{4}-\d{6})/.exec(q.response)![1];
    await waitFor('the notices for both', async () => {
      const rows = [...await outboxFor(store.db, blocked), ...await outboxFor(store.db, ref3)].filter((x) => x.mode === 'immediate');
      return rows.length > 0 && rows.every((x) => x.status === 'sent');
    });
    await gw!.crash();
    const rej = await cli(['quarantine', 'reject', ref3, '--reason', 'NHS number must not go by email', '--as', 'Sarah Jones', '--config', configFile]);
    expect(rej.status, rej.stderr).toBe(0);
    const count = async (subject: string) => (await Promise.all(sink.messages.map((m) => simpleParser(m.data)))).filter((p) => p.subject === subject).length;
    const rejected = `Your held email will not be sent (${ref3})`;
    expect(await count(rejected)).toBe(0); // queued, the gateway is down
    gw = await spawnServe(configFile);
    await waitFor('the rejection notice', async () => (await count(rejected)) === 1 || undefined, 30_000);
    await gw.crash();
    gw = await spawnServe(configFile);
    await settle();
    expect(await count(rejected)).toBe(1);
    expect(await count(`Your email was not sent: please fix it and send it again (${blocked})`)).toBe(1);
    expect(to(OUTSIDER)).toHaveLength(2); // only the two releases ever reached the outside
    expect(await gw.stop()).toBe(0);
    gw = undefined;
  });
});
