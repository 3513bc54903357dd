// 7z, RAR, gzip, bzip2, xz, tar and cab through Debian's p7zip-full (`7z`) as a subprocess:
// there is no safe pure-JS 7z reader (extraction.md §5). 7-Zip is started by the tools' helper
// process (tool-runner.ts), not by the gateway: each start forks the process that starts it, and
// an archive read entry by entry is several starts. Listing uses a dummy password so an encrypted
// archive answers at once instead of prompting; stdin is closed; every extraction is cut off at
// its byte cap (ulimit -f) or its deadline.
import { inspectionTools, type ToolOutcome } from './tool-runner.ts';

const DUMMY_PASSWORD = '-phallmonitor-has-no-password';
/**
 * The memory 7-Zip may use (ulimit -d), in MB. Its largest ordinary dictionaries (7z -mx9: 64 MB,
 * RAR5: up to 1 GB for the rare archive made with -md1g) fit; one that needs more fails, and the
 * archive is held as unread.
 */
const SEVEN_ZIP_MB = 1536;

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

/** Runs 7z through the tools' helper until `deadline`, its output allowed `maxOutput` bytes. */
async function run(args: string[], deadline: number, maxOutput: number, stderr = false): Promise<ToolOutcome> {
  const left = deadline - Date.now();
  if (left <= 0) throw new SevenZipLimitError('timeout');
  const r = await inspectionTools().exec('7z', args, { timeoutMs: left, dataMb: SEVEN_ZIP_MB, maxOutput, stderr });
  if (r.timedOut) throw new SevenZipLimitError('timeout');
  // 127: the shell found no 7z; null and not past the cap: the helper could not run it, or it crashed.
  // One thread (-mmt1 on every run that unpacks): its CPU limit (ulimit -t) then matches its time.
  if (r.code === 127 || (r.code === null && !r.overflow)) throw new SevenZipLimitError('failed');
  return r;
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
  private file: string | undefined;
  private remove: (() => Promise<void>) | undefined;

  /**
   * Keeps the archive in the tools' private folder. It keeps (a safe form of) its own name because
   * 7-Zip names the file inside a .gz or .bz2 after the archive (pack.tar.gz holds pack.tar).
   */
  static async open(bytes: Uint8Array, name = 'archive'): Promise<SevenZipArchive> {
    const a = new SevenZipArchive();
    const kept = await inspectionTools().keep(bytes, safeFileName(name));
    a.file = kept.path;
    a.remove = kept.remove;
    return a;
  }

  async list(deadline: number): Promise<SevenZipListing> {
    const r = await run(['l', '-slt', '-bd', '-y', DUMMY_PASSWORD, '--', this.file as string], deadline, 64 * 1024 * 1024, true);
    const stdout = r.stdout.toString('utf8');
    if (r.stderr.includes('Cannot open encrypted archive') || r.stderr.includes('Wrong password')) {
      if (!stdout.includes('----------')) return { headerEncrypted: true, type: '', entries: [], failed: false };
    }
    const parsed = parseSlt(stdout);
    if (r.code !== 0 && parsed.entries.length === 0) return { headerEncrypted: false, type: parsed.type, entries: [], failed: true };
    return { headerEncrypted: false, type: parsed.type, entries: parsed.entries, failed: false };
  }

  /**
   * Extracts one entry (`7z x -so`), failing past maxBytes (too-big) or the deadline. What comes
   * out must be what the listing said: 7-Zip extracts nothing, and says nothing, for a name it
   * listed differently from how it is stored (a newline in a tar name is listed as _, a Latin-1
   * byte as U+FFFD), and an empty file read as clean would wave a register through. `exact`: the
   * format's listed sizes are the real ones (7z, RAR, tar, cab); a gzip's is only what its
   * trailer claims, so there an empty output for a listed size fails.
   */
  async extract(entry: Pick<SevenZipEntry, 'path' | 'size'>, exact: boolean, maxBytes: number, deadline: number): Promise<Buffer> {
    const r = await run(['x', '-so', '-bd', '-y', '-spd', '-mmt1', DUMMY_PASSWORD, '--', this.file as string, entry.path], deadline, maxBytes);
    if (r.overflow) throw new SevenZipLimitError('too-big');
    if (r.code !== 0) throw new SevenZipLimitError('failed');
    if (exact ? r.stdout.length !== entry.size : entry.size > 0 && r.stdout.length === 0) throw new SevenZipLimitError('failed');
    return r.stdout;
  }

  /**
   * Extracts every file in one run (`7z x -so`), cutting the output by the listed sizes. Only for
   * archives with no encrypted entry whose sizes are all within the caps; the caller falls back
   * to extract() per entry when this rejects (sizes that do not add up, a damaged archive).
   */
  async extractAll(sizes: number[], deadline: number): Promise<Buffer[]> {
    const expected = sizes.reduce((a, b) => a + b, 0);
    const r = await run(['x', '-so', '-bd', '-y', '-mmt1', DUMMY_PASSWORD, '--', this.file as string], deadline, expected);
    if (r.overflow || r.code !== 0 || r.stdout.length !== expected) throw new SevenZipLimitError('failed');
    // Each entry in a buffer of its own: a large one is handed to a worker thread by moving its
    // memory there, which must not take the other entries with it.
    const out: Buffer[] = [];
    let offset = 0;
    for (const n of sizes) {
      const own = Buffer.allocUnsafeSlow(n);
      r.stdout.copy(own, 0, offset, offset + n);
      out.push(own);
      offset += n;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.remove?.();
    this.remove = undefined;
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
