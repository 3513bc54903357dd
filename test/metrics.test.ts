// /metrics counts what operators alert on: outcomes, next-hop failures by kind, monitor-mode
// "would have", the quarantine and outbox depth, and each school's roster.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../src/config/index.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';
import type { Verdict } from '../src/types.ts';
import { closedPort, startSink, type Sink } from './helpers/smtp.ts';
import { sendRaw } from './quarantine-helpers.ts';

let dir: string;
let sink: Sink;
let gateway: Gateway;
let next: Verdict;

const held: Verdict = { action: 'quarantine', rules: ['identifier-in-message'], severity: 4, findings: [{ rule: 'identifier-in-message', detector: 'uk-nhs-number', where: 'body', evidence: '943*******', reason: 'An NHS number' }] };
const monitor: Verdict = { action: 'deliver', wouldHaveBeen: 'block', rules: ['pupil-name-in-subject'], severity: 0, findings: [] };
const MESSAGE = Buffer.from('From: office@oakfield.sch.uk\r\nTo: a@b.example\r\nSubject: hello\r\n\r\nHello.\r\n');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hm-metrics-'));
  writeFileSync(path.join(dir, 'roster.csv'), 'Surname,Forename\nThornbury,Amelia\nOkonkwo,Chidi\n');
  sink = await startSink();
  const config = validateConfig({
    hostname: 'hallmonitor.test', listen: '127.0.0.1:0', data_dir: dir, log: { level: 'silent' },
    health: { listen: '127.0.0.1:0' },
    next_hop: { host: '127.0.0.1', port: sink.port, starttls: 'off', timeout_seconds: 5 },
    school: { domains: ['oakfield.sch.uk'], roster: path.join(dir, 'roster.csv'), business_manager: 'bm@oakfield.sch.uk' },
  }, '(test)', {}, {}, dir);
  gateway = await startGateway(config, { logger: pino({ level: 'silent' }), inspector: async () => next });
});
afterAll(async () => {
  await gateway?.stop();
  await sink?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function scrape(): Promise<string> {
  const a = gateway.health!.address();
  return (await fetch(`http://${a.host}:${a.port}/metrics`)).text();
}
const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"=]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('/metrics', () => {
  it('counts outcomes, monitor-mode would-haves, held mail and the outbox', async () => {
    next = monitor;
    expect((await sendRaw(gateway.receiver.address().port, 'office@oakfield.sch.uk', ['a@b.example'], MESSAGE)).code).toBe(250);
    next = held;
    expect((await sendRaw(gateway.receiver.address().port, 'office@oakfield.sch.uk', ['a@b.example'], MESSAGE)).code).toBe(250);
    const text = await scrape();
    expect(value(text, 'hallmonitor_messages_total{verdict="deliver"}')).toBe(1);
    expect(value(text, 'hallmonitor_messages_total{verdict="quarantine"}')).toBe(1);
    expect(value(text, 'hallmonitor_monitor_would_have_total{action="block"}')).toBe(1);
    expect(value(text, 'hallmonitor_rule_hits_total{rule="identifier-in-message"}')).toBe(1);
    expect(value(text, 'hallmonitor_quarantine_held_messages')).toBe(1);
    expect(text).toMatch(/^# TYPE hallmonitor_outbox_messages gauge$/m);
    expect(text).not.toMatch(/Thornbury|office@oakfield/);
  });

  it("reports the roster's size and when it was loaded", async () => {
    // A gateway on the real policy, with the school's roster.
    const config = validateConfig({
      hostname: 'hallmonitor.test', listen: '127.0.0.1:0', data_dir: path.join(dir, 'r'), log: { level: 'silent' },
      health: { listen: '127.0.0.1:0' }, next_hop: { host: '127.0.0.1', port: sink.port, starttls: 'off', timeout_seconds: 5 },
      school: { domains: ['oakfield.sch.uk'], roster: path.join(dir, 'roster.csv') },
    }, '(test)', {}, {}, dir);
    const before = Math.floor(Date.now() / 1000);
    const g = await startGateway(config, { logger: pino({ level: 'silent' }) });
    try {
      const a = g.health!.address();
      const text = await (await fetch(`http://${a.host}:${a.port}/metrics`)).text();
      expect(value(text, 'hallmonitor_roster_pupils')).toBe(2);
      const loaded = value(text, 'hallmonitor_roster_loaded_timestamp_seconds');
      expect(loaded).toBeGreaterThanOrEqual(before - 1);
      expect(loaded).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    } finally {
      await g.stop();
    }
  });

  it('counts next-hop failures by kind', async () => {
    const closed = await closedPort();
    const config = validateConfig({
      hostname: 'hallmonitor.test', listen: '127.0.0.1:0', data_dir: path.join(dir, 'b'), log: { level: 'silent' },
      health: { listen: '127.0.0.1:0' }, next_hop: { host: '127.0.0.1', port: closed, starttls: 'off', timeout_seconds: 5 },
    }, '(test)', {}, {}, dir);
    const g = await startGateway(config, { logger: pino({ level: 'silent' }), inspector: async () => ({ action: 'deliver', rules: [], findings: [], severity: 0 }) });
    try {
      expect((await sendRaw(g.receiver.address().port, 'office@oakfield.sch.uk', ['a@b.example'], MESSAGE)).code).toBe(451);
      const a = g.health!.address();
      const text = await (await fetch(`http://${a.host}:${a.port}/metrics`)).text();
      expect(value(text, 'hallmonitor_next_hop_failures_total{kind="unreachable"}')).toBe(1);
      expect(value(text, 'hallmonitor_messages_total{verdict="tempfail"}')).toBe(1);
    } finally {
      await g.stop();
    }
  });
});
