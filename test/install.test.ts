// Installing on the wrong Node.js stops at once (issue 17): `.npmrc` sets engine-strict, so the
// real `npm install` on a Node older than package.json's engines refuses before it downloads or
// compiles anything (it used to compile every native module for 80 seconds, then `npm start`
// said Node 22.18 was needed).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSink } from './helpers/smtp.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/** A Node.js older than 22 with its npm: Debian 12's packages (/usr/bin), which .ci/run leaves in place. */
function oldNode(): { node: string; npm: string; version: string } | undefined {
  for (const dir of ['/usr/bin', '/usr/local/bin']) {
    const node = path.join(dir, 'node');
    const npm = path.join(dir, 'npm');
    if (!existsSync(node) || !existsSync(npm)) continue;
    const v = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (Number(/^v(\d+)/.exec(v)?.[1] ?? 99) < 22) return { node, npm, version: v };
  }
  return undefined;
}

describe('npm install on an older Node.js', () => {
  it('package.json requires Node 22.18 or later and .npmrc makes npm enforce it', () => {
    expect(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node).toBe('>=22.18');
    expect(readFileSync(path.join(ROOT, '.npmrc'), 'utf8')).toMatch(/^engine-strict=true$/m);
  });

  // These machines ship Node 20 as Debian's package: the real thing is run when it is there.
  const old = oldNode();
  it.runIf(old)(`the real npm install under ${old?.version ?? 'an old Node'} stops before installing anything, saying what it needs`, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-old-node-'));
    try {
      for (const f of ['package.json', 'package-lock.json', '.npmrc']) copyFileSync(path.join(ROOT, f), path.join(dir, f));
      const started = Date.now();
      const r = spawnSync(old!.npm, ['install', '--offline', '--no-audit', '--no-fund'], {
        cwd: dir, encoding: 'utf8', timeout: 120_000,
        env: { ...process.env, PATH: `${path.dirname(old!.node)}:/usr/bin:/bin`, npm_config_nodedir: '' },
      });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/EBADENGINE/);
      expect(r.stderr).toMatch(/Required: \{"node":">=22\.18"\}/);
      expect(readdirSync(dir).sort()).toEqual(['.npmrc', 'package-lock.json', 'package.json']); // no node_modules, no build
      expect(Date.now() - started).toBeLessThan(60_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A production install (`npm ci --omit=dev`, as the Dockerfile and INSTALL.md do) has only the
// packages in `dependencies` and what they need. The same tree is built here from this checkout
// without compiling anything again: the code copied, and only the production packages npm lists
// (`npm ls --omit=dev`) linked in. The gateway must start and relay from it.
describe('serve from a production install (no dev dependencies)', () => {
  it('starts and relays a message with only the production packages present', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-omit-dev-'));
    const sink = await startSink();
    try {
      const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' });
      const top = ls.stdout.split('\n').map((p) => path.relative(ROOT, p)).filter((p) => /^node_modules\/(?:@[^/]+\/)?[^/@]+$/.test(p));
      expect(top).toContain('node_modules/smtp-server');
      for (const dev of ['vitest', 'typescript', 'testcontainers', 'playwright-core', 'mailauth']) expect(top).not.toContain(`node_modules/${dev}`);
      for (const p of top) {
        mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
        symlinkSync(path.join(ROOT, p), path.join(dir, p));
      }
      for (const d of ['bin', 'src', 'detectors', 'config']) cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
      cpSync(path.join(ROOT, 'build/Release/word_pass.node'), path.join(dir, 'build/Release/word_pass.node'));
      copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));

      const env: Record<string, string | undefined> = { ...process.env };
      for (const k of Object.keys(env)) if (k.startsWith('HALLMONITOR_')) delete env[k];
      const child = spawn(process.execPath, [path.join(dir, 'bin/hallmonitor.js'), 'serve', '--listen', '127.0.0.1:0', '--next-hop', `127.0.0.1:${sink.port}`, '--health', 'off', '--data', path.join(dir, 'data')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      try {
        const until = Date.now() + 30_000;
        let started: { listen: string; scanner: string } | undefined;
        while (!started && Date.now() < until && child.exitCode === null) {
          started = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.event === 'started' && 'scanner' in e); // a relay worker's line (the primary's has no scanner)
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(started, `stdout: ${out}\nstderr: ${err}`).toBeDefined();
        expect(started!.scanner).toBe('native');
        const port = Number(started!.listen.split(':').at(-1));
        const info = await nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true })
          .sendMail({ envelope: { from: 'office@school.example', to: ['parent@home.example'] }, raw: 'From: office@school.example\r\nTo: parent@home.example\r\nSubject: Sports day\r\n\r\nBring a hat.\r\n' });
        expect(info.response).toMatch(/^250 /);
        expect((await sink.waitForMessages(1)).length).toBe(1);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    } finally {
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// `npm test` on a machine without the Debian packages the tests drive: as a user who may not
// install them, it stops before any test with the list and the one command (test/prepare.sh).
describe('the test command on a machine without the test tools', () => {
  it('names what is missing and the command that installs it, before any test, when it may not install', () => {
    const fakeBin = mkdtempSync(path.join(tmpdir(), 'hm-prepare-'));
    try {
      // dpkg that knows no package, and `id -u` that is not root: a fresh machine, an ordinary user.
      writeFileSync(path.join(fakeBin, 'dpkg'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      writeFileSync(path.join(fakeBin, 'id'), '#!/bin/sh\necho 1000\n', { mode: 0o755 });
      const r = spawnSync('bash', [path.join(ROOT, 'test/prepare.sh')], { encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('The tests need Debian packages that are not installed:');
      expect(r.stderr).toMatch(/^ {2}postfix$/m);
      expect(r.stderr).toMatch(/^ {2}sudo apt-get install -y --no-install-recommends postfix swaks zip .*python3-flufl\.bounce postgresql tesseract-ocr tesseract-ocr-eng poppler-utils libjpeg-turbo-progs netpbm webp libheif-examples fonts-femkeklaver fonts-dkg-handwriting fonts-bwht$/m);
      // and npm test runs it first
      expect(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.pretest).toBe('bash test/prepare.sh');
    } finally {
      rmSync(fakeBin, { recursive: true, force: true });
    }
  });

  it('on this machine (everything installed, PostgreSQL up) it passes silently', () => {
    const r = spawnSync('bash', [path.join(ROOT, 'test/prepare.sh')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
