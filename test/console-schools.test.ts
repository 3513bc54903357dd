// The console in a trust, on both storage back ends: one gateway serves two schools (and a third
// with no mail), each school's mail is held through the real relay and the real policy, and
// console accounts belong to one school or to the whole trust. Each school's business manager sees
// only their own school's incident (queue, a direct URL to the other school's is 404 like a
// reference that never existed, register, CSV, report) and cannot release the other school's by
// bulk release; the trust's data protection officer sees both, with a school column, a school
// filter and per-school report figures; IT sees every school's roster. The queue is checked in a
// real browser (Chromium, JavaScript off), the rest over HTTP as a browser would send it.
import { csvCells } from '../src/review/register.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validateConfig } from '../src/config/index.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';
import { consoleDb } from '../src/review/console/migrations.ts';
import { addUser } from '../src/review/users.ts';
import { findIncident, incidentHistory, listIncidents } from '../src/store/incidents.ts';
import { launchBrowser, newContext, screenshot, signIn as browserSignIn } from './helpers/browser.ts';
import { startSink, splitTrace, type Sink } from './helpers/smtp.ts';
import { BACKENDS, createStorage, sendRaw, waitFor, type Backend, type TestStorage } from './quarantine-helpers.ts';
import { runCli as cli, signInForm, csrfOf } from './helpers/console.ts';

const OAKFIELD_ROSTER = 'UPN,Legal Surname,Legal Forename,Primary Contact Email\nQ823456789012,Thornbury,Amelia,k.thornbury@gmail.com\n';
const TRUST_ROSTER = 'School,UPN,Surname,Forename,Contact 1 Email\nElmwood Academy,E823456789013,Okonkwo,Chidi,okonkwo.family@hotmail.co.uk\nBirch Primary,U823456789014,Fairweather,Grace,fairweather.home@outlook.com\n';
const PASSWORD = 'a long enough password 1';
const OAK_TEACHER = 'teacher@oakfield.sch.uk';
const ELM_TEACHER = 'teacher@elmwood.sch.uk';
const TUTOR = 'tutor@learning.example';

function mail(from: string, subject: string): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: ${TUTOR}\r\nSubject: ${subject}\r\nDate: Tue, 24 Nov 2026 16:02:11 +0000\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@t>\r\n\r\nNotes to follow.\r\n`);
}

interface Session { cookie: string; csrf: string }

/** Signs in as a browser without JavaScript would, and takes the CSRF token from the queue page. */
async function signIn(base: string, username: string): Promise<Session> {
  const res = await signInForm(base, username, PASSWORD);
  expect(res.status, `sign-in of ${username}`).toBe(303);
  return { cookie: res.cookie!, csrf: await csrfOf(base, res.cookie!) };
}

async function get(base: string, s: Session, p: string): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`${base}${p}`, { headers: { cookie: s.cookie }, redirect: 'manual' });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

async function post(base: string, s: Session, p: string, fields: Array<[string, string]>): Promise<{ status: number; location: string | null; body: string }> {
  const body = new URLSearchParams([['_csrf', s.csrf], ...fields]);
  const res = await fetch(`${base}${p}`, { method: 'POST', redirect: 'manual', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, body });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}

/** The text of the header's "which school am I looking at". */
const scopeIn = (page: string) => /<a class="brand" href="\/">Hallmonitor<span>([^<]*)<\/span>/.exec(page)?.[1];

/** A CSV line's school and reference cells (registerCsv's columns 0 and 2). */
const cells = (line: string) => { const c = csvCells(line); return [c[0], c[2]]; };

describe.each(BACKENDS)('the console in a trust of schools on %s', (backend: Backend) => {
  let dir: string;
  let storage: TestStorage;
  let sink: Sink;
  let gateway: Gateway;
  let configFile: string;
  let base: string;
  let oakRef: string;
  let elmRef: string;
  let elmRef2: string;
  let bmOak: Session;
  let bmElm: Session;
  let dpo: Session;

  async function hold(from: string, subject: string, tenant: string): Promise<string> {
    const before = new Set((await listIncidents(gateway.store.db)).map((i) => i.reference));
    const r = await sendRaw(gateway.receiver.address().port, from, [TUTOR], mail(from, subject));
    expect(r.code).toBe(250);
    const inc = (await listIncidents(gateway.store.db)).find((i) => !before.has(i.reference));
    expect(inc?.status).toBe('open');
    expect(inc?.tenant).toBe(tenant);
    return inc!.reference;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hm-console-schools-'));
    writeFileSync(path.join(dir, 'oakfield.csv'), OAKFIELD_ROSTER);
    writeFileSync(path.join(dir, 'trust.csv'), TRUST_ROSTER);
    storage = await createStorage(backend);
    sink = await startSink();
    const doc = {
      hostname: 'hallmonitor.trust.test',
      listen: '127.0.0.1:0',
      data_dir: storage.dataDir,
      next_hop: { host: sink.host, port: sink.port, starttls: 'off', timeout_seconds: 5 },
      health: { listen: null },
      log: { level: 'silent' },
      relay: { allow_networks: ['127.0.0.0/8'] },
      store: storage.store,
      console: { listen: '127.0.0.1:0' },
      school: { business_manager: 'dpo@trust.example.org' },
      // A pupil's name in the subject line is held for review in every school of the trust.
      policy: { rules: { 'pupil-name-in-subject': { action: 'quarantine', notify: 'immediate' } } },
      trust: { name: 'Example Academy Trust', roster: path.join(dir, 'trust.csv') },
      tenants: [
        { id: 'oakfield', name: 'Oakfield Primary', domains: ['oakfield.sch.uk'], school: { roster: path.join(dir, 'oakfield.csv'), business_manager: 'bm@oakfield.sch.uk' } },
        { id: 'elmwood', name: 'Elmwood Academy', domains: ['elmwood.sch.uk'], school: { business_manager: 'bm@elmwood.sch.uk' } },
        { id: 'birch', name: 'Birch Primary', domains: ['birch.sch.uk'] },
      ],
    };
    configFile = path.join(dir, 'hallmonitor.yaml');
    writeFileSync(configFile, stringify(doc));
    const config = validateConfig(doc, configFile, {}, {}, storage.dataDir);
    gateway = await startGateway(config, { logger: pino({ level: 'silent' }), outbox: { pollMs: 200, retryBaseMs: 200, maxRetryMs: 2_000 } });
    base = gateway.console!.url;

    oakRef = await hold(OAK_TEACHER, 'Notes for Amelia Thornbury', 'oakfield');
    elmRef = await hold(ELM_TEACHER, 'Notes for Chidi Okonkwo', 'elmwood');
    elmRef2 = await hold(ELM_TEACHER, 'Reading group: Chidi Okonkwo', 'elmwood');

    const db = await consoleDb(gateway.store);
    for (const [username, role, tenant] of [['it.trust', 'it-admin', null], ['it.oak', 'it-admin', 'oakfield'], ['audit.elm', 'auditor', 'elmwood']] as const) {
      await addUser(db, { username, role, tenant, password: PASSWORD });
    }
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await sink?.close();
    await storage?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('`users add --school` gives an account one school (checked against the trust), --trust the whole trust, neither is refused; `users list` shows it; `users reset` moves it', async () => {
    for (const [name, school] of [['bm.oak', 'oakfield'], ['bm.elm', 'elmwood']]) {
      const r = await cli(['users', 'add', name, '--role', 'business-manager', '--school', school, '--password-stdin', '-c', configFile], `${PASSWORD}\n`);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`for ${school === 'oakfield' ? 'Oakfield Primary' : 'Elmwood Academy'} only`);
    }
    const forgot = await cli(['users', 'add', 'forgetful', '--role', 'business-manager', '--password-stdin', '-c', configFile], `${PASSWORD}\n`);
    expect(forgot.status).not.toBe(0);
    expect(forgot.stderr).toContain('say which school the account belongs to (--school ID) or that it sees every school (--trust)');
    const d = await cli(['users', 'add', 'dpo', '--role', 'business-manager', '--trust', '--name', 'Dana Patel (DPO)', '--password-stdin', '-c', configFile], `${PASSWORD}\n`);
    expect(d.status).toBe(0);
    expect(d.stdout).toContain('for the whole trust (every school)');
    const bad = await cli(['users', 'add', 'someone', '--role', 'auditor', '--school', 'ashgrove', '-c', configFile]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('"ashgrove" is not one of this trust\'s schools (oakfield, elmwood, birch)');
    const list = await cli(['users', 'list', '-c', configFile]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/USERNAME\s+ROLE\s+SCHOOL\s+PASSWORD SET\s+NAME/);
    expect(list.stdout).toMatch(/bm\.oak\s+business-manager\s+oakfield\s/);
    expect(list.stdout).toMatch(/bm\.elm\s+business-manager\s+elmwood\s/);
    expect(list.stdout).toMatch(/dpo\s+business-manager\s+\(trust\)\s+.*Dana Patel \(DPO\)/);
    expect(list.stdout).not.toContain('someone');
    expect(list.stdout).not.toContain('forgetful');
    // An account moves to another school, or to the whole trust, with `users reset`.
    await addUser(await consoleDb(gateway.store), { username: 'mover', role: 'auditor', tenant: 'oakfield', password: PASSWORD });
    const toBirch = await cli(['users', 'reset', 'mover', '--school', 'birch', '--password-stdin', '-c', configFile], `${PASSWORD}\n`);
    expect(toBirch.status).toBe(0);
    expect(toBirch.stdout).toContain('belongs to birch');
    expect((await cli(['users', 'list', '-c', configFile])).stdout).toMatch(/mover\s+auditor\s+birch\s/);
    const both = await cli(['users', 'reset', 'mover', '--school', 'birch', '--trust', '-c', configFile]);
    expect(both.status).not.toBe(0);
    expect(both.stderr).toContain('--school and --trust');
    const toTrust = await cli(['users', 'reset', 'mover', '--trust', '--password-stdin', '-c', configFile], `${PASSWORD}\n`);
    expect(toTrust.status).toBe(0);
    expect((await cli(['users', 'list', '-c', configFile])).stdout).toMatch(/mover\s+auditor\s+\(trust\)\s/);

    bmOak = await signIn(base, 'bm.oak');
    bmElm = await signIn(base, 'bm.elm');
    dpo = await signIn(base, 'dpo');
  }, 180_000); // ten runs of the real CLI, each a fresh Node process hashing a password

  it("each school's business manager sees only their own school's held mail; the header names the school", async () => {
    const oak = await get(base, bmOak, '/queue');
    expect(oak.status).toBe(200);
    expect(scopeIn(oak.body)).toBe('Oakfield Primary');
    expect(oak.body).toContain(oakRef);
    expect(oak.body).not.toContain(elmRef);
    expect(oak.body).not.toContain(elmRef2);
    expect(oak.body).not.toContain('Chidi');
    expect(oak.body).not.toContain('f-school'); // no school filter for a school's account
    const elm = await get(base, bmElm, '/queue');
    expect(scopeIn(elm.body)).toBe('Elmwood Academy');
    expect(elm.body).toContain(elmRef);
    expect(elm.body).not.toContain(oakRef);
    // A school's account asking for another school through the filter still gets only its own.
    const sneaky = await get(base, bmOak, '/queue?school=elmwood&status=all');
    expect(sneaky.body).toContain(oakRef);
    expect(sneaky.body).not.toContain(elmRef);
  });

  it("search finds a school's own incident by reference, sender or recipient, and never another school's", async () => {
    const mine = await findIncident(gateway.store.db, oakRef);
    const theirs = await findIncident(gateway.store.db, elmRef);
    const rows = (body: string) => [...body.matchAll(/<a href="\/incidents\/(HM-[0-9-]+)">/g)].map((m) => m[1]);
    for (const q of [oakRef, mine!.sender, mine!.recipients[0].split('@')[1]]) {
      expect(rows((await get(base, bmOak, `/queue?status=all&q=${encodeURIComponent(q)}`)).body), q).toEqual([oakRef]);
    }
    // the other school's reference and sender: nothing, as for words that match nothing
    for (const q of [elmRef, theirs!.sender, 'no-such-words-anywhere']) {
      const r = await get(base, bmOak, `/queue?status=all&q=${encodeURIComponent(q)}`);
      expect(rows(r.body), q).toEqual([]);
      expect(r.body).toContain('No held mail matches this search.');
    }
    // the trust's DPO finds it
    expect(rows((await get(base, dpo, `/queue?status=all&q=${encodeURIComponent(elmRef)}`)).body)).toEqual([elmRef]);
  });

  it("a direct URL to another school's incident is 404, exactly as for a reference that does not exist", async () => {
    expect((await get(base, bmOak, `/incidents/${oakRef}`)).status).toBe(200);
    const other = await get(base, bmOak, `/incidents/${elmRef}`);
    const missing = await get(base, bmOak, '/incidents/HM-2026-999999');
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(other.body).toBe(missing.body);
    expect(other.body).not.toContain(elmRef);
    for (const p of [`/incidents/${elmRef}/body.html`, `/incidents/${elmRef}/original.eml`, `/incidents/${elmRef}?show=headers`]) {
      expect((await get(base, bmOak, p)).status, p).toBe(404);
    }
    // Deciding on it is 404 too, and changes nothing.
    const release = await post(base, bmOak, `/incidents/${elmRef}/release`, [['reason', 'not my school but let us try']]);
    expect(release.status).toBe(404);
    const breach = await post(base, bmOak, `/incidents/${elmRef}/breach`, [['what_data', 'x'], ['how_many', '1'], ['recovered', 'never left'], ['who_told', 'nobody']]);
    expect(breach.status).toBe(404);
    const inc = await findIncident(gateway.store.db, elmRef);
    expect(inc?.status).toBe('open');
    expect(inc?.potentialBreach).toBe(false);
    // Nothing about the attempt reaches the other school's incident history.
    expect((await incidentHistory(gateway.store.db, elmRef)).some((h) => h.actor.includes('bm.oak'))).toBe(false);
    // A school's auditor: the same.
    const auditor = await signIn(base, 'audit.elm');
    expect((await get(base, auditor, `/incidents/${elmRef}`)).status).toBe(200);
    expect((await get(base, auditor, `/incidents/${oakRef}`)).status).toBe(404);
    const register = await get(base, auditor, '/register');
    expect(register.body).toContain(elmRef);
    expect(register.body).not.toContain(oakRef);
  });

  it("the register and its CSV hold only the school's own incidents; the trust's have a school column", async () => {
    const reg = await get(base, bmOak, '/register');
    expect(reg.body).toContain(oakRef);
    expect(reg.body).not.toContain(elmRef);
    const csv = await get(base, bmOak, '/register.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toContain('hallmonitor-incident-register-oakfield-');
    const lines = csv.body.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0].startsWith('reference,school_id,school,detected_at')).toBe(true);
    expect(lines.slice(1).map((l) => cells(l).slice(0, 2))).toEqual([[oakRef, 'Oakfield Primary']]);
    // A school's account asking for another school's CSV gets its own.
    const sneaky = await get(base, bmOak, '/register.csv?school=elmwood');
    expect(sneaky.body).not.toContain(elmRef);
    expect(sneaky.body).toContain(oakRef);

    const all = await get(base, dpo, '/register.csv');
    const rows = all.body.replace(/^\ufeff/, '').trim().split('\r\n').slice(1).map((l) => cells(l).slice(0, 2));
    expect(rows).toEqual(expect.arrayContaining([[oakRef, 'Oakfield Primary'], [elmRef, 'Elmwood Academy'], [elmRef2, 'Elmwood Academy']]));
    expect(rows).toHaveLength(3);
    const elmOnly = await get(base, dpo, '/register.csv?school=elmwood');
    expect(elmOnly.headers.get('content-disposition')).toContain('hallmonitor-incident-register-elmwood-');
    expect(elmOnly.body).not.toContain(oakRef);
    expect(elmOnly.body).toContain(elmRef);
    const page = await get(base, dpo, '/register');
    expect(page.body).toContain('<th scope="col">School</th>');
    expect(page.body).toContain('id="r-school"');
  });

  it("the report counts only the school's own incidents; the trust's DPO gets per-school figures", async () => {
    const oak = await get(base, bmOak, '/report');
    expect(oak.status).toBe(200);
    expect(oak.body).toMatch(/<span class="n">1<\/span><span class="l">emails stopped<\/span>/);
    expect(oak.body).not.toContain('id="per-school"');
    expect(oak.body).not.toContain(ELM_TEACHER);
    expect(oak.body).toContain(OAK_TEACHER);

    // The DPO releases one of Elmwood's first, so there is a time to decision.
    const released = await post(base, dpo, `/incidents/${elmRef2}/release`, [['reason', 'Checked: the tutor runs the reading group.']]);
    expect(released.status).toBe(303);
    const trust = await get(base, dpo, '/report');
    expect(scopeIn(trust.body)).toBe('Example Academy Trust – all schools');
    expect(trust.body).toMatch(/<span class="n">3<\/span><span class="l">emails stopped<\/span>/);
    expect(trust.body).toContain('id="per-school"');
    const row = (id: string) => {
      const m = new RegExp(`<table class="per-school">[\\s\\S]*?<tr data-school="${id}">([\\s\\S]*?)</tr>`).exec(trust.body);
      return m ? [...m[1].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => c[1].replace(/<[^>]+>/g, '').trim()) : null;
    };
    // School, stopped, held, near misses, potential breaches, still open, median time to a decision.
    expect(row('oakfield')?.slice(0, 6)).toEqual(['Oakfield Primary', '1', '1', '0', '0', '1']);
    expect(row('oakfield')?.[6]).toBe('–');
    expect(row('elmwood')?.slice(0, 6)).toEqual(['Elmwood Academy', '2', '2', '0', '0', '1']);
    expect(row('elmwood')?.[6]).toMatch(/^\d+ min \(1 decided\)$/);
    expect(row('birch')?.slice(0, 6)).toEqual(['Birch Primary', '0', '0', '0', '0', '0']);
    // Incidents per rule in each school.
    const perRule = /<table class="per-school-rule">([\s\S]*?)<\/table>/.exec(trust.body)?.[1] ?? '';
    expect(perRule).toContain('A pupil&#39;s name in the subject line');
    expect(perRule).toMatch(/<tr data-school="elmwood"><th scope="row">Elmwood Academy<\/th>(<td class="num">\d+<\/td>)*<td class="num">2<\/td>/);
    // Narrowed to one school: that school's figures only.
    const elm = await get(base, dpo, '/report?school=elmwood');
    expect(elm.body).toMatch(/<span class="n">2<\/span><span class="l">emails stopped<\/span>/);
    expect(elm.body).not.toContain('id="per-school"');
    expect(elm.body).toContain('Elmwood Academy:');
  });

  it("bulk release cannot touch another school's incident", async () => {
    const before = sink.messages.length;
    const r = await post(base, bmElm, '/queue/release', [['ref', oakRef], ['ref', elmRef], ['reason', 'False positive: staff names.']]);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/queue?released=1&failed=1');
    expect((await findIncident(gateway.store.db, oakRef))?.status).toBe('open');
    expect((await findIncident(gateway.store.db, elmRef))?.status).toBe('released');
    expect((await incidentHistory(gateway.store.db, oakRef)).some((h) => h.actor.includes('bm.elm'))).toBe(false);
    // Elmwood's message reaches the tutor; Oakfield's does not.
    const delivered = await waitFor("Elmwood's released message", () => sink.messages.find((m) => m.rcptTo.includes(TUTOR) && m.mailFrom === ELM_TEACHER && m.data.includes('Subject: Notes for Chidi Okonkwo')));
    expect(splitTrace(delivered.data).rest.toString()).toContain('Notes to follow.');
    await new Promise((res) => setTimeout(res, 500));
    expect(sink.messages.slice(before).some((m) => m.mailFrom === OAK_TEACHER)).toBe(false);
  });

  it('IT sees every school\'s roster (pupils, loaded at, problem); a school\'s account only its own', async () => {
    const it = await signIn(base, 'it.trust');
    const page = await get(base, it, '/system');
    expect(page.status).toBe(200);
    const table = /<table class="school-rosters">([\s\S]*?)<\/table>/.exec(page.body)?.[1] ?? '';
    for (const [id, name] of [['oakfield', 'Oakfield Primary'], ['elmwood', 'Elmwood Academy'], ['birch', 'Birch Primary']]) {
      const row = new RegExp(`<tr data-school="${id}"><th scope="row">${name}</th><td class="num">1</td><td><time datetime="[^"]+">[^<]+</time></td><td><span class="ok">none</span></td></tr>`);
      expect(table, id).toMatch(row);
    }
    expect(page.body).toContain('3 schools; <span class="ok">no roster problems</span>');
    // Accounts with their schools.
    expect(page.body).toMatch(/<td>bm\.oak<\/td><td>Business manager<\/td><td>Oakfield Primary<\/td>/);
    expect(page.body).toMatch(/<td>dpo<\/td><td>Business manager<\/td><td><span class="muted">Whole trust<\/span><\/td>/);
    // A school's IT administrator: their school's roster, incidents and accounts only.
    const itOak = await signIn(base, 'it.oak');
    const own = await get(base, itOak, '/system');
    expect(scopeIn(own.body)).toBe('Oakfield Primary');
    const ownTable = /<table class="school-rosters">([\s\S]*?)<\/table>/.exec(own.body)?.[1] ?? '';
    expect(ownTable).toContain('data-school="oakfield"');
    expect(ownTable).not.toContain('data-school="elmwood"');
    expect(own.body).not.toContain('bm.elm');
    expect(own.body).toMatch(/<span class="n">1<\/span><span class="l">incidents waiting for a decision<\/span>/);
  });

  it('in a real browser: a school\'s business manager\'s queue lists only their school; the DPO\'s lists both with the school', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const oakContext = await newContext(browser, { javaScript: false });
      const page = await oakContext.newPage();
      await browserSignIn(page, base, 'bm.oak', PASSWORD);
      expect(new URL(page.url()).pathname).toBe('/queue');
      expect(await page.locator('header .brand span').textContent()).toBe('Oakfield Primary');
      await page.goto(`${base}/queue?status=all`);
      const links = await page.locator('main table a[href^="/incidents/"]').allTextContents();
      expect(links).toEqual([oakRef]);
      expect(await page.locator('main table th', { hasText: 'School' }).count()).toBe(0);
      if (backend === 'sqlite') await screenshot(page, 'console-schools-queue-oakfield');
      // Typing the other school's address: not found.
      const res = await page.goto(`${base}/incidents/${elmRef}`);
      expect(res?.status()).toBe(404);
      expect(await page.locator('h1').textContent()).toBe('Not found');

      const dpoContext = await newContext(browser, { javaScript: false });
      const dpoPage = await dpoContext.newPage();
      await browserSignIn(dpoPage, base, 'dpo', PASSWORD);
      expect(await dpoPage.locator('header .brand span').textContent()).toBe('Example Academy Trust – all schools');
      await dpoPage.goto(`${base}/queue?status=all`);
      const rowOf = (ref: string) => dpoPage.locator('main table tr', { has: dpoPage.getByRole('link', { name: ref, exact: true }) });
      expect(await rowOf(oakRef).locator('td.school').textContent()).toBe('Oakfield Primary');
      expect(await rowOf(elmRef).locator('td.school').textContent()).toBe('Elmwood Academy');
      if (backend === 'sqlite') await screenshot(dpoPage, 'console-schools-queue-trust');
      // The school filter, as a person would use it.
      await dpoPage.getByLabel('School').selectOption('oakfield');
      await Promise.all([dpoPage.waitForNavigation(), dpoPage.getByRole('button', { name: 'Apply filters' }).click()]);
      expect(new URL(dpoPage.url()).searchParams.get('school')).toBe('oakfield');
      expect(await dpoPage.locator('main table a[href^="/incidents/"]').allTextContents()).toEqual([oakRef]);
    } finally {
      await browser?.close();
    }
  });
});
