// Several schools in one gateway, one quarantine: every incident records its school; every notice
// speaks as that school (its name, its notifications_from, its own templates, its own business
// manager, the trust's where the school has none); a digest never mixes two schools; the CLI
// lists, filters and exports by school; and incidents from before schools existed belong to the
// single school. On SQLite and on PostgreSQL.
import { csvCells } from '../src/review/register.ts';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import { stringify } from 'yaml';
import { Migrator, type Migration } from 'kysely/migration';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { loadConfig, type Config } from '../src/config/index.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';
import { loadTenants } from '../src/tenants.ts';
import { noticeDirectory } from '../src/act/notify/schools.ts';
import { SHIPPED_TEMPLATES } from '../src/act/notify/settings.ts';
import { createOutboxWorker } from '../src/act/notify/worker.ts';
import { createDeliverer } from '../src/act/deliver.ts';
import { holdMessage } from '../src/act/hold.ts';
import { openStore } from '../src/store/index.ts';
import { migrations } from '../src/store/migrations.ts';
import { findIncident, listIncidents } from '../src/store/incidents.ts';
import { outboxFor } from '../src/store/outbox.ts';
import type { ReceivedMessage } from '../src/types.ts';
import { startSink, type Sink } from './helpers/smtp.ts';
import { BACKENDS, cli, createStorage, quarantineVerdict, schoolMessage, sendRaw, waitFor, type TestStorage } from './quarantine-helpers.ts';

/** Each school, its pupil (in its own roster only), and who hears about its held mail. */
const SCHOOLS = {
  oakfield: { name: 'Oakfield Primary', pupil: ['Thornbury', 'Amelia'], bm: 'bm@oakfield.sch.uk', from: 'hallmonitor@oakfield.sch.uk' },
  elmwood: { name: 'Elmwood Academy', pupil: ['Okonkwo', 'Chidi'], bm: 'bm@elmwood.sch.uk', from: 'alerts@elmwood.sch.uk' },
  // Birch and Cedar set neither: the trust's data-protection officer hears, from the trust's address.
  birch: { name: 'Birch Primary', pupil: ['Fairweather', 'Grace'], bm: 'dpo@trust.example.org', from: 'hallmonitor@trust.example.org' },
  cedar: { name: 'Cedar Infants', pupil: ['Ashdown', 'Priya'], bm: 'dpo@trust.example.org', from: 'hallmonitor@trust.example.org' },
} as const;
type SchoolId = keyof typeof SCHOOLS;
const IDS = Object.keys(SCHOOLS) as SchoolId[];
const ELMWOOD_SUBJECT = '[Elmwood Academy data protection]';
const TUTOR = 'tutor@learning.example';

const teacher = (id: SchoolId) => `teacher@${id}.sch.uk`;
const fullName = (id: SchoolId) => `${SCHOOLS[id].pupil[1]} ${SCHOOLS[id].pupil[0]}`;
const subjectMail = (id: SchoolId, subject: string) =>
  Buffer.from(`From: ${teacher(id)}\r\nTo: ${TUTOR}\r\nSubject: ${subject}\r\nMessage-ID: <${randomBytes(6).toString('hex')}@${id}.sch.uk>\r\n\r\nNotes to follow.\r\n`);
const addressOf = (a: ParsedMail['from'] | ParsedMail['to']) => (a && !Array.isArray(a) ? a.value[0].address : undefined);

function writeTrust(storage: TestStorage, sink: Sink): string {
  const dir = storage.dataDir;
  for (const id of IDS) {
    const [surname, forename] = SCHOOLS[id].pupil;
    writeFileSync(path.join(dir, `${id}.csv`), `UPN,Legal Surname,Legal Forename,Primary Contact Email\nQ82345678901${IDS.indexOf(id)},${surname},${forename},family${IDS.indexOf(id)}@gmail.com\n`);
  }
  // Elmwood has edited one template: its business manager's subject line.
  const templates = path.join(dir, 'elmwood-templates');
  mkdirSync(templates);
  const shipped = readFileSync(path.join(SHIPPED_TEMPLATES, 'business-manager.txt'), 'utf8');
  writeFileSync(path.join(templates, 'business-manager.txt'), shipped.replace('Subject: [Hallmonitor]', `Subject: ${ELMWOOD_SUBJECT}`));
  const school = (id: SchoolId, own: Record<string, unknown> = {}) => ({ id, name: SCHOOLS[id].name, domains: [`${id}.sch.uk`], school: { roster: path.join(dir, `${id}.csv`), ...own } });
  const file = path.join(dir, 'hallmonitor.yaml');
  writeFileSync(file, stringify({
    hostname: 'hallmonitor.trust.example.org',
    listen: '127.0.0.1:0',
    data_dir: dir,
    next_hop: { host: sink.host, port: sink.port, starttls: 'off', timeout_seconds: 5 },
    health: { listen: null },
    log: { level: 'silent' },
    relay: { allow_networks: ['127.0.0.0/8'] },
    console: { public_url: 'https://console.trust.example.org' },
    school: { business_manager: SCHOOLS.birch.bm, notifications_from: SCHOOLS.birch.from },
    policy: { rules: { 'pupil-name-in-subject': { action: 'block', notify: 'immediate' }, 'unencrypted-sensitive-attachment': { notify: 'digest' } } },
    trust: { name: 'Example Academy Trust' },
    store: storage.store,
    tenants: [
      school('oakfield', { business_manager: SCHOOLS.oakfield.bm, notifications_from: SCHOOLS.oakfield.from }),
      { ...school('elmwood', { business_manager: SCHOOLS.elmwood.bm, notifications_from: SCHOOLS.elmwood.from, templates_dir: templates }), policy: { rules: { 'pupil-name-in-subject': { action: 'quarantine' } } } },
      school('birch'),
      school('cedar'),
    ],
  }));
  return file;
}

describe.each(BACKENDS)('several schools in one gateway (%s)', (backend) => {
  let storage: TestStorage;
  let sink: Sink;
  let file: string;
  let config: Config;
  let gateway: Gateway;
  let port: number;
  const refs = {} as Record<SchoolId, string>;
  const notices = () => sink.messages.filter((m) => m.mailFrom === '');

  beforeAll(async () => {
    storage = await createStorage(backend);
    sink = await startSink();
    file = writeTrust(storage, sink);
    config = loadConfig(file);
    gateway = await startGateway(config, { logger: pino({ level: 'silent' }), outbox: { pollMs: 200, retryBaseMs: 200, maxRetryMs: 2_000 } });
    port = gateway.receiver.address().port;
  });
  afterAll(async () => {
    await gateway?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  it('each incident records its school, and each business manager is told as their own school, From its own address', async () => {
    for (const id of ['oakfield', 'elmwood', 'birch'] as const) {
      const r = await sendRaw(port, teacher(id), [TUTOR], subjectMail(id, `Notes for ${fullName(id)}`));
      expect(r.code, r.response).toBe(250);
      refs[id] = /(HM-\d{4}-\d{6})/.exec(r.response)![1];
    }
    // Oakfield's pupil means nothing to Elmwood's roster: delivered.
    expect((await sendRaw(port, teacher('elmwood'), [TUTOR], subjectMail('elmwood', `Notes for ${fullName('oakfield')}`))).code).toBe(250);

    for (const id of ['oakfield', 'elmwood', 'birch'] as const) {
      const inc = (await findIncident(gateway.store.db, refs[id]))!;
      expect(inc.tenant).toBe(id);
      expect(inc.sender).toBe(teacher(id));
      expect(inc.action).toBe(id === 'elmwood' ? 'quarantine' : 'block');
      expect((await outboxFor(gateway.store.db, refs[id])).map((r) => r.tenant)).toEqual([id, id]);
    }

    // Two notices per incident: the school's business manager, and the teacher who sent it.
    await waitFor('six notices', () => notices().length >= 6 || undefined);
    const parsed = await Promise.all(notices().map(async (m) => ({ rcpt: m.rcptTo[0], mail: await simpleParser(m.data), raw: m.data.toString('utf8') })));
    expect(parsed).toHaveLength(6);
    for (const id of ['oakfield', 'elmwood', 'birch'] as const) {
      const mine = parsed.filter((p) => p.mail.headers.get('x-hallmonitor-reference') === refs[id]);
      expect(mine.map((p) => p.rcpt).sort()).toEqual([SCHOOLS[id].bm, teacher(id)].sort());
      for (const p of mine) {
        expect(addressOf(p.mail.from), `${id} ${p.rcpt}`).toBe(SCHOOLS[id].from);
        expect(p.mail.from!.text).toContain(`Hallmonitor (${SCHOOLS[id].name})`);
        expect(p.mail.text).toContain(SCHOOLS[id].name);
        for (const other of IDS.filter((o) => o !== id)) expect(p.raw).not.toContain(SCHOOLS[other].name);
        // No pupil's name, in any school's notice.
        for (const s of IDS) expect(p.raw.toLowerCase()).not.toContain(SCHOOLS[s].pupil[0].toLowerCase());
      }
      const bm = mine.find((p) => p.rcpt === SCHOOLS[id].bm)!;
      expect(bm.mail.text).toContain(`https://console.trust.example.org/incidents/${refs[id]}`);
      // Elmwood's own template for its business manager; the shipped ones elsewhere.
      if (id === 'elmwood') expect(bm.mail.subject).toContain(ELMWOOD_SUBJECT);
      else expect(bm.mail.subject).toMatch(/^\[Hallmonitor\] Email blocked/);
    }
    expect(parsed.filter((p) => p.mail.subject?.includes(ELMWOOD_SUBJECT))).toHaveLength(1);
  });

  it('the CLI shows, filters and exports by school, and a rejection is written as the incident’s school', async () => {
    const [all, some, csv, unknown] = await Promise.all([
      cli(['incidents', 'list', '--config', file]),
      cli(['incidents', 'list', '--school', 'elmwood,birch', '--json', '--config', file]),
      cli(['incidents', 'export', '--school', 'oakfield', '--config', file]),
      cli(['quarantine', 'list', '--school', 'nowhere', '--config', file]),
    ]);
    expect(all.status, all.stderr).toBe(0);
    for (const id of ['oakfield', 'elmwood', 'birch'] as const) {
      expect(all.stdout.split('\n').find((l) => l.startsWith(refs[id]))).toMatch(new RegExp(`^${refs[id]}\\s+${id}\\s`));
    }
    expect(some.status, some.stderr).toBe(0);
    const rows = some.stdout.trim().split('\n').map((l) => JSON.parse(l) as { reference: string; school: string; schoolName: string });
    expect(rows.map((r) => [r.reference, r.school, r.schoolName]).sort()).toEqual([
      [refs.elmwood, 'elmwood', SCHOOLS.elmwood.name], [refs.birch, 'birch', SCHOOLS.birch.name],
    ].sort());
    expect(csv.status, csv.stderr).toBe(0);
    const lines = csv.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^\ufeffreference,school_id,school,detected_at,/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(csvCells(lines[1]).slice(0, 3)).toEqual([refs.oakfield, 'oakfield', SCHOOLS.oakfield.name]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('--school: "nowhere" is not a school in this configuration (oakfield, elmwood, birch, cedar)');

    const before = notices().length;
    const rejected = await cli(['quarantine', 'reject', refs.elmwood, '--reason', 'not to be sent', '--as', 'Sarah Jones', '--config', file]);
    expect(rejected.status, rejected.stderr).toBe(0);
    await waitFor('the rejection notice', () => notices().length > before || undefined);
    const told = await simpleParser(notices()[before].data);
    expect(addressOf(told.to)).toBe(teacher('elmwood'));
    expect(addressOf(told.from)).toBe(SCHOOLS.elmwood.from);
    expect(told.text).toContain(SCHOOLS.elmwood.name);
  }, 120_000);

  it('a daily digest to an address two schools share is one email per school', async () => {
    const tenants = loadTenants(config);
    const dir = noticeDirectory(config, tenants);
    const digestSink = await startSink();
    const deliverer = createDeliverer({ host: digestSink.host, port: digestSink.port, starttls: 'off', secure: false, rejectUnauthorized: true, timeoutSeconds: 5 }, { hostname: config.hostname });
    try {
      const ctx = { store: gateway.store, notify: dir.trust.settings, notifyFor: (t: string) => dir.school(t)?.settings, hostname: config.hostname };
      const held: Record<string, string[]> = { birch: [], cedar: [] };
      for (const id of ['birch', 'cedar', 'birch'] as const) {
        const message: ReceivedMessage = {
          id: `T${randomBytes(6).toString('hex').toUpperCase()}`,
          envelope: { mailFrom: `head@${id}.sch.uk`, mailFromParams: {}, rcptTo: [{ address: TUTOR }] },
          raw: schoolMessage({ from: `head@${id}.sch.uk` }),
          receivedAt: new Date(),
          client: { address: '127.0.0.1', hostname: '', helo: 'mail', tls: false },
          tenant: id,
        };
        held[id].push((await holdMessage(ctx, message, quarantineVerdict())).reference);
      }
      for (const ref of [...held.birch, ...held.cedar]) {
        const digest = (await outboxFor(gateway.store.db, ref)).find((r) => r.mode === 'digest')!;
        expect(digest.recipient).toBe('dpo@trust.example.org');
      }
      // The digest is due tomorrow morning: a worker whose clock is two days on sends it.
      const later = new Date(Date.now() + 2 * 86_400_000);
      const worker = createOutboxWorker({ store: gateway.store, deliverer, settings: dir.trust.settings, templates: dir.trust.templates, schoolFor: dir.school, hostname: 'gw-digest', now: () => later });
      await worker.runOnce();
      const digests = await Promise.all(digestSink.messages.filter((m) => m.rcptTo[0] === 'dpo@trust.example.org').map((m) => simpleParser(m.data)));
      expect(digests).toHaveLength(2);
      for (const id of ['birch', 'cedar'] as const) {
        const d = digests.find((x) => x.text?.includes(SCHOOLS[id].name))!;
        expect(d, id).toBeDefined();
        for (const ref of held[id]) expect(d.text).toContain(ref);
        for (const ref of held[id === 'birch' ? 'cedar' : 'birch']) expect(d.text).not.toContain(ref);
        expect(d.text).not.toContain(SCHOOLS[id === 'birch' ? 'cedar' : 'birch'].name);
      }
      const listed = await listIncidents(gateway.store.db, { tenant: ['cedar'] });
      expect(listed.map((i) => i.reference)).toEqual(held.cedar);
    } finally {
      deliverer.close();
      await digestSink.close();
    }
  });
});

describe.each(BACKENDS)('migration 0002 on a register from before schools (%s)', (backend) => {
  let storage: TestStorage;
  beforeAll(async () => {
    storage = await createStorage(backend);
  });
  afterAll(async () => storage?.cleanup());

  it('existing incidents and notices belong to the single school', async () => {
    const db = new Kysely<any>({
      dialect: backend === 'postgres'
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: storage.store.database_url as string, max: 1 }) })
        : new SqliteDialect({ database: new BetterSqlite3(path.join(storage.dataDir, 'hallmonitor.db')) }),
    });
    const all = await migrations(backend).getMigrations();
    const first: Record<string, Migration> = { '0001-quarantine-incidents-outbox': all['0001-quarantine-incidents-outbox'] };
    expect((await new Migrator({ db, provider: { getMigrations: async () => first } }).migrateToLatest()).error).toBeUndefined();
    const at = new Date().toISOString();
    await db.insertInto('incidents').values({
      reference: 'HM-2026-000001', message_id: 'OLD1', detected_at: at, action: 'quarantine', kind: 'held', status: 'open', sender: 'a@oakfield.sch.uk',
      recipients: '[]', rules: '[]', severity: 3, findings: '[]', potential_breach: 0, held_by: 'gw', updated_at: at,
    }).execute();
    await db.insertInto('outbox').values({
      id: 'o1', job: 'notice', template: 'business-manager', recipient: 'bm@oakfield.sch.uk', reference: 'HM-2026-000001', mode: 'immediate', status: 'sent',
      created_at: at, next_attempt_at: at, attempts: 1, message_id_header: '<x@gw>',
    }).execute();
    await db.destroy();

    const store = await openStore(loadConfig(undefined, { dataDir: storage.dataDir }, backend === 'postgres' ? { HALLMONITOR_DATABASE_URL: storage.store.database_url as string } : {}));
    try {
      expect((await findIncident(store.db, 'HM-2026-000001'))?.tenant).toBe('school');
      expect((await outboxFor(store.db, 'HM-2026-000001'))[0].tenant).toBe('school');
      expect(await listIncidents(store.db, { tenant: ['school'] })).toHaveLength(1);
      expect(await listIncidents(store.db, { tenant: ['oakfield'] })).toHaveLength(0);
    } finally {
      await store.close();
    }
  });
});
