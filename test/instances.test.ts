// Many instances, one store (issue 9): three `hallmonitor serve` processes on loopback share one
// fresh PostgreSQL database, serve three schools with the real policy and rosters, and relay to
// one next hop. The test plays the schools' mail server: it sends a mix of mail that is delivered,
// quarantined and blocked through all three instances at once, and, as Postfix does with a list of
// relay hosts, resends through another instance whatever did not get a 250 (a 4xx, a refused
// connection, a connection lost mid-transaction).
//
// Mid-way, one instance is SIGKILLed while it is in the middle of three transactions at once:
//   - a held message whose store transaction has taken its reference and written the incident
//     and is waiting (on a table lock the test holds) to write the message itself: it must roll
//     back, reference included;
//   - a message half-way through DATA from the school's server;
//   - a clean message the next hop has received in full but not yet answered (the next hop is
//     made slow for that instance): like a real MTA, the next hop discards a message whose
//     client went away before it said 250.
// and its outbox worker is sending a notice the next hop has not answered yet: another instance
// takes the notices over when the lease runs out.
//
// Then every message must be delivered exactly once or held exactly once, every notice sent
// exactly once (per outbox row and Message-ID), no incident lost, references unique and
// gap-free. The only duplicate SMTP allows is a message the next hop accepted (said 250 to the
// instance) just before the instance died, so the school's server never heard the 250 and sent it
// again; a duplicate is accepted only when the records prove exactly that (see `provenRetry`).
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { stringify } from 'yaml';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { RawSmtp } from './helpers/smtp.ts';
import { createStorage, sendRaw, spawnServe, waitFor, type ServeProcess, type TestStorage } from './quarantine-helpers.ts';

const SCHOOLS = {
  oakfield: { name: 'Oakfield Primary', pupil: ['Thornbury', 'Amelia'], from: 'hallmonitor@oakfield.sch.uk', bm: 'bm@oakfield.sch.uk' },
  elmwood: { name: 'Elmwood Academy', pupil: ['Okonkwo', 'Chidi'], from: 'alerts@elmwood.sch.uk', bm: 'bm@elmwood.sch.uk' },
  birch: { name: 'Birch Primary', pupil: ['Fairweather', 'Grace'], from: 'hallmonitor@trust.example.org', bm: 'dpo@trust.example.org' },
} as const;
type SchoolId = keyof typeof SCHOOLS;
const IDS = Object.keys(SCHOOLS) as SchoolId[];
const OUTSIDER = 'bookings@coachtravel.example';
const INSTANCES = 3;
const VICTIM = 0;
const hostOf = (i: number) => `gw-${i + 1}.trust.example.org`;

type Kind = 'deliver' | 'quarantine' | 'block';

interface TestMessage {
  n: number;
  token: string;
  school: SchoolId;
  kind: Kind;
  from: string;
  raw: Buffer;
  /** The instance the school's server tries first. */
  first: number;
}

interface Attempt { instance: number; start: number; end: number; code: number | null; response: string }

// ---------------------------------------------------------------------------------------------
// The school's side
// ---------------------------------------------------------------------------------------------

function message(n: number, school: SchoolId, kind: Kind, first: number): TestMessage {
  const token = `inst-${n}-${randomBytes(4).toString('hex')}`;
  const from = `teacher${n}@${school}.sch.uk`;
  const [surname, forename] = SCHOOLS[school].pupil;
  const subject = kind === 'block' ? `${forename} ${surname} - trip consent form` : kind === 'quarantine' ? 'Medical details for Thursday' : 'Coach times for Thursday';
  const body = kind === 'quarantine'
    ? `Hi, ${forename} ${surname} has asthma; her NHS number is 943 476 5919 in case of emergency on the coach.`
    : kind === 'block' ? `Hi, the consent form for Thursday has come back signed.` : 'Hi, the coach leaves at 9:15 from the front gate and returns by 3pm. Thanks for arranging it.';
  const raw = Buffer.from([
    `From: Teacher ${n} <${from}>`,
    `To: ${OUTSIDER}`,
    `Subject: ${subject}`,
    'Date: Tue, 24 Nov 2026 16:02:11 +0000',
    `Message-ID: <${token}@${school}.sch.uk>`,
    `X-Test-Id: ${token}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    'Thanks',
    '',
  ].join('\r\n'));
  return { n, token, school, kind, from, raw, first };
}

const has = (buf: Buffer | null | undefined, token: string) => !!buf && buf.indexOf(token) >= 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The next hop: accepts a message only if its client is still there when it says 250
// ---------------------------------------------------------------------------------------------

interface HopCopy { ehlo: string; mailFrom: string; rcptTo: string[]; data: Buffer; at: number }

async function startNextHop() {
  const accepted: HopCopy[] = [];
  const dropped: HopCopy[] = [];
  const holding: Array<{ copy: HopCopy; socket?: net.Socket; finish: () => void }> = [];
  const sockets = new Map<number, net.Socket>();
  const dead = new WeakSet<net.Socket>();
  let holdFrom: string | null = null;
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail = session.envelope.mailFrom;
        const copy: HopCopy = {
          ehlo: session.hostNameAppearsAs,
          mailFrom: mail ? mail.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks),
          at: 0,
        };
        const socket = sockets.get(session.remotePort);
        const finish = () => {
          copy.at = Date.now();
          // A real MTA commits a message only when it answers the final dot; a client that went
          // away before then never hears 250, and the message is discarded.
          if (!socket || dead.has(socket) || socket.destroyed) {
            dropped.push(copy);
            return cb(new Error('client gone'));
          }
          accepted.push(copy);
          cb(null, 'Ok: queued');
        };
        if (holdFrom && copy.ehlo === holdFrom) holding.push({ copy, socket, finish });
        else finish();
      });
    },
  });
  server.server.on('connection', (s: net.Socket) => {
    const port = s.remotePort!;
    sockets.set(port, s);
    const gone = () => dead.add(s);
    s.on('end', gone);
    s.on('close', gone);
    s.on('error', gone);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    accepted,
    dropped,
    holding,
    /** Keep every message from this client (by EHLO name) waiting for its 250. */
    slowFor(ehlo: string | null) {
      holdFrom = ehlo;
    },
    /** Messages waiting for their 250 whose client is still connected. */
    waiting: () => holding.filter((h) => h.socket && !dead.has(h.socket) && !h.socket.destroyed).map((h) => h.copy),
    /** Answer everything that waited (a client that went away in between loses its message). */
    releaseAll() {
      holdFrom = null;
      for (const h of holding.splice(0)) h.finish();
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets.values()) s.destroy();
      server.close(() => r());
    }),
  };
}

// ---------------------------------------------------------------------------------------------

describe('three gateway instances sharing one PostgreSQL database', () => {
  let storage: TestStorage;
  let hop: Awaited<ReturnType<typeof startNextHop>>;
  const gws: Array<ServeProcess | undefined> = [];
  let pool: pg.Pool;
  let databaseUrl: string;

  beforeAll(async () => {
    storage = await createStorage('postgres');
    databaseUrl = storage.store.database_url as string;
    pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
    // The database is dropped WITH (FORCE) at the end: a client still closing then hears
    // "terminating connection due to administrator command", which must not be an uncaught error.
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
    hop = await startNextHop();
    const dir = storage.dataDir;
    for (const id of IDS) {
      const [surname, forename] = SCHOOLS[id].pupil;
      writeFileSync(path.join(dir, `${id}.csv`), `UPN,Legal Surname,Legal Forename,Primary Contact Email\nQ82345678901${IDS.indexOf(id)},${surname},${forename},family${IDS.indexOf(id)}@gmail.com\n`);
    }
    const files: string[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const own = path.join(dir, `gw-${i + 1}`);
      mkdirSync(own);
      const file = path.join(own, 'hallmonitor.yaml');
      writeFileSync(file, stringify({
        hostname: hostOf(i),
        listen: '127.0.0.1:0',
        data_dir: own,
        next_hop: { host: hop.host, port: hop.port, starttls: 'off', timeout_seconds: 6 },
        health: { listen: null },
        log: { level: 'info' },
        relay: { allow_networks: ['127.0.0.0/8'] },
        school: { business_manager: SCHOOLS.birch.bm, notifications_from: SCHOOLS.birch.from },
        policy: { rules: { 'pupil-name-in-subject': { action: 'block', notify: 'immediate' }, 'identifier-in-message': { notify: 'immediate' } } },
        trust: { name: 'Example Academy Trust' },
        // Each instance names its database sessions, so the test can see which one is waiting.
        store: { database_url: `${databaseUrl}?application_name=gw-${i + 1}`, outbox_retry_seconds: 1, outbox_lease_seconds: 8 },
        tenants: IDS.map((id) => ({
          id,
          name: SCHOOLS[id].name,
          domains: [`${id}.sch.uk`],
          school: { roster: path.join(dir, `${id}.csv`), ...(id === 'birch' ? {} : { business_manager: SCHOOLS[id].bm, notifications_from: SCHOOLS[id].from }) },
          ...(id === 'elmwood' ? { policy: { rules: { 'pupil-name-in-subject': { action: 'quarantine' } } } } : {}),
        })),
      }));
      files.push(file);
    }
    // All three start at once against the empty database.
    gws.push(...(await Promise.all(files.map((f) => spawnServe(f)))));
  }, 120_000);

  afterAll(async () => {
    for (const g of gws) await g?.stop().catch(() => undefined);
    await pool?.end();
    await hop?.close();
    await storage?.cleanup();
  });

  it('mail sent through all three while one is killed mid-transaction: delivered or held exactly once, every notice once, no incident lost', async () => {
    const attempts = new Map<string, Attempt[]>();
    const final = new Map<string, { code: number; response: string; instance: number }>();

    /** The school's server: try an instance, and on anything but a final answer try the next one. */
    async function deliver(m: TestMessage, firstAttempt?: () => Promise<Attempt>): Promise<void> {
      const log: Attempt[] = [];
      attempts.set(m.token, log);
      let instance = m.first;
      for (let tries = 0; tries < 12; tries++) {
        let a: Attempt;
        if (tries === 0 && firstAttempt) a = await firstAttempt();
        else {
          const start = Date.now();
          const port = gws[instance]!.port;
          try {
            const r = await sendRaw(port, m.from, [OUTSIDER], m.raw);
            a = { instance, start, end: Date.now(), code: r.code, response: r.response };
          } catch (err) {
            a = { instance, start, end: Date.now(), code: null, response: (err as Error).message };
          }
        }
        log.push(a);
        if (a.code !== null && a.code < 400) {
          final.set(m.token, { code: a.code, response: a.response, instance: a.instance });
          return;
        }
        if (a.code !== null && a.code >= 500) throw new Error(`${m.token}: refused ${a.code} ${a.response}`);
        // 4xx or no answer: the school's server queues it and tries the next relay host.
        instance = (a.instance + 1) % INSTANCES;
        await sleep(100);
      }
      throw new Error(`${m.token}: not accepted after 12 tries: ${JSON.stringify(log)}`);
    }

    // The corpus: every school, every outcome, first offered to every instance.
    const kinds: Kind[] = ['deliver', 'quarantine', 'block'];
    const corpus: TestMessage[] = [];
    for (let n = 0; n < 45; n++) corpus.push(message(n, IDS[n % 3], kinds[Math.floor(n / 3) % 3], Math.floor(n / 9) % 3));
    // Six at a time, as a busy school server would.
    const queue = [...corpus];
    let done = 0;
    let busy = 0;
    let gate: { wait: Promise<void>; open(): void } | undefined;
    const senders = Array.from({ length: 6 }, async () => {
      for (;;) {
        while (gate) await gate.wait;
        const m = queue.shift();
        if (!m) return;
        busy++;
        await deliver(m).finally(() => busy--);
        done++;
      }
    });

    // ------------------------------------------------------------------ kill one, mid-transaction
    await waitFor('a third of the mail through', () => done >= 15 || undefined, 30_000);
    const victim = gws[VICTIM]!;
    const probes = {
      // Held, and stuck in its store transaction when the instance dies.
      inHold: message(100, 'oakfield', 'quarantine', VICTIM),
      // Half-way through DATA from the school's server.
      inData: message(101, 'elmwood', 'block', VICTIM),
      // Received in full by the next hop, not yet answered.
      atNextHop: message(102, 'birch', 'deliver', VICTIM),
    };
    // Held by the victim before it dies; its worker is sending the notices when it does.
    const noticed: TestMessage[] = [];
    const probeRuns: Array<Promise<void>> = [];

    // 1. A lock on the held messages: every hold transaction takes its reference and writes its
    //    incident, then waits to write the message. (Notices and their bookkeeping do not touch
    //    that table, so the outbox keeps working.)
    //    The school's server pauses for a moment so that the victim's hold is the one that gets
    //    there first (the others would queue behind it for the reference counter).
    let open!: () => void;
    gate = { wait: new Promise<void>((r) => (open = r)), open: () => { gate = undefined; open(); } };
    await waitFor('the school server idle', () => busy === 0 || undefined, 15_000);

    // 0. The next hop goes slow for the victim (for everything it sends from now on). A message
    //    the victim holds: its outbox worker claims the two notices at once and starts sending.
    //    The victim's worker hears of its own hold at once; the others look every few seconds, so
    //    now and then one of them claims the notices first. Another message is then held, until
    //    it is the victim's worker that is sending.
    hop.slowFor(hostOf(VICTIM));
    let noticeAtHop: HopCopy | undefined;
    while (!noticeAtHop) {
      if (noticed.length === 3) throw new Error('another instance claimed the victim’s notices three times running');
      const m = message(103 + noticed.length, 'birch', 'quarantine', VICTIM);
      noticed.push(m);
      await deliver(m);
      expect(final.get(m.token)!.instance).toBe(VICTIM);
      const sending = await waitFor('the victim’s worker sending a notice, or another instance having claimed them', async () => {
        const atHop = hop.waiting().find((c) => c.mailFrom === '' && c.ehlo === hostOf(VICTIM));
        if (atHop) return atHop;
        const claims = (await pool.query<{ claimed_by: string | null }>(
          'select o.claimed_by from outbox o join incidents i on i.reference = o.reference where i.sender = $1', [m.from])).rows;
        return claims.length > 0 && claims.every((c) => c.claimed_by && !c.claimed_by.startsWith(`${hostOf(VICTIM)}:`)) ? 'elsewhere' : undefined;
      }, 10_000);
      if (sending !== 'elsewhere') noticeAtHop = sending;
    }
    const noticeSeenAt = Date.now();

    const locker = await pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE held_messages IN SHARE MODE');
    const lockedAt = Date.now();
    probeRuns.push(deliver(probes.inHold));
    const waiting = await waitFor('the victim waiting inside a hold transaction', async () => {
      const r = await pool.query<{ query: string }>(
        "select query from pg_stat_activity where application_name = 'gw-1' and wait_event_type = 'Lock' and state = 'active' and query ilike 'insert into%'");
      return r.rows.length ? r.rows.map((x) => /^insert into "(\w+)"/.exec(x.query)?.[1]) : undefined;
    }, 15_000);
    expect(waiting).toEqual(['held_messages']);

    // 2. A transaction stopped half-way through DATA.
    let halfSent = false;
    probeRuns.push(deliver(probes.inData, async () => {
      const start = Date.now();
      const s = await RawSmtp.connect(victim.port);
      const steps = [await s.read(), await s.command('EHLO mail.elmwood.sch.uk'), await s.command(`MAIL FROM:<${probes.inData.from}>`), await s.command(`RCPT TO:<${OUTSIDER}>`), await s.command('DATA')];
      expect(steps.map((r) => r.code)).toEqual([220, 250, 250, 250, 354]);
      s.write(probes.inData.raw.subarray(0, probes.inData.raw.length >> 1));
      halfSent = true;
      await s.waitClosed(30_000);
      return { instance: VICTIM, start, end: Date.now(), code: null, response: 'connection lost during DATA' };
    }));
    await waitFor('half the message sent', () => halfSent || undefined, 5_000);
    await sleep(100);

    // 3. A clean message the next hop has in full, waiting for its 250.
    probeRuns.push(deliver(probes.atNextHop));
    await waitFor('the next hop holding the victim’s message', () => hop.holding.some((h) => has(h.copy.data, probes.atNextHop.token)) || undefined, 10_000);

    // The school's server carries on: mail is in flight through all three when the victim dies.
    gate.open();
    await waitFor('mail in flight again', () => busy >= 3 || undefined, 5_000);
    await sleep(150);
    // Still waiting at the next hop, both of them, when the victim dies.
    expect(hop.waiting().some((c) => has(c.data, probes.atNextHop.token))).toBe(true);
    expect(hop.waiting()).toContain(noticeAtHop);
    const killedAt = Date.now();
    await victim.crash();
    // The victim's sockets are closed by the kernel; once the next hop has seen them go, everything unblocks.
    await waitFor('the next hop seeing the victim’s connections close', () => !hop.waiting().some((c) => c.ehlo === hostOf(VICTIM)) || undefined, 10_000);
    await locker.query('ROLLBACK');
    locker.release();
    hop.releaseAll();

    await Promise.all([...senders, ...probeRuns]);
    const messages = [...corpus, ...Object.values(probes), ...noticed];

    // The three probes were really caught mid-transaction on the victim, and were resent.
    expect(hop.dropped.filter((c) => has(c.data, probes.atNextHop.token)).map((c) => c.ehlo)).toEqual([hostOf(VICTIM)]);
    for (const p of Object.values(probes)) {
      const log = attempts.get(p.token)!;
      expect(log[0]).toMatchObject({ instance: VICTIM, code: null });
      expect(final.get(p.token)!.instance).not.toBe(VICTIM);
    }

    // ------------------------------------------------------------------ wait for the notices
    // The victim's leases on notices it was sending run out (8 s) and another instance sends them.
    await waitFor('every notice sent', async () => {
      const r = await pool.query<{ n: string }>("select count(*) as n from outbox where status <> 'sent'");
      return Number(r.rows[0].n) === 0 || undefined;
    }, 40_000);
    await sleep(500);

    // ------------------------------------------------------------------ the checks
    const incidents = (await pool.query<{ reference: string; tenant: string; held_by: string; action: string; sender: string; detected_at: string }>(
      'select reference, tenant, held_by, action, sender, detected_at from incidents order by reference')).rows;
    const held = (await pool.query<{ reference: string; raw: Buffer }>('select reference, raw from held_messages')).rows;
    const outbox = (await pool.query<{ id: string; reference: string; tenant: string; recipient: string; template: string; status: string; attempts: number; message_id_header: string; claimed_by: string }>(
      'select id, reference, tenant, recipient, template, status, attempts, message_id_header, claimed_by from outbox')).rows;
    const incidentOf = new Map(incidents.map((i) => [i.reference, i]));
    const relayed = hop.accepted.filter((c) => c.mailFrom !== '');
    const notices = hop.accepted.filter((c) => c.mailFrom === '');

    /**
     * The one duplicate SMTP cannot avoid: the first copy reached its destination through the
     * victim before the kill (the next hop said 250 to it, or its hold committed), and the
     * school's attempt through the victim ended with no answer, so the school sent it again
     * through another instance. Anything else is a double delivery.
     */
    const provenRetry = (m: TestMessage, firstBy: string, firstAt: number): boolean => {
      const log = attempts.get(m.token)!;
      const lost = log.findIndex((a) => a.instance === VICTIM && a.code === null && a.start <= firstAt && a.end >= killedAt);
      return firstBy === hostOf(VICTIM) && firstAt <= killedAt && lost >= 0 && lost < log.length - 1;
    };

    let provenDuplicates = 0;
    const expected: Record<SchoolId, Record<Kind, string>> = {
      oakfield: { deliver: 'deliver', quarantine: 'quarantine', block: 'block' },
      elmwood: { deliver: 'deliver', quarantine: 'quarantine', block: 'quarantine' },
      birch: { deliver: 'deliver', quarantine: 'quarantine', block: 'block' },
    };
    for (const m of messages) {
      const outcome = expected[m.school][m.kind];
      const delivered = relayed.filter((c) => has(c.data, m.token));
      const holds = held.filter((h) => has(h.raw, m.token)).map((h) => incidentOf.get(h.reference)!);
      const reply = final.get(m.token)!;
      expect(reply.code, m.token).toBe(250);
      if (outcome === 'deliver') {
        expect(holds, `${m.token} held`).toHaveLength(0);
        if (delivered.length !== 1) {
          expect(delivered, `${m.token} delivered ${delivered.length} times`).toHaveLength(2);
          expect(provenRetry(m, delivered[0].ehlo, delivered[0].at), `${m.token} delivered twice without the instance dying in between`).toBe(true);
          provenDuplicates++;
        }
        // Delivered by the instance that answered the school's final attempt.
        expect(delivered.at(-1)!.ehlo).toBe(hostOf(reply.instance));
        expect(delivered.at(-1)!.rcptTo).toEqual([OUTSIDER]);
      } else {
        expect(delivered, `${m.token} delivered`).toHaveLength(0);
        if (holds.length !== 1) {
          expect(holds, `${m.token} held ${holds.length} times`).toHaveLength(2);
          expect(provenRetry(m, holds[0].held_by, Date.parse(holds[0].detected_at)), `${m.token} held twice without the instance dying in between`).toBe(true);
          provenDuplicates++;
        }
        const inc = holds.at(-1)!;
        // The reference the school's server was given is the incident that holds the message.
        expect(reply.response).toContain(inc.reference);
        expect(inc).toMatchObject({ tenant: m.school, action: outcome, sender: m.from, held_by: hostOf(reply.instance) });
      }
    }
    // The victim's open hold transactions left nothing behind: every hold begun after the lock
    // waited for it, and only the survivors' committed; the probe was held once, elsewhere.
    expect(incidents.filter((i) => i.held_by === hostOf(VICTIM) && Date.parse(i.detected_at) >= lockedAt)).toEqual([]);
    expect(held.filter((h) => has(h.raw, probes.inHold.token)).map((h) => incidentOf.get(h.reference)!.held_by)).not.toContain(hostOf(VICTIM));

    // No incident lost, none extra: every incident holds exactly one test message.
    expect(held).toHaveLength(incidents.length);
    const heldTokens = held.map((h) => messages.filter((m) => has(h.raw, m.token)).map((m) => m.token));
    expect(heldTokens.every((t) => t.length === 1)).toBe(true);
    expect(incidents.length).toBe(messages.filter((m) => expected[m.school][m.kind] !== 'deliver').length + provenDuplicates);
    // References: unique and gap-free across the three instances (the killed transaction's
    // counter increment rolled back with it).
    const numbers = incidents.map((i) => Number(i.reference.slice(-6))).sort((a, b) => a - b);
    expect(numbers).toEqual(numbers.map((_, k) => k + 1));
    // Every instance did its share before the kill.
    for (let i = 0; i < INSTANCES; i++) {
      expect(incidents.some((x) => x.held_by === hostOf(i)) || relayed.some((c) => c.ehlo === hostOf(i)), hostOf(i)).toBe(true);
    }

    // Every notice exactly once: two per incident (its school's business manager and the
    // teacher), each sent once with its own Message-ID, as its school.
    expect(outbox).toHaveLength(2 * incidents.length);
    for (const inc of incidents) {
      expect(outbox.filter((o) => o.reference === inc.reference).map((o) => o.recipient).sort()).toEqual([SCHOOLS[inc.tenant as SchoolId].bm, inc.sender].sort());
    }
    const byMessageId = new Map<string, typeof notices>();
    const parsed = await Promise.all(notices.map(async (c) => ({ copy: c, mail: await simpleParser(c.data) })));
    for (const p of parsed) {
      const id = p.mail.messageId!;
      byMessageId.set(id, [...(byMessageId.get(id) ?? []), p.copy]);
    }
    let noticeDuplicates = 0;
    for (const row of outbox) {
      expect(row.status).toBe('sent');
      const copies = byMessageId.get(row.message_id_header) ?? [];
      if (copies.length !== 1) {
        // The outbox's one window: the next hop took the notice from the victim's worker, which
        // died before recording it sent; the lease ran out and another instance sent it again
        // with the same Message-ID.
        expect(copies, `${row.template} for ${row.reference} sent ${copies.length} times`).toHaveLength(2);
        expect(copies[0].ehlo).toBe(hostOf(VICTIM));
        expect(copies[0].at).toBeLessThanOrEqual(killedAt);
        expect(copies[1].ehlo).not.toBe(hostOf(VICTIM));
        expect(row.attempts).toBeGreaterThanOrEqual(2);
        noticeDuplicates++;
      }
      expect(copies.at(-1)!.rcptTo).toEqual([row.recipient]);
      expect(row.claimed_by.startsWith(`${copies.at(-1)!.ehlo}:`)).toBe(true);
    }
    expect(byMessageId.size).toBe(outbox.length);
    // The notices the victim was sending when it died: the next hop discarded its copy, the lease
    // ran out, and another instance sent each of them, once.
    expect(hop.dropped).toContain(noticeAtHop);
    // The notice the victim's worker had at the next hop when it died (whichever incident it was
    // for): the lease ran out, another instance claimed it and sent it, once.
    const droppedId = (await simpleParser(noticeAtHop.data)).messageId;
    const takenOver = outbox.find((o) => o.message_id_header === droppedId);
    expect(takenOver, 'the notice the victim was sending is in the outbox').toBeDefined();
    expect(takenOver!.attempts).toBeGreaterThanOrEqual(2);
    expect(takenOver!.claimed_by.startsWith(`${hostOf(VICTIM)}:`)).toBe(false);
    expect(byMessageId.get(takenOver!.message_id_header)).toHaveLength(1);
    expect(notices).toHaveLength(outbox.length + noticeDuplicates);
    // Each notice speaks as the incident's school.
    for (const p of parsed) {
      const inc = incidentOf.get(String(p.mail.headers.get('x-hallmonitor-reference')))!;
      const school = SCHOOLS[inc.tenant as SchoolId];
      expect(p.mail.from && !Array.isArray(p.mail.from) ? p.mail.from.value[0].address : '').toBe(school.from);
      expect(p.mail.text).toContain(school.name);
    }
    // Say what happened, for whoever reads the test output.
    console.info(`instances: ${messages.length} messages (${relayed.length} relayed, ${incidents.length} held), ${notices.length} notices; ` +
      `retried after the kill: ${[...attempts.values()].filter((l) => l.length > 1).length}; proven duplicates: ${provenDuplicates} messages, ${noticeDuplicates} notices; ` +
      `victim's holds waiting on: ${waiting.join(', ')}; dropped by the next hop: ${hop.dropped.length}; took ${Date.now() - killedAt} ms after the kill; the victim's notice was at the next hop ${killedAt - noticeSeenAt} ms before it`);
  }, 90_000);
});
