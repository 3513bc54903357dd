// Two gateway processes sharing one PostgreSQL quarantine: references stay unique, each notice is
// sent by exactly one of them, and a message held by one is released through the other.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { findIncident, heldMessage, incidentHistory } from '../src/store/incidents.ts';
import { outboxFor } from '../src/store/outbox.ts';
import { startSink, splitTrace, type Sink } from './helpers/smtp.ts';
import {
  cli, createStorage, nhsNumberMessage, OUTSIDER, ROSTER_CSV, SCHOOL, sendRaw, spawnServe, TEACHER, waitFor, type ServeProcess, type TestStorage,
} from './quarantine-helpers.ts';

describe('two gateways sharing PostgreSQL', () => {
  let storage: TestStorage;
  const sinks: Record<'a' | 'b', Sink> = {} as never;
  const files: Record<'a' | 'b', string> = {} as never;
  const gws: Partial<Record<'a' | 'b', ServeProcess>> = {};
  let store: Store;
  const refs: Array<{ ref: string; via: 'a' | 'b'; raw: Buffer }> = [];
  const all = () => [...sinks.a.messages, ...sinks.b.messages];

  beforeAll(async () => {
    storage = await createStorage('postgres');
    const roster = path.join(storage.dataDir, 'roster.csv');
    writeFileSync(roster, ROSTER_CSV);
    for (const g of ['a', 'b'] as const) {
      sinks[g] = await startSink();
      const dir = path.join(storage.dataDir, g);
      mkdirSync(dir);
      files[g] = path.join(dir, 'hallmonitor.yaml');
      writeFileSync(files[g], stringify({
        hostname: `gw-${g}.oakfield.sch.uk`,
        listen: '127.0.0.1:0',
        data_dir: dir,
        next_hop: { host: sinks[g].host, port: sinks[g].port, starttls: 'off', timeout_seconds: 5 },
        health: { listen: null },
        relay: { allow_networks: ['127.0.0.0/8'] },
        school: { ...SCHOOL, roster },
        store: { ...storage.store, outbox_retry_seconds: 1, outbox_lease_seconds: 10 },
      }));
    }
    // Both start at once against an empty database: the migrations run exactly once.
    [gws.a, gws.b] = await Promise.all([spawnServe(files.a), spawnServe(files.b)]);
    store = await openStore(loadConfig(files.a));
  });
  afterAll(async () => {
    await gws.a?.crash().catch(() => undefined);
    await gws.b?.crash().catch(() => undefined);
    await store?.close();
    await sinks.a?.close();
    await sinks.b?.close();
    await storage?.cleanup();
  });

  it('messages held by either gateway get unique references, and each notice is sent by exactly one of them', async () => {
    for (let i = 0; i < 6; i++) {
      const via = i % 2 ? 'b' : 'a';
      const raw = nhsNumberMessage();
      const r = await sendRaw(gws[via]!.port, TEACHER, [OUTSIDER], raw);
      expect(r.code).toBe(250);
      refs.push({ ref: /held for review as (HM-\d{4}-\d{6})/.exec(r.response)![1], via, raw });
    }
    expect(refs.map((r) => Number(r.ref.slice(-6)))).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of refs) expect((await findIncident(store.db, r.ref))?.heldBy).toBe(`gw-${r.via}.oakfield.sch.uk`);
    await waitFor('12 notices', () => all().length >= 12 || undefined, 30_000);
    await new Promise((res) => setTimeout(res, 2_000));
    const parsed = await Promise.all(all().map((m) => simpleParser(m.data)));
    expect(parsed).toHaveLength(12);
    expect(new Set(parsed.map((p) => p.messageId)).size).toBe(12);
    for (const r of refs) {
      expect(parsed.filter((p) => p.headers.get('x-hallmonitor-reference') === r.ref).map((p) => p.to && !Array.isArray(p.to) ? p.to.value[0].address : '').sort())
        .toEqual([SCHOOL.business_manager, TEACHER]);
    }
  });

  it('a message held by gateway A is released through gateway B’s next hop from B’s command line', async () => {
    const { ref, raw } = refs[0]; // held by A
    const list = await cli(['quarantine', 'list', '--json', '--config', files.b]);
    expect(list.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { reference: string }).reference)).toContain(ref);
    const r = await cli(['quarantine', 'release', ref, '--reason', 'checked', '--as', 'Sarah Jones', '--config', files.b]);
    expect(r.status, r.stderr).toBe(0);
    const out = sinks.b.messages.filter((m) => m.rcptTo.includes(OUTSIDER));
    expect(out).toHaveLength(1);
    expect(sinks.a.messages.filter((m) => m.rcptTo.includes(OUTSIDER))).toHaveLength(0);
    const { trace, rest } = splitTrace(out[0].data);
    expect(trace).toContain('by gw-b.oakfield.sch.uk (Hallmonitor)');
    expect(Buffer.compare(rest, raw)).toBe(0);
  });

  it('with gateway A gone, a release of a message A held is delivered by the gateway B process', async () => {
    await gws.a!.crash();
    gws.a = undefined;
    const { ref, raw } = refs[2]; // held by A
    const r = await cli(['quarantine', 'release', ref, '--queue-only', '--reason', 'agreed', '--as', 'Sarah Jones', '--config', files.a]);
    expect(r.status, r.stderr).toBe(0);
    await waitFor('gateway B to deliver it', () => sinks.b.messages.filter((m) => m.rcptTo.includes(OUTSIDER)).length === 2 || undefined, 30_000);
    const delivered = sinks.b.messages.filter((m) => m.rcptTo.includes(OUTSIDER))[1];
    expect(Buffer.compare(splitTrace(delivered.data).rest, raw)).toBe(0);
    await waitFor('the release recorded', async () => (await incidentHistory(store.db, ref)).some((h) => h.action === 'delivered'));
    expect((await outboxFor(store.db, ref)).find((x) => x.job === 'release')?.claimed_by).toMatch(/^gw-b\.oakfield\.sch\.uk:/);
    expect((await heldMessage(store.db, ref))?.raw?.length).toBe(raw.length);
  });
});
