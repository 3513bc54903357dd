// The incident register from the command line: the breach procedure (potential breach with the
// 72-hour ICO deadline, escalation of a released message with its email to the business manager,
// closing), saving the original for an investigation (recorded), the governors' CSV export, and
// --help for every command.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { stringify } from 'yaml';
import { holdMessage } from '../src/act/hold.ts';
import { notifySettings } from '../src/act/notify/settings.ts';
import { findIncident, incidentHistory } from '../src/store/incidents.ts';
import { csvCells, REGISTER_COLUMNS } from '../src/review/register.ts';
import { startSink, type Sink } from './helpers/smtp.ts';
import {
  blockVerdict, cli, configDoc, createStorage, mentions, OUTSIDER, PUPIL, quarantineVerdict, schoolMessage, SCHOOL, startHoldingGateway, TEACHER,
  waitFor, type HoldingGateway, type TestStorage,
} from './quarantine-helpers.ts';

describe('the incident register on the command line (PostgreSQL)', () => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  let configFile: string;
  const refs: string[] = [];
  const raw = schoolMessage();

  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage('postgres');
    const parts = { storage, sink };
    gw = await startHoldingGateway({ ...parts, inspector: async () => quarantineVerdict() });
    configFile = path.join(storage.dataDir, 'hallmonitor.yaml');
    writeFileSync(configFile, stringify(configDoc(parts)));
    const ctx = { store: gw.gateway.store, notify: notifySettings(gw.config), hostname: 'gw', onQueued: () => gw.gateway.outbox.kick() };
    const msg = (from: string) => ({
      id: `R${refs.length}X${Date.now().toString(36).toUpperCase()}`,
      envelope: { mailFrom: from, mailFromParams: {}, rcptTo: [{ address: OUTSIDER }, { address: 'office@county.example.gov.uk' }] },
      raw, receivedAt: new Date(), client: { address: '127.0.0.1', hostname: '', helo: 'exchange', tls: false },
    });
    refs.push((await holdMessage(ctx, msg(TEACHER), quarantineVerdict())).reference);
    refs.push((await holdMessage(ctx, msg(TEACHER), blockVerdict())).reference);
    refs.push((await holdMessage(ctx, msg('=cmd|calc@oakfield.sch.uk'), quarantineVerdict())).reference);
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('every command has --help naming --config, and acting commands --as and --reason', async () => {
    for (const cmd of [['quarantine', 'release'], ['quarantine', 'reject'], ['incidents', 'update']]) {
      const r = await cli([...cmd, '--help']);
      expect(r.status).toBe(0);
      for (const flag of ['--config', '--as', '--reason']) expect(r.stdout).toContain(flag);
    }
    const r = await cli(['incidents', '--help']);
    for (const sub of ['list', 'show', 'export', 'update']) expect(r.stdout).toContain(sub);
    const noReason = await cli(['quarantine', 'release', refs[0], '--config', configFile]);
    expect(noReason.status).toBe(2);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
  });

  it('marks a potential breach with the ICO deadline 72 hours from detection, and closes it with a recorded outcome', async () => {
    const r = await cli(['incidents', 'update', refs[0], '--potential-breach', '--reason', 'the parent may have seen it', '--as', 'Sarah Jones', '--config', configFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${refs[0]}: open, potential breach — report to the ICO by `));
    const shown = JSON.parse((await cli(['incidents', 'show', refs[0], '--json', '--config', configFile])).stdout) as { potentialBreach: boolean; icoDeadline: string; detectedAt: string; history: Array<{ actor: string; action: string }> };
    expect(shown.potentialBreach).toBe(true);
    expect(new Date(shown.icoDeadline).getTime() - new Date(shown.detectedAt).getTime()).toBe(72 * 3_600_000);
    expect(shown.history.at(-1)).toMatchObject({ actor: 'Sarah Jones', action: 'marked-potential-breach' });
    // Still held: closing it would leave it unsent for ever and its sender never told. Decided first.
    const early = await cli(['incidents', 'update', refs[0], '--status', 'closed-no-breach', '--reason', 'nothing left the school', '--as', 'Sarah Jones', '--config', configFile]);
    expect(early.status).not.toBe(0);
    expect(early.stderr).toContain(`${refs[0]} is still held: release or reject the message first`);
    expect((await findIncident(gw.gateway.store.db, refs[0]))?.status).toBe('open');
    const rejected = await cli(['quarantine', 'reject', refs[0], '--reason', 'sent through the secure portal instead', '--as', 'Sarah Jones', '--config', configFile]);
    expect(rejected.status, rejected.stderr).toBe(0);
    const closed = await cli(['incidents', 'update', refs[0], '--status', 'closed-no-breach', '--reason', 'nothing left the school', '--as', 'Sarah Jones', '--config', configFile]);
    expect(closed.status, closed.stderr).toBe(0);
    const bad = await cli(['incidents', 'update', refs[0], '--status', 'deleted', '--config', configFile]);
    expect(bad.status).toBe(2);
  });

  it('saves the original message for an investigation and records who did', async () => {
    const file = path.join(storage.dataDir, 'original.eml');
    const r = await cli(['quarantine', 'show', refs[2], '--save', file, '--as', 'Sarah Jones', '--config', configFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(Buffer.compare(readFileSync(file), raw)).toBe(0);
    expect((await incidentHistory(gw.gateway.store.db, refs[2])).at(-1)).toMatchObject({ actor: 'Sarah Jones', action: 'message-saved' });
  });

  it('escalates a released message that turned out wrong, and the business manager is emailed the deadline', async () => {
    const rel = await cli(['quarantine', 'release', refs[2], '--reason', 'looked fine', '--as', 'Sarah Jones', '--config', configFile]);
    expect(rel.status, rel.stderr).toBe(0);
    const before = sink.messages.length;
    const esc = await cli(['incidents', 'update', refs[2], '--escalate', '--reason', 'sent to the wrong coach company', '--as', 'Sarah Jones', '--config', configFile]);
    expect(esc.status, esc.stderr).toBe(0);
    // Unmarking it and recording an ICO report in one command contradict each other: refused, nothing changed.
    const both = await cli(['incidents', 'update', refs[2], '--not-potential-breach', '--status', 'reported-to-ico', '--as', 'Sarah Jones', '--config', configFile]);
    expect(both.status).not.toBe(0);
    expect(both.stderr).toContain(`${refs[2]} is not marked as a potential breach`);
    expect(await findIncident(gw.gateway.store.db, refs[2])).toMatchObject({ status: 'released', potentialBreach: true });
    const m = await waitFor('the escalation email', async () => {
      for (const x of sink.messages.slice(before)) {
        const p = await simpleParser(x.data);
        if (p.subject?.startsWith('[Hallmonitor] Possible data breach')) return { p, x };
      }
      return undefined;
    });
    expect(m.x.rcptTo).toEqual([SCHOOL.business_manager]);
    expect(m.p.subject).toMatch(new RegExp(`Possible data breach: ${refs[2]} – report to the ICO by \\w+, \\d+ \\w+ \\d{4}, \\d{2}:\\d{2}`));
    expect(m.p.text).toContain('Sarah Jones has escalated incident');
    expect(m.p.text).toContain('HAS been delivered');
    expect(mentions([m.p.subject, m.p.text, m.p.html].join('\n'), PUPIL.surname)).toBe(false);
  });

  it("exports CSV for the governors' report: domains only by default, spreadsheet formulas neutralised", async () => {
    const r = await cli(['incidents', 'export', '--config', configFile]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toBe(`\ufeff${REGISTER_COLUMNS.join(',')}`);
    expect(lines).toHaveLength(4);
    const row = (line: string) => Object.fromEntries(REGISTER_COLUMNS.map((c, k) => [c, csvCells(line)[k]]));
    expect(row(lines[1])).toMatchObject({
      reference: refs[0], school_id: 'school', school: SCHOOL.name, type: 'held', action: 'quarantine', status: 'closed-no-breach',
      rules: 'unencrypted-sensitive-attachment', severity: '4', sender: 'oakfield.sch.uk', recipient_count: '2',
      recipients: 'coachtravel.example; county.example.gov.uk', potential_breach: 'yes', decided_by: 'Sarah Jones', last_decision: 'Closed – no breach',
    });
    expect(row(lines[1]).detected_at).toMatch(/^\d{4}-.*Z$/);
    expect(row(lines[2])).toMatchObject({ reference: refs[1], type: 'blocked (near miss)', action: 'block', status: 'open', rules: 'pupil-name-in-subject', severity: '2' });
    expect(row(lines[3])).toMatchObject({ status: 'released', last_decision: 'Escalated' });
    expect(r.stdout).not.toContain(TEACHER);
    const file = path.join(storage.dataDir, 'register.csv');
    const full = await cli(['incidents', 'export', '--with-addresses', '--output', file, '--config', configFile]);
    expect(full.stderr).toContain(`3 incident(s) written to ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(TEACHER);
    expect(text).toContain(`"${OUTSIDER}; office@county.example.gov.uk"`);
    expect(text).toContain(`"'=cmd|calc@oakfield.sch.uk"`); // a formula-looking sender cannot run in Excel
    expect(mentions(text, PUPIL.surname)).toBe(false);
  });
});
