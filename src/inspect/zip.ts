// ZIP reading with yauzl, safe on hostile input: entries are listed lazily from the central
// directory, every read is counted against a byte cap and a compression-ratio cap, and yauzl's
// validateEntrySizes stops an entry whose declared sizes lie (extraction.md §1).
import { inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';

export interface ZipEntryInfo {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  isDirectory: boolean;
  encrypted: boolean;
  /** 'zipcrypto' | 'winzip-aes' | 'pkware-strong' */
  encryptionDetail?: string;
  /** The entry uses a compression method yauzl cannot decode (bzip2, LZMA, Deflate64, zstd, …). */
  unsupportedMethod: boolean;
  /** Its directory entry says encrypted, its own (local) header says not: unzip tools read it without a password. */
  headersDisagree?: boolean;
  entry: Entry;
}

export type ZipProblem = 'too-big' | 'ratio' | 'sizes-lie' | 'damaged' | 'budget';

export class ZipLimitError extends Error {
  readonly problem: ZipProblem;
  constructor(problem: ZipProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

/** Below this many bytes an entry is never called a bomb, however well it compresses. */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

export function openZip(bytes: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) reject(err ?? new Error('zip did not open'));
      else resolve(zip);
    });
  });
}

/** Whether the local header at `offset` says its entry is encrypted; undefined where there is no local header to read. */
function localHeaderEncrypted(bytes: Uint8Array, offset: number): boolean | undefined {
  if (offset < 0 || offset + 30 > bytes.length || bytes[offset] !== 0x50 || bytes[offset + 1] !== 0x4b || bytes[offset + 2] !== 0x03 || bytes[offset + 3] !== 0x04) return undefined;
  const flag = bytes[offset + 6] | (bytes[offset + 7] << 8);
  const method = bytes[offset + 8] | (bytes[offset + 9] << 8);
  return (flag & 0x0001) !== 0 || (flag & 0x0040) !== 0 || method === 99;
}

function describeEntry(entry: Entry, bytes?: Uint8Array): ZipEntryInfo {
  const flag = entry.generalPurposeBitFlag;
  const encrypted = (flag & 0x0001) !== 0 || (flag & 0x0040) !== 0 || entry.compressionMethod === 99;
  // An entry whose directory says encrypted but whose own header does not: 7-Zip and unzip
  // extract it without a password. Never counted as encrypted (it would wave the file through).
  const headersDisagree = encrypted && bytes !== undefined && localHeaderEncrypted(bytes, entry.relativeOffsetOfLocalHeader) === false;
  let encryptionDetail: string | undefined;
  if (encrypted) {
    const extraIds = entry.extraFields.map((f) => f.id);
    if (entry.compressionMethod === 99 || extraIds.includes(0x9901)) encryptionDetail = 'winzip-aes';
    else if ((flag & 0x0040) !== 0 || extraIds.includes(0x0017)) encryptionDetail = 'pkware-strong';
    else encryptionDetail = 'zipcrypto';
  }
  const name = entry.fileName;
  return {
    name,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    // A folder holds nothing: an entry named like one that has bytes is read as a file.
    isDirectory: name.endsWith('/') && entry.uncompressedSize === 0,
    encrypted,
    encryptionDetail,
    unsupportedMethod: !encrypted && entry.compressionMethod !== 0 && entry.compressionMethod !== 8,
    ...(headersDisagree ? { headersDisagree } : {}),
    entry,
  };
}

/**
 * Lists the entries of an open zip. Refuses (throws ZipLimitError 'budget') before reading the
 * directory when the archive claims more entries than `maxEntries`.
 */
export function listZip(zip: ZipFile, maxEntries: number, bytes?: Uint8Array): Promise<ZipEntryInfo[]> {
  if (zip.entryCount > maxEntries) {
    zip.close();
    return Promise.reject(new ZipLimitError('budget', 'too many entries'));
  }
  return new Promise((resolve, reject) => {
    const entries: ZipEntryInfo[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(describeEntry(entry, bytes));
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (err: Error) => reject(err));
    zip.readEntry();
  });
}

export interface ReadCaps {
  /** Most bytes this entry may inflate to. */
  maxBytes: number;
  maxRatio: number;
}

/**
 * Streams one entry's decompressed bytes to `onChunk`, stopping with a ZipLimitError when the
 * entry outgrows `maxBytes`, its compression ratio passes `maxRatio`, or its declared size lies.
 * Returns the number of bytes read.
 */
export function streamZipEntry(zip: ZipFile, info: ZipEntryInfo, caps: ReadCaps, onChunk: (chunk: Buffer) => void): Promise<number> {
  const ratioLimit = Math.max(RATIO_FLOOR_BYTES, Math.max(1, info.compressedSize) * caps.maxRatio);
  // The ratio first: a bomb is worth naming as one even when it is also over the size limit.
  if (info.uncompressedSize > ratioLimit) return Promise.reject(new ZipLimitError('ratio', 'compression ratio over the limit'));
  if (info.uncompressedSize > caps.maxBytes) return Promise.reject(new ZipLimitError('too-big', 'entry larger than the limit'));
  return new Promise((resolve, reject) => {
    zip.openReadStream(info.entry, (err, stream) => {
      if (err || !stream) {
        reject(classifyZipError(err));
        return;
      }
      let total = 0;
      let settled = false;
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        stream.destroy();
        reject(e);
      };
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        total += chunk.length;
        if (total > ratioLimit) return fail(new ZipLimitError('ratio', 'compression ratio over the limit'));
        if (total > caps.maxBytes) return fail(new ZipLimitError('too-big', 'entry larger than the limit'));
        try {
          onChunk(chunk);
        } catch (e) {
          fail(e as Error);
        }
      });
      stream.once('error', (e: Error) => fail(classifyZipError(e)));
      stream.once('end', () => {
        if (settled) return;
        settled = true;
        resolve(total);
      });
    });
  });
}

/** The entry's stored (compressed) bytes, exactly compressedSize of them. */
function readRaw(zip: ZipFile, info: ZipEntryInfo): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(info.entry, { decompress: false }, (err, stream) => {
      if (err || !stream) {
        reject(classifyZipError(err));
        return;
      }
      const out = Buffer.allocUnsafe(info.compressedSize);
      let pos = 0;
      let failed = false;
      stream.on('data', (chunk: Buffer) => {
        if (failed) return;
        if (pos + chunk.length > out.length) {
          failed = true;
          stream.destroy();
          reject(new ZipLimitError('sizes-lie', 'more stored bytes than declared'));
          return;
        }
        chunk.copy(out, pos);
        pos += chunk.length;
      });
      stream.once('error', (e: Error) => {
        if (!failed) reject(classifyZipError(e));
        failed = true;
      });
      stream.once('end', () => {
        if (failed) return;
        if (pos !== out.length) reject(new ZipLimitError('sizes-lie', 'fewer stored bytes than declared'));
        else resolve(out);
      });
    });
  });
}

/**
 * Reads one entry into a single buffer of its declared size: the stored bytes are read, then
 * inflated in one call whose only output buffer is that size and which refuses to write more
 * (a lying entry fails instead of being cut). No trail of 16 KB chunks for the GC to find later.
 */
export async function readZipEntry(zip: ZipFile, info: ZipEntryInfo, caps: ReadCaps): Promise<Buffer> {
  const declared = info.uncompressedSize;
  if (declared > Math.max(RATIO_FLOOR_BYTES, Math.max(1, info.compressedSize) * caps.maxRatio)) throw new ZipLimitError('ratio', 'compression ratio over the limit');
  if (declared > caps.maxBytes) throw new ZipLimitError('too-big', 'entry larger than the limit');
  if (info.entry.compressionMethod === 0) {
    // Stored: the bytes as they are, streamed into one buffer of the declared size.
    const out = Buffer.allocUnsafe(declared);
    let pos = 0;
    await streamZipEntry(zip, info, caps, (chunk) => {
      if (pos + chunk.length > out.length) throw new ZipLimitError('sizes-lie', 'entry larger than declared');
      chunk.copy(out, pos);
      pos += chunk.length;
    });
    if (pos !== declared) throw new ZipLimitError('sizes-lie', 'entry shorter than declared');
    return out;
  }
  const raw = await readRaw(zip, info);
  let out: Buffer;
  try {
    out = inflateRawSync(raw, { chunkSize: Math.max(64, declared + 1), maxOutputLength: Math.max(1, declared) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new ZipLimitError('sizes-lie', 'entry larger than declared');
    throw new ZipLimitError('damaged', 'damaged');
  }
  if (out.length !== declared) throw new ZipLimitError('sizes-lie', 'entry size differs from declared');
  return out;
}

export function classifyZipError(err: unknown): ZipLimitError {
  if (err instanceof ZipLimitError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes('too many bytes') || message.includes('not enough bytes') || message.includes('expected') || message.includes('Invalid size')) {
    return new ZipLimitError('sizes-lie', 'declared sizes do not match the contents');
  }
  return new ZipLimitError('damaged', 'damaged');
}

/**
 * For an archive yauzl refused: do the first local header's flags say it is encrypted
 * (bit 0, or bit 13 for an encrypted central directory)?
 */
export function firstLocalHeaderEncryption(bytes: Uint8Array): string | undefined {
  if (bytes.length < 30 || bytes[0] !== 0x50 || bytes[1] !== 0x4b || bytes[2] !== 0x03 || bytes[3] !== 0x04) return undefined;
  const flag = bytes[6] | (bytes[7] << 8);
  if (flag & 0x2000) return 'zip-encrypted-directory';
  if (flag & 0x0040) return 'pkware-strong';
  const method = bytes[8] | (bytes[9] << 8);
  if (method === 99) return 'winzip-aes';
  if (flag & 0x0001) return 'zipcrypto';
  return undefined;
}

/**
 * For a zip the library will not open (it refuses PKWARE strong encryption, SecureZIP's, and some
 * names): read its list of files here, and call it encrypted only when every file in it is, by
 * its list entry and by its own header alike ('pkware-strong', 'winzip-aes' or 'zipcrypto', the
 * first file's); undefined otherwise, or when there is no list to read.
 */
export function everyEntryEncrypted(bytes: Uint8Array): string | undefined {
  const u16 = (at: number) => bytes[at] | (bytes[at + 1] << 8);
  const u32 = (at: number) => (u16(at) | (u16(at + 2) << 16)) >>> 0;
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const count = u16(eocd + 10);
  let at = u32(eocd + 16);
  if (count === 0 || at >= eocd) return undefined;
  let detail: string | undefined;
  for (let n = 0; n < count; n++) {
    if (at + 46 > eocd || u32(at) !== 0x02014b50) return undefined;
    const flag = u16(at + 8);
    const method = u16(at + 10);
    const nameLength = u16(at + 28);
    const size = u32(at + 24);
    const isFolder = size === 0 && bytes[at + 46 + nameLength - 1] === 0x2f;
    if (!isFolder) {
      const listed = (flag & 0x0041) !== 0 || method === 99;
      if (!listed || localHeaderEncrypted(bytes, u32(at + 42)) !== true) return undefined;
      detail ??= method === 99 ? 'winzip-aes' : (flag & 0x0040) !== 0 ? 'pkware-strong' : 'zipcrypto';
    }
    at += 46 + nameLength + u16(at + 30) + u16(at + 32);
  }
  return detail;
}

/** Natural order for names like slide2.xml, slide10.xml. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
