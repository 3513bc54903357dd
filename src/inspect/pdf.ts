// Runs pdf-child.ts as a long-lived child process under an OS memory limit, one PDF at a time.
// A PDF that overruns its deadline gets the child killed; one that exhausts memory kills only the
// child. Either way the next PDF gets a fresh child. The idle child does not hold the process open.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { holdOpen, letGo } from './child-ref.ts';
import type { PdfReply, PdfRequest } from './pdf-child.ts';

const childScript = fileURLToPath(new URL('./pdf-child.ts', import.meta.url));

/**
 * Gives back the memory of a large file the caller will not read again (it is on disk now): the
 * ArrayBuffer is detached, so the 20 MB attachment does not sit beside the 20 MB of text coming
 * back. Only for a buffer that starts its own ArrayBuffer (never Node's shared pool).
 */
export function releaseBytes(bytes: Uint8Array): void {
  const ab = bytes.buffer as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer; detached?: boolean };
  if (bytes.byteOffset === 0 && ab.byteLength > Buffer.poolSize && typeof ab.transfer === 'function' && !ab.detached) ab.transfer(0);
}

/** PDFs smaller than this travel inline over IPC; larger ones through a temp file. */
const INLINE_BYTES = 1024 * 1024;

export class PdfTimeoutError extends Error {}
export class PdfCrashError extends Error {}

interface Job {
  req: PdfRequest;
  deadline: number;
  resolve: (r: PdfReply) => void;
  reject: (e: Error) => void;
}

export class PdfReader {
  private readonly memoryMb: number;
  private child: ChildProcess | undefined;
  private current: Job | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  started = 0;

  constructor(memoryMb: number) {
    this.memoryMb = memoryMb;
  }

  /** `keepBytes`: the caller reads the PDF again (text recognition), so a large one is not released. */
  async read(bytes: Uint8Array, caps: { maxChars: number; maxFiles: number; maxFileBytes: number; scansUnderText?: boolean }, deadline: number, keepBytes = false): Promise<PdfReply> {
    if (this.closed) throw new PdfCrashError('inspection is shut down');
    if (bytes.length < INLINE_BYTES) return this.enqueue({ id: this.nextId++, bytes, ...caps }, deadline);
    // Large: through a private temp file, so no serialized copy sits in the gateway's memory.
    const dir = await mkdtemp(join(tmpdir(), 'hallmonitor-pdf-'));
    try {
      const path = join(dir, 'input.pdf');
      await writeFile(path, bytes, { mode: 0o600 });
      if (!keepBytes) releaseBytes(bytes);
      const reply = await this.enqueue({ id: this.nextId++, path, ...caps }, deadline);
      if (reply.ok && !reply.userPassword && reply.textPath) {
        reply.text = await readFile(reply.textPath, 'utf8');
        reply.textPath = undefined;
      }
      return reply;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private enqueue(req: PdfRequest, deadline: number): Promise<PdfReply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, deadline, resolve, reject });
      this.pump();
    });
  }

  private spawnChild(): ChildProcess {
    // The data segment limit covers Node's own heap plus everything pdfjs allocates; the V8 heap
    // gets the configured memory, and a little room is left for Node itself.
    const dataKb = (this.memoryMb + 192) * 1024;
    const child = spawn('/bin/sh', ['-c', `ulimit -d ${dataKb} && exec "$0" --max-old-space-size=${this.memoryMb} "$1"`, process.execPath, childScript], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'advanced',
    });
    this.started++;
    child.on('message', (reply: PdfReply) => {
      const job = this.current;
      if (!job || reply.id !== job.req.id) return;
      this.clear();
      job.resolve(reply);
      this.pump();
    });
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
      const job = this.current;
      if (job) {
        this.clear();
        job.reject(new PdfCrashError('pdf reader stopped'));
      }
      this.pump();
    });
    child.on('error', () => {
      // spawn failure: reported through 'exit' or the job's deadline
    });
    letGo(child);
    return child;
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.current = undefined;
    if (this.child) letGo(this.child);
  }

  private pump(): void {
    if (this.current || this.closed) return;
    while (this.queue.length) {
      const job = this.queue.shift() as Job;
      const left = job.deadline - Date.now();
      if (left <= 0) {
        job.reject(new PdfTimeoutError('timed out waiting'));
        continue;
      }
      if (!this.child) this.child = this.spawnChild();
      const child = this.child;
      this.current = job;
      holdOpen(child);
      this.timer = setTimeout(() => {
        const j = this.current;
        this.current = undefined;
        this.timer = undefined;
        if (this.child === child) this.child = undefined;
        child.kill('SIGKILL');
        if (j) j.reject(new PdfTimeoutError('timed out'));
        this.pump();
      }, left);
      child.send(job.req, (err) => {
        if (err && this.current === job) {
          this.clear();
          if (this.child === child) this.child = undefined;
          child.kill('SIGKILL');
          job.reject(new PdfCrashError('pdf reader unavailable'));
          this.pump();
        }
      });
      return;
    }
  }

  /** Starts the reader process and waits until pdfjs is loaded (an empty document fails fast). */
  async warmUp(): Promise<void> {
    await this.read(new Uint8Array(0), { maxChars: 1, maxFiles: 0, maxFileBytes: 0 }, Date.now() + 60_000).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new PdfCrashError('inspection is shut down'));
    const child = this.child;
    this.child = undefined;
    if (this.current) {
      const job = this.current;
      this.clear();
      job.reject(new PdfCrashError('inspection is shut down'));
    }
    if (child && child.exitCode === null && child.signalCode === null) {
      // Held open (ref) until it has gone, or the wait itself would not keep the loop alive.
      holdOpen(child);
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  }
}
