// 7z, RAR, gzip, bzip2, xz, tar and cab through Debian's p7zip-full (`7z`) as a subprocess:
// there is no safe pure-JS 7z reader (extraction.md §5). Listing uses a dummy password so an
// encrypted archive answers at once instead of prompting; stdin is closed; every extraction is
// streamed through a byte counter and killed at the cap or the deadline.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DUMMY_PASSWORD = '-phallmonitor-has-no-password';

export interface SevenZipEntry {
  path: string;
  size: number;
  packedSize: number;
  encrypted: boolean;
  isDirectory: boolean;
  method: string;
}

export interface SevenZipListing {
  /** The archive's own headers are encrypted: even the file names need the password. */
  headerEncrypted: boolean;
  type: string;
  entries: SevenZipEntry[];
  /** 7-Zip could not open the archive at all. */
  failed: boolean;
}

export class SevenZipLimitError extends Error {
  readonly problem: 'too-big' | 'ratio' | 'timeout' | 'failed';
  constructor(problem: 'too-big' | 'ratio' | 'timeout' | 'failed') {
    super(problem);
    this.problem = problem;
  }
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], deadline: number, maxOutput: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('7z', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new SevenZipLimitError('timeout'));
    }, Math.max(1, deadline - Date.now()));
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxOutput) {
        child.kill('SIGKILL');
        return;
      }
      out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 64) err.push(c);
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Parses `7z l -slt` output (our own subprocess output, read with indexOf, never RegExp). */
export function parseSlt(stdout: string): { type: string; entries: SevenZipEntry[] } {
  const lines = stdout.split('\n');
  let i = lines.findIndex((l) => l.trim() === '----------');
  let type = '';
  for (let k = 0; k < (i < 0 ? lines.length : i); k++) {
    const line = lines[k].trim();
    if (line.startsWith('Type = ')) type = line.slice(7);
  }
  const entries: SevenZipEntry[] = [];
  if (i < 0) return { type, entries };
  let current: Record<string, string> | undefined;
  const flush = (): void => {
    if (current && current.Path !== undefined) {
      entries.push({
        path: current.Path,
        size: Number(current.Size ?? 0) || 0,
        packedSize: Number(current['Packed Size'] ?? 0) || 0,
        encrypted: current.Encrypted === '+',
        isDirectory: current.Folder === '+' || (current.Attributes ?? '').startsWith('D'),
        method: current.Method ?? '',
      });
    }
    current = undefined;
  };
  for (i = i + 1; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line === '') {
      flush();
      continue;
    }
    const eq = line.indexOf(' = ');
    if (eq < 0) continue;
    current ??= {};
    current[line.slice(0, eq)] = line.slice(eq + 3);
  }
  flush();
  return { type, entries };
}

export class SevenZipArchive {
  private dir: string | undefined;
  private file: string | undefined;

  /**
   * Writes the archive to a private temp directory. It keeps (a safe form of) its own name because
   * 7-Zip names the file inside a .gz or .bz2 after the archive (pack.tar.gz holds pack.tar).
   */
  static async open(bytes: Uint8Array, name = 'archive'): Promise<SevenZipArchive> {
    const a = new SevenZipArchive();
    a.dir = await mkdtemp(join(tmpdir(), 'hallmonitor-7z-'));
    a.file = join(a.dir, safeFileName(name));
    await writeFile(a.file, bytes, { mode: 0o600 });
    return a;
  }

  async list(deadline: number): Promise<SevenZipListing> {
    const r = await run(['l', '-slt', '-bd', '-y', DUMMY_PASSWORD, '--', this.file as string], deadline, 64 * 1024 * 1024);
    if (r.stderr.includes('Cannot open encrypted archive') || r.stderr.includes('Wrong password')) {
      if (!r.stdout.includes('----------')) return { headerEncrypted: true, type: '', entries: [], failed: false };
    }
    const parsed = parseSlt(r.stdout);
    if (r.code !== 0 && parsed.entries.length === 0) return { headerEncrypted: false, type: parsed.type, entries: [], failed: true };
    return { headerEncrypted: false, type: parsed.type, entries: parsed.entries, failed: false };
  }

  /** Streams one entry out (`7z x -so`), killed past maxBytes or the deadline. */
  async extract(entryPath: string, maxBytes: number, deadline: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const size = await streamOut(['x', '-so', '-bd', '-y', '-spd', DUMMY_PASSWORD, '--', this.file as string, entryPath], maxBytes, 'too-big', deadline, (c) => chunks.push(c));
    return Buffer.concat(chunks, size);
  }

  /**
   * Extracts every file in one run (`7z x -so`), cutting the stream by the listed sizes. Only for
   * archives with no encrypted entry whose sizes are all within the caps; the caller falls back
   * to extract() per entry when this rejects (sizes that do not add up, a damaged archive).
   */
  async extractAll(sizes: number[], deadline: number): Promise<Buffer[]> {
    const expected = sizes.reduce((a, b) => a + b, 0);
    const out = sizes.map((n) => Buffer.allocUnsafe(n));
    let index = 0;
    let offset = 0;
    const total = await streamOut(['x', '-so', '-bd', '-y', DUMMY_PASSWORD, '--', this.file as string], expected, 'failed', deadline, (c) => {
      let pos = 0;
      while (pos < c.length) {
        while (index < out.length && offset >= out[index].length) {
          index++;
          offset = 0;
        }
        const target = out[index];
        const n = c.copy(target, offset, pos, pos + Math.min(c.length - pos, target.length - offset));
        offset += n;
        pos += n;
      }
    });
    if (total !== expected) throw new SevenZipLimitError('failed');
    return out;
  }

  async close(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** A file name made of ASCII letters, digits, '.', '-' and '_' only, never starting with '.' or '-'. */
export function safeFileName(name: string): string {
  const slash = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  let out = '';
  for (const ch of name.slice(slash + 1)) {
    const c = ch.charCodeAt(0);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || ch === '.' || ch === '-' || ch === '_';
    out += ok ? ch : '_';
    if (out.length >= 100) break;
  }
  while (out.startsWith('.') || out.startsWith('-')) out = out.slice(1);
  return out || 'archive';
}

/**
 * Runs 7z with its output on stdout, handing each chunk to `onChunk`; kills it past `maxBytes`
 * (failing with `overflow`) or at the deadline. Resolves with the bytes read.
 */
function streamOut(args: string[], maxBytes: number, overflow: 'too-big' | 'failed', deadline: number, onChunk: (c: Buffer) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('7z', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let size = 0;
    let failed: SevenZipLimitError | undefined;
    const timer = setTimeout(() => {
      failed ??= new SevenZipLimitError('timeout');
      child.kill('SIGKILL');
    }, Math.max(1, deadline - Date.now()));
    child.stdout.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > maxBytes) {
        failed = new SevenZipLimitError(overflow);
        child.kill('SIGKILL');
        return;
      }
      onChunk(c);
    });
    child.once('error', () => {
      clearTimeout(timer);
      reject(new SevenZipLimitError('failed'));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (failed) reject(failed);
      else if (code !== 0) reject(new SevenZipLimitError('failed'));
      else resolve(size);
    });
  });
}
