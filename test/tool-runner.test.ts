// The helper process that starts text recognition's tools (src/inspect/tool-runner.ts), with real
// processes: what happens when a tool or the helper misbehaves. Every failure must come back as
// a failed tool (its picture unread, so held when the mail leaves the school), never a hang, and
// no tool may outlive its helper. Through the examiner: test/inspect-ocr.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ToolRunner } from '../src/inspect/tool-runner.ts';

const runners: ToolRunner[] = [];
function runner(): ToolRunner {
  const r = new ToolRunner();
  runners.push(r);
  return r;
}
afterEach(async () => {
  for (const r of runners.splice(0)) await r.close();
});

/** Processes whose parent is `pid`: [pid, name]. */
function childrenOf(pid: number): Array<[number, string]> {
  const found: Array<[number, string]> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (Number(stat.slice(close + 2).split(' ')[1]) === pid) found.push([Number(entry), stat.slice(stat.indexOf('(') + 1, close)]);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(\S+\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(what: string, test: () => boolean, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; !test(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the tools\' helper process', () => {
  it('hands a tool its input and gives back its output; a failing tool is failed', async () => {
    const r = runner();
    const out = await r.run('tr', ['a-z', 'A-Z'], 5_000, 64, Buffer.from('class 5b trip list'));
    expect(out).toMatchObject({ ok: true, timedOut: false });
    expect(out.stdout.toString()).toBe('CLASS 5B TRIP LIST');
    expect(await r.run('false', [], 5_000, 64)).toMatchObject({ ok: false, timedOut: false });
    expect(await r.run('/no/such/tool', [], 5_000, 64)).toMatchObject({ ok: false });
    // Nothing is left in its folder once the tools are done (inputs are pupils' pictures).
    expect(readdirSync(r.where.dir!)).toEqual([]);
  });

  it('tells a tool\'s exit code, its output and the start of its error output, whatever the code', async () => {
    const r = runner();
    const out = await r.exec('sh', ['-c', 'echo listed; echo "Cannot open encrypted archive" >&2; exit 2'], { timeoutMs: 5_000, dataMb: 64, stderr: true });
    expect(out).toMatchObject({ ok: false, code: 2, overflow: false, stderr: 'Cannot open encrypted archive\n' });
    expect(out.stdout.toString()).toBe('listed\n');
    // run() gives no output for a tool that failed.
    expect(await r.run('sh', ['-c', 'echo listed; exit 2'], 5_000, 64)).toMatchObject({ ok: false, stdout: Buffer.alloc(0) });
    expect(await r.exec('/no/such/tool', [], { timeoutMs: 5_000, dataMb: 64 })).toMatchObject({ ok: false, code: 127 });
  });

  it('stops a tool at its output allowance, and tells it apart from one that wrote exactly that much', async () => {
    const r = runner();
    const exact = await r.exec('head', ['-c', '5000', '/dev/zero'], { timeoutMs: 5_000, dataMb: 64, maxOutput: 5_000 });
    expect(exact).toMatchObject({ ok: true, overflow: false });
    expect(exact.stdout.length).toBe(5_000);
    const over = await r.exec('head', ['-c', '5001', '/dev/zero'], { timeoutMs: 5_000, dataMb: 64, maxOutput: 5_000 });
    expect(over).toMatchObject({ overflow: true, stdout: Buffer.alloc(0) });
    // Endless output ends at the allowance (ulimit -f), not at the tool's time.
    const started = Date.now();
    const endless = await r.exec('cat', ['/dev/zero'], { timeoutMs: 20_000, dataMb: 64, maxOutput: 1_000_000 });
    expect(endless).toMatchObject({ ok: false, overflow: true, timedOut: false });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await r.run('head', ['-c', '100', '/dev/zero'], 5_000, 64)).toMatchObject({ ok: true });
  });

  it('keeps a file for tools to read more than once in its private folder, until told to remove it', async () => {
    const r = runner();
    const kept = await r.keep(Buffer.from('Amelia Thornbury, 5B\n'), 'list.csv');
    expect(path.basename(kept.path)).toBe('list.csv');
    expect(path.dirname(path.dirname(kept.path))).toBe(r.where.dir);
    expect((await r.run('cat', [kept.path], 5_000, 64)).stdout.toString()).toBe('Amelia Thornbury, 5B\n');
    expect((await r.run('wc', ['-c', kept.path], 5_000, 64)).stdout.toString()).toMatch(/^21 /);
    await kept.remove();
    expect(readdirSync(r.where.dir!)).toEqual([]);
    // A file that cannot be written leaves nothing of itself; a closed runner keeps nothing.
    await expect(r.keep(Buffer.from('Amelia Thornbury'), 'no/such/folder.csv')).rejects.toThrow();
    expect(readdirSync(r.where.dir!)).toEqual([]);
    await r.close();
    await expect(r.keep(Buffer.from('Amelia Thornbury'), 'list.csv')).rejects.toThrow(/closed/);
  });

  it('counts a tool stopped by its CPU limit (SIGXCPU) as out of time', async () => {
    const r = runner();
    expect(await r.exec('sh', ['-c', 'kill -XCPU $$'], { timeoutMs: 5_000, dataMb: 64 })).toMatchObject({ ok: false, timedOut: true, code: null });
  });

  it('kills a tool past its time, and a tool spawn() refuses fails alone', async () => {
    const r = runner();
    expect(await r.run('sleep', ['10'], 300, 64)).toMatchObject({ ok: false, timedOut: true });
    const [refused, beside] = await Promise.all([r.run('echo', ['a\0b'], 5_000, 64), r.run('echo', ['still here'], 5_000, 64)]);
    expect(refused.ok).toBe(false);
    expect(beside).toMatchObject({ ok: true });
    expect(beside.stdout.toString()).toBe('still here\n');
    expect(r.started).toBe(1);
  });

  it('takes its tools with it when it is killed, and the next tool gets a new helper', async () => {
    const r = runner();
    await r.run('true', [], 5_000, 64);
    const helper = r.where.pid!;
    const sleeping = r.run('sleep', ['30'], 60_000, 64);
    let tool = 0;
    await until('the tool to start', () => (tool = childrenOf(helper).find(([, name]) => name === 'sleep')?.[0] ?? 0) > 0);
    process.kill(helper, 'SIGKILL');
    expect(await sleeping).toMatchObject({ ok: false });
    await until('the orphaned tool to be stopped', () => !alive(tool));
    expect(await r.run('true', [], 5_000, 64)).toMatchObject({ ok: true });
    expect(r.where.pid).toBeGreaterThan(0);
    expect(r.where.pid).not.toBe(helper);
    expect(r.started).toBe(2);
  });

  it('removes its gateway\'s folder when the gateway is killed, stopping the tool it was running', async () => {
    // A gateway process of its own, killed (as a crash, or the OOM killer) while a tool reads a picture.
    const work = mkdtempSync(path.join(tmpdir(), 'hallmonitor-test-gateway-'));
    const script = path.join(work, 'gateway.ts');
    writeFileSync(script, [
      `import { ToolRunner } from ${JSON.stringify(pathToFileURL(path.resolve('src/inspect/tool-runner.ts')).href)};`,
      'const r = new ToolRunner();',
      'await r.keep(Buffer.from("UPN,Surname\\nQ823456789012,Thornbury\\n"), "class-list.csv");',
      'void r.run("sleep", ["30"], 60_000, 64, Buffer.from("a pupil photo"));',
      'setInterval(() => console.log(JSON.stringify(r.where)), 100);',
    ].join('\n'));
    const gateway = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      gateway.stdout.on('data', (d: Buffer) => (out += d.toString()));
      let where: { pid?: number; dir?: string } = {};
      let tool = 0;
      await until('the gateway\'s tool to start', () => {
        where = JSON.parse(out.trim().split('\n').at(-1) || '{}');
        tool = where.pid ? childrenOf(where.pid).find(([, name]) => name === 'sleep')?.[0] ?? 0 : 0;
        return tool > 0;
      }, 15_000);
      expect(readdirSync(where.dir!).length).toBeGreaterThan(0);
      gateway.kill('SIGKILL');
      await until('the helper to go', () => !alive(where.pid!));
      expect(alive(tool)).toBe(false);
      expect(existsSync(where.dir!)).toBe(false);
    } finally {
      gateway.kill('SIGKILL');
      rmSync(work, { recursive: true, force: true });
    }
  }, 20_000);

  it('keeps its folder when the helper goes but the gateway lives on: the next helper uses it', async () => {
    const r = runner();
    await r.run('true', [], 5_000, 64);
    const { pid, dir } = r.where;
    // The channel closes without the gateway going (as when the gateway lets a helper go).
    (r as unknown as { child: ChildProcess }).child.disconnect();
    await until('the helper to go', () => !alive(pid!));
    expect(existsSync(dir!)).toBe(true);
    expect(await r.run('echo', ['again'], 5_000, 64)).toMatchObject({ ok: true, stdout: Buffer.from('again\n') });
    expect(r.where.pid).not.toBe(pid);
    expect(r.where.dir).toBe(dir);
  });

  it('replaces a helper that stops answering (its tools fail after their time and a grace of 5 s)', async () => {
    const r = runner();
    await r.run('true', [], 5_000, 64);
    const stuck = r.where.pid!;
    process.kill(stuck, 'SIGSTOP');
    const started = Date.now();
    expect(await r.run('true', [], 100, 64)).toMatchObject({ ok: false, timedOut: true });
    expect(Date.now() - started).toBeLessThan(8_000);
    await until('the stuck helper to be stopped', () => !alive(stuck));
    expect(await r.run('echo', ['again'], 5_000, 64)).toMatchObject({ ok: true });
    expect(r.where.pid).not.toBe(stuck);
  }, 15_000);

  it('once closed, fails what was running and starts no new helper; its folder is removed', async () => {
    const r = runner();
    await r.run('true', [], 5_000, 64);
    const { pid, dir } = r.where;
    const running = r.run('sleep', ['5'], 10_000, 64);
    await until('the tool to start', () => childrenOf(pid!).some(([, name]) => name === 'sleep'));
    await r.close();
    expect(await running).toMatchObject({ ok: false });
    expect(await r.run('true', [], 5_000, 64)).toMatchObject({ ok: false });
    expect(r.started).toBe(1);
    expect(r.where.pid).toBeUndefined();
    expect(alive(pid!)).toBe(false);
    expect(existsSync(dir!)).toBe(false);
  });

  it('fails a tool when its folder cannot be made, and makes it for the next once it can', async () => {
    const saved = process.env.TMPDIR;
    const missing = path.join(tmpdir(), `hm-no-such-dir-${process.pid}`);
    process.env.TMPDIR = missing;
    try {
      const r = runner();
      expect(await r.run('echo', ['one'], 5_000, 64)).toMatchObject({ ok: false });
      mkdirSync(missing);
      expect(await r.run('echo', ['two'], 5_000, 64)).toMatchObject({ ok: true });
      expect(r.where.dir!.startsWith(missing)).toBe(true);
    } finally {
      process.env.TMPDIR = saved;
      if (saved === undefined) delete process.env.TMPDIR;
      for (const x of runners.splice(0)) await x.close();
      spawnSync('rm', ['-rf', missing]);
    }
  });

  it('removes the folder a gateway process that has gone left behind, and no other', async () => {
    const gone = spawnSync('true').pid;
    const left = path.join(tmpdir(), `hallmonitor-tools-${gone}-test`);
    const living = path.join(tmpdir(), `hallmonitor-tools-${process.ppid}-test`);
    for (const d of [left, living]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, '1.in'), 'a pupil photo');
    }
    try {
      await runner().run('true', [], 5_000, 64);
      expect(existsSync(left)).toBe(false);
      expect(existsSync(living)).toBe(true);
    } finally {
      spawnSync('rm', ['-rf', left, living]);
    }
  });

  it('removes the archive folders an earlier version left behind once they are an hour old', async () => {
    const old = path.join(tmpdir(), `hallmonitor-7z-test-old-${process.pid}`);
    const fresh = path.join(tmpdir(), `hallmonitor-7z-test-fresh-${process.pid}`);
    for (const d of [old, fresh]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'register.7z'), 'a class list');
    }
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    try {
      await runner().run('true', [], 5_000, 64);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
    } finally {
      spawnSync('rm', ['-rf', old, fresh]);
    }
  });
});
