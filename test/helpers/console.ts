// Driving the console and the CLI the way their users do, shared by the console tests.
import { spawn } from 'node:child_process';
import { BIN } from '../quarantine-helpers.ts';

/**
 * The real CLI in a child process, without blocking this one (the console or gateway under test
 * runs here), with no HALLMONITOR_* variables from the environment.
 */
export function runCli(args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('HALLMONITOR_')) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

/**
 * Signs in over HTTP as a browser without JavaScript would: the form's one-time token, then the
 * POST. Returns the reply's status, the session cookie (null when refused) and the reply body.
 */
export async function signInForm(base: string, username: string, password: string): Promise<{ status: number; cookie: string | null; body: string }> {
  const form = await fetch(`${base}/sign-in`);
  const signinCookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const token = /name="_signin" value="([^"]+)"/.exec(await form.text())![1];
  const res = await fetch(`${base}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: signinCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _signin: token, username, password }),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('hm_session='))?.split(';')[0] ?? null;
  return { status: res.status, cookie, body: await res.text() };
}

/** The CSRF token the console puts in the forms of a page. */
export async function csrfOf(base: string, cookie: string, page = '/queue'): Promise<string> {
  const html = await (await fetch(`${base}${page}`, { headers: { cookie } })).text();
  return /name="_csrf" value="([^"]+)"/.exec(html)![1];
}
