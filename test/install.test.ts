// Installing on the wrong Node.js stops at once (issue 17): `.npmrc` sets engine-strict, so the
// real `npm install` on a Node older than package.json's engines refuses before it downloads or
// compiles anything (it used to compile every native module for 80 seconds, then `npm start`
// said Node 22.18 was needed).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

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
