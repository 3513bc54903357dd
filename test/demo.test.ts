// The README's "Try it with the demo school", run as written (issue 17): the commands are read from
// the README itself, so the walk-through a newcomer follows is the one tested. The gateway holds
// three messages and blocks one, the sender's and the business manager's notices are captured, and
// the first console account signs in and sees the queue.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { signInForm } from './helpers/console.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DATA = path.join(ROOT, 'examples/demo/data');

/** The ```sh blocks of one README section, in order. */
function shellBlocks(heading: string): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf(`\n### ${heading}\n`);
  expect(from, heading).toBeGreaterThan(0);
  const to = readme.indexOf('\n### ', from + 5);
  return [...readme.slice(from, to).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const env = () => {
  const e: Record<string, string | undefined> = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` };
  for (const k of Object.keys(e)) if (k.startsWith('HALLMONITOR_')) delete e[k];
  return e;
};

describe('the demo school, as the README shows it', () => {
  let gateway: ChildProcess | undefined;
  afterAll(async () => {
    // The README's command is npx, which starts the gateway as its child: stop the whole group.
    if (gateway?.pid && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway!.once('exit', r));
      process.kill(-gateway.pid, 'SIGTERM');
      await exited;
      const until = Date.now() + 10_000;
      while (Date.now() < until && spawnSync('ss', ['-ltn', 'sport = :2525'], { encoding: 'utf8' }).stdout.includes(':2525')) await new Promise((r) => setTimeout(r, 100));
    }
    rmSync(DATA, { recursive: true, force: true });
  });

  it('holds three messages, blocks one, captures the notices and opens the console with a first account', async () => {
    rmSync(DATA, { recursive: true, force: true });
    const [serve, walk] = shellBlocks('Try it with the demo school');
    expect(serve.trim()).toBe('npx hallmonitor serve --config examples/demo/hallmonitor.yaml');

    gateway = spawn('bash', ['-c', serve], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let log = '';
    gateway.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    gateway.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const until = Date.now() + 60_000;
    while (!log.includes('"event":"started"') && Date.now() < until && gateway.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    expect(log).toContain('"event":"started"');

    const r = spawnSync('bash', ['-c', `set -euo pipefail\n${walk}`], { cwd: ROOT, env: env(), encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const out = r.stdout;
    // check, before sending
    expect(out).toMatch(/1-coach-booking\.eml: DELIVER/);
    expect(out).toMatch(/2-name-in-subject\.eml: BLOCK/);
    for (const m of ['3-sen-to-gmail', '4-trip-list', '5-forward-to-personal']) expect(out).toMatch(new RegExp(`${m}\\.eml: QUARANTINE`));
    expect(out).toMatch(/5 messages: 1 delivered, 3 quarantined, 1 blocked/);
    // the quarantine after sending
    expect(out).toMatch(/3 message\(s\)\. Show one/);
    for (const rule of ['personal-data-in-body', 'unencrypted-sensitive-attachment', 'forward-to-personal-domain']) expect(out).toContain(`[${rule}]`);
    // what left: the delivered message, one block notice, three held notices to senders and three to the business manager
    const subjects = out.split('\n').filter((l) => l.startsWith('Subject:'));
    expect(subjects.filter((s) => s.includes('Coach for the Year 5 trip'))).toHaveLength(1);
    expect(subjects.filter((s) => s.includes('Your email was not sent'))).toHaveLength(1);
    expect(subjects.filter((s) => s.includes('Your email is being held for a quick check'))).toHaveLength(3);
    expect(subjects.filter((s) => /held_for_review|held for review/.test(s))).toHaveLength(3);
    // no pupil's name in any notice subject
    expect(subjects.join('\n')).not.toMatch(/Mateo|Vasquez|Isla|Pemberton/);

    // the notices name the trip list's file (no pupil in its name) and never a pupil
    const notices = readdirSync(path.join(DATA, 'captured')).map((f) => readFileSync(path.join(DATA, 'captured', f), 'latin1')).filter((t) => /^X-Hallmonitor-Reference:/m.test(t));
    expect(notices.length).toBe(7);
    expect(notices.some((t) => t.includes('year6-residential.csv'))).toBe(true);
    for (const t of notices) expect(t).not.toMatch(/Pemberton|Vasquez|Ashworth/);

    // the console, with the account the last command made
    const password = /^Password: (\S+)$/m.exec(out)?.[1];
    expect(password).toBeDefined();
    const signedIn = await signInForm('http://127.0.0.1:8443', 'business.manager@demo-primary.example', password!);
    expect(signedIn.cookie).toBeTruthy();
    const queue = await (await fetch('http://127.0.0.1:8443/queue', { headers: { cookie: signedIn.cookie! } })).text();
    for (const ref of ['HM-2026-000002', 'HM-2026-000003', 'HM-2026-000004']) expect(queue).toContain(ref);
    expect(queue).not.toMatch(/Isla Pemberton/);

    // The business manager's notice links straight to the decision (a signed link for her account,
    // the one named by the address the notice went to); following it changes nothing until she
    // confirms in the console.
    const bmNotice = notices.find((t) => /^To: business\.manager@demo-primary\.example/m.test(t) && t.includes('HM-2026-000002'))!;
    const text = (await simpleParser(Buffer.from(bmNotice, 'latin1'))).text ?? '';
    const release = /Safe to send\? Release it: (\S+)/.exec(text)?.[1];
    expect(release).toMatch(/^http:\/\/127\.0\.0\.1:8443\/confirm\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const opened = await fetch(release!, { headers: { cookie: signedIn.cookie! }, redirect: 'manual' });
    expect(opened.headers.get('location')).toMatch(/^\/incidents\/HM-2026-000002\?decide=release&link=/);
    const confirm = await (await fetch(`http://127.0.0.1:8443${opened.headers.get('location')!.replace('#decide', '')}`, { headers: { cookie: signedIn.cookie! } })).text();
    expect(confirm).toContain('You followed the link in the email to <strong>release</strong> this message');
    expect(confirm.indexOf('action="/incidents/HM-2026-000002/release"')).toBeLessThan(confirm.indexOf('action="/incidents/HM-2026-000002/reject"'));
    const after = await (await fetch('http://127.0.0.1:8443/queue', { headers: { cookie: signedIn.cookie! } })).text();
    expect(after).toContain('HM-2026-000002'); // still waiting: a GET never decides
  }, 180_000);
});
