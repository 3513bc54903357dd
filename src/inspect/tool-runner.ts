// Text recognition's tools (djpeg, dwebp, tifftopnm, heif-convert, pdftoppm, Tesseract) are
// started by a small helper process (tool-runner-child.ts), not by the gateway itself. Starting a
// program forks the process that starts it, and the fork's cost grows with that process's
// memory: measured here, spawn() held a 440 MB process's event loop (the relay's) for about 19 ms
// each time, a 50 MB one for about 4 ms. Five photos in one message are five such pauses for every
// connection the gateway is serving. The helper is started on first use, restarted if it dies,
// and a tool it cannot answer for counts as failed: the picture or page is then unread (held
// when the message goes outside the school), never waved through. A tool's input and output are
// files in a private folder (0700, each file 0600, removed after use), as Tesseract's pages were.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { holdOpen, letGo } from './child-ref.ts';
import type { ToolReply, ToolRequest } from './tool-runner-child.ts';

const childScript = fileURLToPath(new URL('./tool-runner-child.ts', import.meta.url));
/** Time beyond a tool's own limit before the gateway stops waiting for the helper's answer. */
const GRACE_MS = 5_000;

export interface ToolResult {
  ok: boolean;
  timedOut: boolean;
  stdout: Buffer;
}

const EMPTY = Buffer.alloc(0);
const FAILED: ToolResult = Object.freeze({ ok: false, timedOut: false, stdout: EMPTY });

interface Pending {
  resolve: (result: ToolResult) => void;
  timer: NodeJS.Timeout;
  /** The helper asked. */
  child: ChildProcess;
}

export class ToolRunner {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** A private folder (0700, mkdtemp's) for the tools' input and output files, made on first use. */
  private folder: Promise<string> | undefined;
  private dir: string | undefined;
  /** Helper processes started (a restart after one died counts). */
  started = 0;

  /**
   * Runs `program` with `args` under its limits (ulimit -d `dataMb`, killed after `timeoutMs`),
   * `input` as its standard input; its standard output comes back as bytes. The bytes go by file
   * (written and read off the event loop), not as messages.
   */
  async run(program: string, args: string[], timeoutMs: number, dataMb: number, input?: Uint8Array): Promise<ToolResult> {
    const id = this.nextId++;
    let inputPath: string | undefined;
    let outputPath: string | undefined;
    try {
      // One folder for the runner's life, made once even when the first tools start together.
      const dir = await (this.folder ??= mkdtemp(join(tmpdir(), 'hallmonitor-tools-')).then((d) => (this.dir = d)));
      inputPath = input ? join(dir, `${id}.in`) : undefined;
      outputPath = join(dir, `${id}.out`);
      if (inputPath && input) await writeFile(inputPath, input, { mode: 0o600 });
      const done = await this.ask({ id, program, args, timeoutMs, dataMb, inputPath, outputPath });
      return done.ok ? { ...done, stdout: await readFile(outputPath) } : done;
    } catch {
      // No folder (the disk is full), or no output: the tool failed, and its picture is unread.
      return FAILED;
    } finally {
      await Promise.all([inputPath && rm(inputPath, { force: true }), outputPath && rm(outputPath, { force: true })]);
    }
  }

  private ask(req: ToolRequest): Promise<ToolResult> {
    const child = this.child ?? this.start();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(req.id, { ...FAILED, timedOut: true }), Math.max(1, req.timeoutMs) + GRACE_MS);
      this.pending.set(req.id, { resolve, timer, child });
      holdOpen(child);
      child.send(req, (err) => {
        if (err) this.settle(req.id, FAILED);
      });
    });
  }

  private settle(id: number, result: ToolResult): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (!this.pending.size && this.child) letGo(this.child);
    p.resolve(result);
  }

  private start(): ChildProcess {
    const child = spawn(process.execPath, [childScript, '--serve'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    this.started++;
    this.child = child;
    child.on('message', (reply: ToolReply) => this.settle(reply.id, { ok: reply.ok, timedOut: reply.timedOut, stdout: EMPTY }));
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
      // Every tool it was running is lost with it: failed, so their pictures count as unread.
      for (const [id, p] of [...this.pending]) if (p.child === child) this.settle(id, FAILED);
    });
    child.on('error', () => {
      // A helper that cannot start: reported through 'exit', or each tool's own time limit.
    });
    letGo(child);
    return child;
  }

  /** Starts the helper ahead of the first picture (a Node process takes about 100 ms to start). */
  async warmUp(): Promise<void> {
    await this.run('true', [], 10_000, 64);
  }

  /** The helper's process id and folder, for the tests that stop it mid-run and check it is gone. */
  get where(): { pid?: number; dir?: string } {
    return { pid: this.child?.pid, dir: this.dir };
  }

  /** Stops the helper (it stops the tools it was running); their pictures count as unread. */
  async close(): Promise<void> {
    const child = this.child;
    const folder = this.folder;
    this.child = undefined;
    this.folder = undefined;
    this.dir = undefined;
    for (const id of [...this.pending.keys()]) this.settle(id, FAILED);
    if (child && child.exitCode === null && child.signalCode === null) {
      holdOpen(child);
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 2_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        // Disconnected, the helper kills its tools and exits; SIGKILL if it does not.
        if (child.connected) child.disconnect();
        else child.kill('SIGKILL');
      });
    }
    const dir = await folder?.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
