// Inspection's tools (djpeg, dwebp, tifftopnm, heif-convert, pdftoppm and Tesseract for text
// recognition; 7-Zip for 7z, RAR, gzip, bzip2, xz, tar and cab archives) are started by a small
// helper process (tool-runner-child.ts), not by the gateway itself. Starting a program forks the
// process that starts it, and the fork's cost grows with that process's memory: measured here,
// spawn() held a 440 MB process's event loop (the relay's) for about 19 ms each time, a 50 MB one
// for about 4 ms. Five photos in one message, or an archive read entry by entry, are that many
// pauses for every connection the gateway is serving. The helper is started on first use,
// restarted if it dies, and a tool it cannot answer for counts as failed: the picture, page or
// archive is then unread (held when the message goes outside the school), never waved through. A
// tool's input and output are files in a private folder (0700, each file 0600, removed after use).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { holdOpen, letGo } from './child-ref.ts';
import { MAX_TOOL_OUTPUT, type ToolReply, type ToolRequest } from './tool-runner-child.ts';

const childScript = fileURLToPath(new URL('./tool-runner-child.ts', import.meta.url));
/** Time beyond a tool's own limit before the gateway stops waiting for the helper's answer. */
const GRACE_MS = 5_000;

export interface ToolResult {
  ok: boolean;
  timedOut: boolean;
  stdout: Buffer;
}

/** What exec() tells: the tool's output whatever its exit code, and whether it went past its allowance. */
export interface ToolOutcome extends ToolResult {
  /** The exit code; null when a signal ended the tool, or it could not be started or answered for. */
  code: number | null;
  /** The start of its standard error (at most 64 KB), when asked for. */
  stderr: string;
  /** It wrote more than `maxOutput` bytes (and was stopped there): `stdout` is empty. */
  overflow: boolean;
}

export interface ToolOptions {
  timeoutMs: number;
  /** The data segment the tool may use (ulimit -d), in MB. */
  dataMb: number;
  /** Its standard input; none: closed. */
  input?: Uint8Array;
  /** Most bytes of output; past them the tool is stopped (ulimit -f) and `overflow` set. Default MAX_TOOL_OUTPUT. */
  maxOutput?: number;
  /** Keep the start of its standard error. */
  stderr?: boolean;
}

const EMPTY = Buffer.alloc(0);
const FAILED: ToolResult = Object.freeze({ ok: false, timedOut: false, stdout: EMPTY });
const NOT_RUN: ToolOutcome = Object.freeze({ ...FAILED, code: null, stderr: '', overflow: false });
const STDERR_KEPT = 64 * 1024;
const FOLDER_PREFIX = 'hallmonitor-tools-';

/** Stops a helper and every tool it started (its process group); nothing if they have gone. */
function stop(child: ChildProcess): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/**
 * The runner's private folder (mkdtemp's 0700), named with this process's id. The helper removes
 * it when it sees the gateway die (tool-runner-child.ts); folders left all the same by a gateway
 * process that has gone (the helper was killed with it: tools' inputs are pupils' pictures) are
 * removed first.
 */
async function makeFolder(): Promise<string> {
  const base = tmpdir();
  for (const name of await readdir(base).catch(() => [] as string[])) {
    if (name.startsWith('hallmonitor-7z-')) {
      await sweepOld7z(join(base, name));
      continue;
    }
    const pid = Number(/^hallmonitor-tools-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    await rm(join(base, name), { recursive: true, force: true }).catch(() => undefined);
  }
  return mkdtemp(join(base, `${FOLDER_PREFIX}${process.pid}-`));
}

/**
 * Before 7-Zip ran from the helper, each archive was written to a hallmonitor-7z- folder of its
 * own, left behind when a gateway crashed. Those older than an hour (no inspection lasts that
 * long, so none is in use by a gateway still running an earlier version) are removed.
 */
async function sweepOld7z(folder: string): Promise<void> {
  const made = await stat(folder).then((s) => s.mtimeMs, () => Date.now());
  if (Date.now() - made > 3_600_000) await rm(folder, { recursive: true, force: true }).catch(() => undefined);
}

/** The first `max` bytes of a file, as text. */
async function readStart(file: string, max: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await handle.read(buf, 0, max, 0);
    return buf.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Pending {
  resolve: (result: Omit<ToolReply, 'id'>) => void;
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
  /** Closed: what is asked now fails (a closed runner never starts a helper again). */
  private closed = false;

  /**
   * Runs `program` with `args` under its limits (ulimit -d `dataMb`, killed after `timeoutMs`),
   * `input` as its standard input; its standard output comes back as bytes when it succeeded. The
   * bytes go by file (written and read off the event loop), not as messages.
   */
  async run(program: string, args: string[], timeoutMs: number, dataMb: number, input?: Uint8Array): Promise<ToolResult> {
    const r = await this.exec(program, args, { timeoutMs, dataMb, input });
    return r.ok && !r.overflow ? { ok: true, timedOut: false, stdout: r.stdout } : r.timedOut ? { ...FAILED, timedOut: true } : FAILED;
  }

  /** Runs a tool as run() does, and tells everything: its exit code, its output even when it failed, and its standard error if asked. */
  async exec(program: string, args: string[], options: ToolOptions): Promise<ToolOutcome> {
    if (this.closed) return NOT_RUN;
    const id = this.nextId++;
    const maxOutput = options.maxOutput ?? MAX_TOOL_OUTPUT;
    let inputPath: string | undefined;
    let outputPath: string | undefined;
    let errorPath: string | undefined;
    try {
      const dir = await this.folderNow();
      inputPath = options.input ? join(dir, `${id}.in`) : undefined;
      outputPath = join(dir, `${id}.out`);
      errorPath = options.stderr ? join(dir, `${id}.err`) : undefined;
      if (inputPath && options.input) await writeFile(inputPath, options.input, { mode: 0o600 });
      const done = await this.ask({ id, program, args, timeoutMs: options.timeoutMs, dataMb: options.dataMb, inputPath, outputPath, errorPath, maxOutput });
      // Past its allowance, the output was cut short (the tool was stopped at the limit, or ignored
      // SIGXFSZ): not read. Nor is the output of a tool that did not finish (a signal, its time).
      const size = await stat(outputPath).then((s) => s.size, () => 0);
      const overflow = size > maxOutput;
      const stdout = overflow || size === 0 || done.code === null ? EMPTY : await readFile(outputPath);
      const stderr = errorPath ? await readStart(errorPath, STDERR_KEPT) : '';
      return { ...done, stdout, stderr, overflow };
    } catch {
      // No folder (the disk is full), or no output: the tool failed, and what it was to read is unread.
      return NOT_RUN;
    } finally {
      await Promise.all([inputPath, outputPath, errorPath].map((p) => p && rm(p, { force: true })));
    }
  }

  /**
   * Keeps `bytes` in a file of the runner's private folder, under `name` (a safe file name: 7-Zip
   * names what is inside a .gz after it), for tools that read a file more than once. The caller
   * removes it with the function returned; a crashed gateway's are swept with its folder.
   */
  async keep(bytes: Uint8Array, name: string): Promise<{ path: string; remove: () => Promise<void> }> {
    if (this.closed) throw new Error('the tools\' runner is closed');
    const own = join(await this.folderNow(), `${this.nextId++}`);
    const remove = () => rm(own, { recursive: true, force: true });
    try {
      await mkdir(own, { mode: 0o700 });
      await writeFile(join(own, name), bytes, { mode: 0o600 });
    } catch (err) {
      // A full disk: what was written of the archive does not stay behind.
      await remove();
      throw err;
    }
    return { path: join(own, name), remove };
  }

  /** One folder for the runner's life, made once even when the first tools start together. A folder that could not be made (the disk was full) is tried again by the next tool. */
  private folderNow(): Promise<string> {
    return (this.folder ??= makeFolder().then(
      (d) => (this.dir = d),
      (err: unknown) => {
        this.folder = undefined;
        throw err;
      },
    ));
  }

  private ask(req: ToolRequest): Promise<Omit<ToolReply, 'id'>> {
    if (this.closed) return Promise.resolve(NOT_RUN);
    // A helper that is going (disconnected, not yet gone) is not asked: a new one is started.
    const child = this.child?.connected ? this.child : this.start();
    return new Promise((resolve) => {
      // No answer in the tool's time and a grace: the helper is stuck. It is stopped (with its
      // tools), so the next tool gets a new one rather than waiting on it too.
      const timer = setTimeout(() => {
        this.settle(req.id, { ...NOT_RUN, timedOut: true });
        if (this.child === child) this.child = undefined;
        stop(child);
      }, Math.max(1, req.timeoutMs) + GRACE_MS);
      this.pending.set(req.id, { resolve, timer, child });
      holdOpen(child);
      child.send(req, (err) => {
        if (err) this.settle(req.id, NOT_RUN);
      });
    });
  }

  private settle(id: number, result: Omit<ToolReply, 'id'>): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (!this.pending.size && this.child) letGo(this.child);
    p.resolve(result);
  }

  private start(): ChildProcess {
    if (this.child) stop(this.child);
    // Its own process group (detached), so that its tools can be stopped with it whatever killed
    // it; without NODE_OPTIONS, which could make it wait for a debugger or run out of heap.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [childScript, '--serve'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], detached: true, env });
    this.started++;
    this.child = child;
    child.on('message', (reply: ToolReply) => this.settle(reply.id, { ok: reply.ok, timedOut: reply.timedOut, code: reply.code }));
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
      // Its tools go with it (they would run on until their CPU limit), and every tool it was
      // running counts as failed, so their pictures are unread.
      stop(child);
      for (const [id, p] of [...this.pending]) if (p.child === child) this.settle(id, NOT_RUN);
    });
    child.on('error', () => {
      // A helper that cannot start: reported through 'exit', or each tool's own time limit.
    });
    letGo(child);
    return child;
  }

  /** Starts the helper ahead of the first picture (a Node process takes about 100 ms to start); false when it cannot run a tool. */
  async warmUp(): Promise<boolean> {
    return (await this.run('true', [], 10_000, 64)).ok;
  }

  /** The helper's process id and folder, for the tests that stop it mid-run and check it is gone. */
  get where(): { pid?: number; dir?: string } {
    return { pid: this.child?.pid, dir: this.dir };
  }

  /** Stops the helper (it stops the tools it was running); their pictures count as unread. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    const folder = this.folder;
    this.child = undefined;
    this.folder = undefined;
    this.dir = undefined;
    for (const id of [...this.pending.keys()]) this.settle(id, NOT_RUN);
    if (child && child.exitCode === null && child.signalCode === null) {
      holdOpen(child);
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => stop(child), 2_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        // Disconnected, the helper kills its tools and exits; SIGKILL if it does not.
        if (child.connected) child.disconnect();
        else stop(child);
      });
    }
    const dir = await folder?.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** The one runner of this process (every inspection shares it). */
let shared: ToolRunner | undefined;

export function inspectionTools(): ToolRunner {
  return (shared ??= new ToolRunner());
}

/** Stops the shared runner's helper (shutdownInspection); the next tool starts a new runner. */
export async function closeInspectionTools(): Promise<void> {
  const t = shared;
  shared = undefined;
  await t?.close();
}

/** The shared helper's process id and folder now, if any: for the tests that stop it mid-run. */
export function toolHelper(): { pid?: number; dir?: string } {
  return shared?.where ?? {};
}
