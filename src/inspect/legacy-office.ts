// Compound File (CFB/OLE) formats: legacy Word (.doc), Excel (.xls), PowerPoint (.ppt), Outlook
// (.msg, read elsewhere) and password-protected Office Open XML, which is a CFB holding
// EncryptionInfo + EncryptedPackage rather than a ZIP (facts.md, "Encrypted files").
//
// Text comes straight from the binary structures: the .doc piece table, the .xls BIFF8 cell and
// shared-string records, the .ppt text atoms. An .xls encrypted with Excel's built-in password
// "VelvetSweatshop" opens without a prompt, so it is not protected: it is decrypted here and read.
import { createHash } from 'node:crypto';
import CFB from 'cfb';
import iconv from 'iconv-lite';
import { TextSink } from './text.ts';
import { excelSerialToDate, isDateFormatCode } from './office-xml.ts';
import type { Encryption } from './types.ts';

export type CfbContainer = ReturnType<typeof CFB.read>;

export interface CfbFinding {
  format: 'doc' | 'xls' | 'ppt' | 'msg' | 'ooxml' | 'cfb';
  mime: string;
  encryption: Encryption;
  encryptionDetail?: string;
  text?: string;
  truncated?: boolean;
  /** Plain-English reasons the contents could not be (fully) read. */
  problems: string[];
  /** For password-protected OOXML: the streams, to try Excel's default password on. */
  encryptedOoxml?: { info: Buffer; pkg: Buffer };
}

export const MIME = {
  doc: 'application/msword',
  xls: 'application/vnd.ms-excel',
  ppt: 'application/vnd.ms-powerpoint',
  msg: 'application/vnd.ms-outlook',
  ooxml: 'application/x-encrypted-ooxml',
  cfb: 'application/x-cfb',
};

export function readCfb(bytes: Buffer): CfbContainer {
  return CFB.read(bytes, { type: 'buffer' });
}

export function stream(container: CfbContainer, name: string): Buffer | undefined {
  // Only top-level streams: an embedded object's WordDocument must not be taken for the file's.
  // Names in a compound file are compared without case.
  const wanted = ('Root Entry/' + name).toLowerCase();
  let idx = container.FullPaths.indexOf('Root Entry/' + name);
  if (idx < 0) idx = container.FullPaths.findIndex((p) => p.toLowerCase() === wanted);
  if (idx < 0) return undefined;
  const entry = container.FileIndex[idx];
  if (!entry || entry.type !== 2 || !entry.content) return undefined;
  return Buffer.isBuffer(entry.content) ? entry.content : Buffer.from(entry.content as unknown as number[]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_START = Buffer.from([0xff, 0xd8, 0xff]);

/** Steps the picture search may take in one file (chunks and markers walked, candidates tried). */
const PICTURE_SEARCH_STEPS = 2_000_000;

/** Counts the steps of one file's picture search; past the limit every walk gives up. */
interface Steps { left: number }

/** Where a PNG starting at `start` ends (after its IEND chunk), or -1 when its chunks do not hold together. */
function pngEnd(b: Buffer, start: number, steps: Steps): number {
  let pos = start + 8;
  while (pos + 12 <= b.length && steps.left-- > 0) {
    const length = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    pos += 12 + length;
    if (pos > b.length || !/^[A-Za-z]{4}$/.test(type)) return -1;
    if (type === 'IEND') return pos;
  }
  return -1;
}

/**
 * Where a JPEG starting at `start` ends (after its EOI marker), or -1: markers and their lengths,
 * and after each start of scan its entropy-coded data, where a 0xFF byte is followed only by a
 * stuffed zero or a restart marker until the next marker.
 */
function jpegEnd(b: Buffer, start: number, steps: Steps): number {
  let pos = start + 2;
  while (pos + 2 <= b.length && steps.left-- > 0) {
    if (b[pos] !== 0xff) return -1;
    const marker = b[pos + 1];
    if (marker === 0xff) {
      pos++;
      continue;
    }
    if (marker === 0xd9) return pos + 2;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2;
      continue;
    }
    if (pos + 4 > b.length) return -1;
    pos += 2 + b.readUInt16BE(pos + 2);
    if (marker !== 0xda) continue;
    // Entropy-coded data, to the next marker.
    for (;;) {
      if (steps.left-- <= 0) return -1;
      pos = b.indexOf(0xff, pos);
      if (pos < 0 || pos + 1 >= b.length) return -1;
      const next = b[pos + 1];
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) pos += next === 0xff ? 1 : 2;
      else break;
    }
  }
  return -1;
}

/**
 * Pictures stored whole in an Office 97 file's streams (Word keeps a pasted picture in its Data
 * stream, PowerPoint in Pictures): JPEG and PNG found by their signatures and measured by their
 * own structure, so a scanned form pasted into a .doc reaches text recognition as one pasted into a
 * .docx does. At most `max`; views, not copies. Linear: each signature is searched for once past
 * the last, and the walks share one budget of steps; `complete` is false when it ran out (a file
 * built to make the search slow), and the file then counts as not fully read.
 */
export function storedPictures(container: CfbContainer, max: number): { pictures: Array<{ name: string; format: 'jpg' | 'png'; bytes: Buffer }>; complete: boolean } {
  const pictures: Array<{ name: string; format: 'jpg' | 'png'; bytes: Buffer }> = [];
  const steps: Steps = { left: PICTURE_SEARCH_STEPS };
  container.FullPaths.forEach((path, k) => {
    const entry = container.FileIndex[k];
    // The file's own streams only: embedded objects are read as files of their own.
    if (pictures.length >= max || steps.left <= 0 || !entry || entry.type !== 2 || !entry.content || path.split('/').filter(Boolean).length !== 2) return;
    const b = Buffer.isBuffer(entry.content) ? entry.content : Buffer.from(entry.content as unknown as number[]);
    let png = b.indexOf(PNG_SIGNATURE);
    let jpg = b.indexOf(JPEG_START);
    while (pictures.length < max && (png >= 0 || jpg >= 0) && steps.left-- > 0) {
      const isPng = jpg < 0 || (png >= 0 && png < jpg);
      const at = isPng ? png : jpg;
      const end = isPng ? pngEnd(b, at, steps) : jpegEnd(b, at, steps);
      if (end >= 0) pictures.push({ name: `${entry.name}/picture ${pictures.length + 1}.${isPng ? 'png' : 'jpg'}`, format: isPng ? 'png' : 'jpg', bytes: b.subarray(at, end) });
      const from = end >= 0 ? end : at + 3;
      // Only the signature found behind `from` is looked for again.
      if (png >= 0 && png < from) png = b.indexOf(PNG_SIGNATURE, from);
      if (jpg >= 0 && jpg < from) jpg = b.indexOf(JPEG_START, from);
    }
  });
  return { pictures, complete: steps.left > 0 };
}

/**
 * The objects embedded in a Word, Excel or PowerPoint 97 file (a spreadsheet in a letter, the data
 * behind a chart): Word keeps each in a storage under ObjectPool, Excel in a storage named MBD
 * and eight hex digits. Each comes back as a container file of its own, so it is read as one
 * (an embedded Excel sheet is a Workbook stream at its root). PowerPoint keeps its objects inside
 * its document stream, compressed: those are not found here.
 */
export function embeddedObjects(container: CfbContainer): Array<{ name: string; bytes: Buffer }> {
  const storages = new Map<string, CfbContainer>();
  container.FullPaths.forEach((path, i) => {
    const m = /^Root Entry\/(ObjectPool\/[^/]+|MBD[0-9A-Fa-f]{8})\/(.+)$/.exec(path);
    const entry = container.FileIndex[i];
    if (!m || !entry || entry.type !== 2 || !entry.content) return;
    let inner = storages.get(m[1]);
    if (!inner) {
      inner = CFB.utils.cfb_new();
      storages.set(m[1], inner);
    }
    const content = Buffer.isBuffer(entry.content) ? entry.content : Buffer.from(entry.content as unknown as number[]);
    CFB.utils.cfb_add(inner, '/' + m[2], content);
  });
  return [...storages].map(([name, inner]) => ({ name: name.replace('ObjectPool/', 'object-'), bytes: Buffer.from(CFB.write(inner, { type: 'buffer' }) as Uint8Array) }));
}

/**
 * What an embedded OLE object holds, when it holds a file: a packaged file (Ole10Native: the
 * file's name and bytes, as Windows' Object Packager writes them), an Office 2007 document
 * embedded in an older one (its Package stream), or a PDF (Acrobat's CONTENTS stream). 'office'
 * when the object is itself a Word, Excel, PowerPoint or Outlook file (read as one); 'other' for an
 * equation or a picture object, which is neither read nor held; 'unknown' for anything else (held).
 */
export function oleObjectFile(container: CfbContainer): { name?: string; bytes: Buffer } | 'office' | 'other' | 'unknown' {
  if (stream(container, 'WordDocument') || stream(container, 'Workbook') || stream(container, 'Book') || stream(container, 'PowerPoint Document') || stream(container, 'EncryptionInfo') || isMsg(container)) return 'office';
  const pkg = stream(container, 'Package') ?? stream(container, 'CONTENTS');
  if (pkg) return { bytes: pkg };
  const native = stream(container, '\u0001Ole10Native');
  if (native) return ole10Native(native) ?? { bytes: native.subarray(Math.min(4, native.length)) };
  // Another program's object only when every stream in it is one an equation or a picture object
  // is made of; anything else (a Visio drawing, a Publisher page) is held as not read.
  const streams = container.FullPaths.filter((p, i) => container.FileIndex[i]?.type === 2).map((p) => p.slice(p.lastIndexOf('/') + 1).toLowerCase());
  return streams.every((s) => OBJECT_ONLY_STREAMS.has(s) || s.startsWith('\u0002olepres')) ? 'other' : 'unknown';
}

/**
 * The streams of an OLE object that hold no text anyone wrote: its class and presentation, an
 * equation (and the empty marker stream SheetJS's cfb writer adds to every file it makes).
 */
const OBJECT_ONLY_STREAMS = new Set(['\u0001compobj', '\u0001ole', '\u0003objinfo', 'equation native', '\u0001sh33tj5']);

/** Ole10Native: size, a flag, the file's name, its source path, two numbers, a temp path, the data's size and the data. Undefined when it does not add up. */
function ole10Native(b: Buffer): { name: string; bytes: Buffer } | undefined {
  let at = 6;
  const zstring = (): string | undefined => {
    const end = b.indexOf(0, at);
    if (end < 0) return undefined;
    const s = b.toString('latin1', at, end);
    at = end + 1;
    return s;
  };
  if (b.length < 6) return undefined;
  const name = zstring();
  if (name === undefined || zstring() === undefined) return undefined;
  at += 8;
  if (zstring() === undefined || at + 4 > b.length) return undefined;
  const size = b.readUInt32LE(at);
  at += 4;
  if (at + size > b.length) return undefined;
  return { name: name || 'packaged file', bytes: b.subarray(at, at + size) };
}

export function isMsg(container: CfbContainer): boolean {
  return container.FullPaths.some((p) => p.startsWith('Root Entry/__substg1.0_') || p === 'Root Entry/__properties_version1.0');
}

/** Classifies a CFB file and, for the legacy Office formats, reads its text. */
export function analyseCfb(container: CfbContainer, maxChars: number): CfbFinding {
  const info = stream(container, 'EncryptionInfo');
  const pkg = stream(container, 'EncryptedPackage');
  if (info && pkg) {
    const major = info.length >= 4 ? info.readUInt16LE(0) : 0;
    const minor = info.length >= 4 ? info.readUInt16LE(2) : 0;
    let detail = 'ooxml-encrypted';
    if (major === 4 && minor === 4) detail = 'ooxml-agile';
    else if (minor === 2 && major >= 2 && major <= 4) detail = 'ooxml-standard';
    else if (minor === 3 && (major === 3 || major === 4)) detail = 'ooxml-extensible';
    return { format: 'ooxml', mime: MIME.ooxml, encryption: 'encrypted', encryptionDetail: detail, problems: [], encryptedOoxml: { info, pkg } };
  }
  if (container.FullPaths.some((p) => p.startsWith('Root Entry/\u0006DataSpaces'))) {
    return { format: 'ooxml', mime: MIME.ooxml, encryption: 'encrypted', encryptionDetail: 'rights-management', problems: [] };
  }
  const word = stream(container, 'WordDocument');
  if (word) return analyseDoc(container, word, maxChars);
  const book = stream(container, 'Workbook') ?? stream(container, 'Book');
  if (book) return analyseXls(book, maxChars);
  const ppt = stream(container, 'PowerPoint Document');
  if (ppt) return analysePpt(container, ppt, maxChars);
  if (isMsg(container)) return { format: 'msg', mime: MIME.msg, encryption: 'not-encrypted', problems: [] };
  return { format: 'cfb', mime: MIME.cfb, encryption: 'unknown', problems: ['This is a compound document of a kind that is not read'] };
}

// ---------------------------------------------------------------------------------------------
// Word 97–2003 (.doc), [MS-DOC]

function analyseDoc(container: CfbContainer, word: Buffer, maxChars: number): CfbFinding {
  const base: CfbFinding = { format: 'doc', mime: MIME.doc, encryption: 'not-encrypted', problems: [] };
  if (word.length < 0x1aa || word.readUInt16LE(0) !== 0xa5ec) {
    base.encryption = 'unknown';
    base.problems.push('The Word document is damaged or of an unknown version');
    return base;
  }
  const flags = word.readUInt16LE(0x0a);
  const tableName = flags & 0x0200 ? '1Table' : '0Table';
  const table = stream(container, tableName);
  if (flags & 0x0100) {
    base.encryption = 'encrypted';
    if (flags & 0x8000) base.encryptionDetail = 'doc-xor';
    else if (table && table.length >= 4) {
      const major = table.readUInt16LE(0);
      const minor = table.readUInt16LE(2);
      base.encryptionDetail = major === 1 && minor === 1 ? 'doc-rc4' : 'doc-rc4-cryptoapi';
    } else base.encryptionDetail = 'doc-encrypted';
    return base;
  }
  if (!table) {
    base.problems.push('The Word document is damaged (no table stream)');
    return base;
  }
  try {
    const { text, truncated } = docText(word, table, maxChars);
    base.text = text;
    base.truncated = truncated;
  } catch {
    base.problems.push('The Word document is damaged and its text could not be read');
  }
  return base;
}

/** The document's characters through the piece table (Clx/PlcPcd), fields shown by their results. */
export function docText(word: Buffer, table: Buffer, maxChars: number): { text: string; truncated: boolean } {
  const fcClx = word.readUInt32LE(0x1a2);
  const lcbClx = word.readUInt32LE(0x1a6);
  if (lcbClx === 0 || fcClx + lcbClx > table.length) throw new Error('no piece table');
  const clx = table.subarray(fcClx, fcClx + lcbClx);
  let pos = 0;
  let plc: Buffer | undefined;
  while (pos < clx.length) {
    const kind = clx[pos];
    if (kind === 0x01) {
      const cb = clx.readInt16LE(pos + 1);
      pos += 3 + Math.max(0, cb);
    } else if (kind === 0x02) {
      const lcb = clx.readUInt32LE(pos + 1);
      plc = clx.subarray(pos + 5, pos + 5 + lcb);
      break;
    } else throw new Error('bad clx');
  }
  if (!plc || plc.length < 16) throw new Error('no pieces');
  const n = Math.floor((plc.length - 4) / 12);
  const sink = new TextSink(maxChars);
  // Field state: a stack of "instruction" (hidden) or "result" (shown) entries.
  const fields: number[] = [];
  let hiddenDepth = 0;
  const emit = (s: string): void => {
    let run = '';
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20) {
        if (!hiddenDepth) run += s[i];
        continue;
      }
      if (c === 0x13) {
        fields.push(1);
        hiddenDepth++;
      } else if (c === 0x14) {
        if (fields.length && fields[fields.length - 1] === 1) {
          fields[fields.length - 1] = 0;
          hiddenDepth--;
        }
      } else if (c === 0x15) {
        if (fields.length && fields.pop() === 1) hiddenDepth--;
      } else if (!hiddenDepth) {
        if (c === 0x0d || c === 0x0b || c === 0x0c) run += '\n';
        else if (c === 0x07) run += '\t';
        else if (c === 0x09) run += '\t';
        else if (c === 0x1e) run += '-';
      }
    }
    sink.push(run);
  };
  for (let i = 0; i < n && !sink.full; i++) {
    const cpStart = plc.readUInt32LE(i * 4);
    const cpEnd = plc.readUInt32LE((i + 1) * 4);
    if (cpEnd <= cpStart) continue;
    const count = Math.min(cpEnd - cpStart, maxChars);
    const pcd = 4 * (n + 1) + i * 8;
    const fcValue = plc.readUInt32LE(pcd + 2);
    const compressed = (fcValue & 0x40000000) !== 0;
    const fc = fcValue & 0x3fffffff;
    if (compressed) {
      const start = fc / 2;
      const end = Math.min(word.length, start + count);
      if (start >= end) continue;
      emit(iconv.decode(word.subarray(start, end), 'windows-1252'));
    } else {
      const end = Math.min(word.length, fc + count * 2);
      if (fc >= end) continue;
      emit(word.toString('utf16le', fc, end - ((end - fc) & 1)));
    }
  }
  return { text: sink.toString(), truncated: sink.truncated };
}

// ---------------------------------------------------------------------------------------------
// RC4 and the Office binary key derivations, [MS-OFFCRYPTO] 2.3.5 / 2.3.6

class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;
  constructor(key: Uint8Array) {
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      j = (j + s[k] + key[k % key.length]) & 0xff;
      const t = s[k];
      s[k] = s[j];
      s[j] = t;
    }
  }
  next(): number {
    const s = this.s;
    this.i = (this.i + 1) & 0xff;
    this.j = (this.j + s[this.i]) & 0xff;
    const t = s[this.i];
    s[this.i] = s[this.j];
    s[this.j] = t;
    return s[(s[this.i] + s[this.j]) & 0xff];
  }
  xor(data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    for (let k = 0; k < data.length; k++) out[k] = data[k] ^ this.next();
    return out;
  }
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

type BlockKey = (block: number) => Buffer;

/** RC4 "standard" (version 1.1): MD5 based, 40-bit base key. */
export function rc4StandardKey(password: string, salt: Buffer): BlockKey {
  const h0 = createHash('md5').update(Buffer.from(password, 'utf16le')).digest().subarray(0, 5);
  const buf = Buffer.alloc(16 * 21);
  for (let k = 0; k < 16; k++) {
    h0.copy(buf, k * 21);
    salt.copy(buf, k * 21 + 5);
  }
  const base = createHash('md5').update(buf).digest().subarray(0, 5);
  return (block) => createHash('md5').update(base).update(u32le(block)).digest();
}

/** RC4 CryptoAPI: SHA-1 based, key size from the header (40-bit keys padded to 128 bits). */
export function rc4CryptoApiKey(password: string, salt: Buffer, keyBits: number): BlockKey {
  const h0 = createHash('sha1').update(salt).update(Buffer.from(password, 'utf16le')).digest();
  const bytes = Math.max(5, Math.min(16, Math.floor((keyBits || 40) / 8)));
  return (block) => {
    const h = createHash('sha1').update(h0).update(u32le(block)).digest();
    const key = Buffer.alloc(bytes === 5 ? 16 : bytes);
    h.copy(key, 0, 0, bytes);
    return key;
  };
}

function verifies(key: BlockKey, encVerifier: Buffer, encHash: Buffer, hash: 'md5' | 'sha1'): boolean {
  const rc4 = new Rc4(key(0));
  const verifier = rc4.xor(encVerifier);
  const verifierHash = rc4.xor(encHash);
  const expect = createHash(hash).update(verifier).digest();
  return expect.subarray(0, verifierHash.length).equals(verifierHash.subarray(0, expect.length));
}

/** XOR obfuscation password verifier, [MS-OFFCRYPTO] 2.3.7.1. */
export function xorPasswordVerifier(password: string): number {
  const bytes = [password.length, ...Buffer.from(password, 'latin1')];
  let verifier = 0;
  for (let k = bytes.length - 1; k >= 0; k--) {
    const i1 = verifier & 0x4000 ? 1 : 0;
    const i2 = (verifier * 2) & 0x7fff;
    verifier = (i1 | i2) ^ bytes[k];
  }
  return verifier ^ 0xce4b;
}

/** Keystream over a whole stream, rekeyed every 1024 bytes, moving forward only. */
class BlockKeystream {
  private readonly key: BlockKey;
  private block = -1;
  private pos = 0;
  private rc4: Rc4 | undefined;
  constructor(key: BlockKey) {
    this.key = key;
  }
  private seek(p: number): void {
    const b = Math.floor(p / 1024);
    if (b !== this.block || p < this.pos || !this.rc4) {
      this.block = b;
      this.rc4 = new Rc4(this.key(b));
      this.pos = b * 1024;
    }
    while (this.pos < p) {
      this.rc4.next();
      this.pos++;
    }
  }
  /** XORs buf[start, end) in place, where buf offsets are stream offsets. */
  apply(buf: Buffer, start: number, end: number): void {
    for (let p = start; p < end; p++) {
      this.seek(p);
      buf[p] ^= (this.rc4 as Rc4).next();
      this.pos++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Excel 97–2003 (.xls), BIFF8, [MS-XLS]

const VELVET = 'VelvetSweatshop';
// Records that stay in clear text in an encrypted workbook stream (MS-XLS 2.2.10).
const clearRecords = new Set([0x0809, 0x002f, 0x0194, 0x0195, 0x00e1, 0x0196, 0x0138]);

interface FilePass {
  detail: string;
  velvet: boolean;
  key?: BlockKey;
}

function readFilePass(data: Buffer): FilePass {
  const type = data.readUInt16LE(0);
  if (type === 0) {
    const verifier = data.length >= 6 ? data.readUInt16LE(4) : -1;
    return { detail: 'xls-xor', velvet: verifier === xorPasswordVerifier(VELVET) };
  }
  const major = data.readUInt16LE(2);
  const minor = data.readUInt16LE(4);
  if (major === 1 && minor === 1 && data.length >= 54) {
    const salt = data.subarray(6, 22);
    const key = rc4StandardKey(VELVET, salt);
    const velvet = verifies(key, data.subarray(22, 38), data.subarray(38, 54), 'md5');
    return { detail: 'xls-rc4', velvet, key: velvet ? key : undefined };
  }
  if (minor === 2 && data.length >= 14) {
    const headerSize = data.readUInt32LE(10);
    const header = data.subarray(14, 14 + headerSize);
    const keyBits = header.length >= 20 ? header.readUInt32LE(16) : 40;
    const v = 14 + headerSize;
    if (data.length >= v + 4 + 16 + 16 + 4 + 20) {
      const salt = data.subarray(v + 4, v + 20);
      const key = rc4CryptoApiKey(VELVET, salt, keyBits);
      const velvet = verifies(key, data.subarray(v + 20, v + 36), data.subarray(v + 40, v + 60), 'sha1');
      return { detail: 'xls-rc4-cryptoapi', velvet, key: velvet ? key : undefined };
    }
  }
  return { detail: 'xls-filepass', velvet: false };
}

/** Decrypts an RC4-encrypted workbook stream in a copy, leaving the clear-text records alone. */
function decryptWorkbook(book: Buffer, key: BlockKey): Buffer {
  const out = Buffer.from(book);
  const ks = new BlockKeystream(key);
  let pos = 0;
  while (pos + 4 <= out.length) {
    const type = out.readUInt16LE(pos);
    const size = out.readUInt16LE(pos + 2);
    const start = pos + 4;
    const end = Math.min(out.length, start + size);
    if (!clearRecords.has(type)) {
      // BoundSheet8's stream position (first 4 bytes) is not encrypted.
      ks.apply(out, type === 0x0085 ? Math.min(end, start + 4) : start, end);
    }
    pos = end;
  }
  return out;
}

function analyseXls(book: Buffer, maxChars: number): CfbFinding {
  const base: CfbFinding = { format: 'xls', mime: MIME.xls, encryption: 'not-encrypted', problems: [] };
  if (book.length < 8 || book.readUInt16LE(0) !== 0x0809) {
    base.encryption = 'unknown';
    base.problems.push('The Excel workbook is in an old (Excel 5/95 or earlier) or damaged format that is not read');
    return base;
  }
  // FILEPASS, when present, comes before the first EOF of the globals substream.
  let pos = 0;
  let filePass: FilePass | undefined;
  while (pos + 4 <= book.length) {
    const type = book.readUInt16LE(pos);
    const size = book.readUInt16LE(pos + 2);
    if (type === 0x000a) break;
    if (type === 0x002f) {
      filePass = readFilePass(book.subarray(pos + 4, pos + 4 + size));
      break;
    }
    pos += 4 + size;
  }
  let stream = book;
  if (filePass) {
    if (!filePass.velvet) {
      base.encryption = 'encrypted';
      base.encryptionDetail = filePass.detail;
      return base;
    }
    // Opens without a password: not protected.
    base.encryptionDetail = 'xls-velvetsweatshop';
    if (!filePass.key) {
      base.problems.push("The workbook uses Excel's built-in default password with an old obfuscation that is not read");
      return base;
    }
    stream = decryptWorkbook(book, filePass.key);
  }
  try {
    const { text, truncated } = xlsText(stream, maxChars);
    base.text = text;
    base.truncated = truncated;
  } catch {
    base.problems.push('The Excel workbook is damaged and its cells could not be read');
  }
  return base;
}

/** Reads data that may continue across CONTINUE records (for the shared string table). */
class SegmentReader {
  private readonly segments: Buffer[];
  private seg = 0;
  private off = 0;
  constructor(segments: Buffer[]) {
    this.segments = segments;
  }
  get done(): boolean {
    return this.seg >= this.segments.length;
  }
  private ensure(): void {
    while (this.seg < this.segments.length && this.off >= this.segments[this.seg].length) {
      this.seg++;
      this.off = 0;
    }
  }
  u8(): number {
    this.ensure();
    if (this.done) throw new Error('end');
    return this.segments[this.seg][this.off++];
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  u32(): number {
    return (this.u16() | (this.u16() << 16)) >>> 0;
  }
  skip(n: number): void {
    while (n > 0) {
      this.ensure();
      if (this.done) return;
      const room = this.segments[this.seg].length - this.off;
      const step = Math.min(room, n);
      this.off += step;
      n -= step;
    }
  }
  /** cch characters; at a CONTINUE boundary the character width is re-read from a new flags byte. */
  chars(cch: number, highByte: boolean): string {
    let out = '';
    let high = highByte;
    while (cch > 0) {
      this.ensure();
      if (this.done) break;
      const buf = this.segments[this.seg];
      if (this.off >= buf.length) continue;
      const room = buf.length - this.off;
      const take = Math.min(cch, high ? room >> 1 : room);
      if (take === 0) {
        this.seg++;
        this.off = 0;
        continue;
      }
      out += high ? buf.toString('utf16le', this.off, this.off + take * 2) : buf.toString('latin1', this.off, this.off + take);
      this.off += high ? take * 2 : take;
      cch -= take;
      if (cch > 0) {
        // continue in the next record, which starts with a flags byte
        this.seg++;
        this.off = 0;
        this.ensure();
        if (this.done) break;
        high = (this.u8() & 1) === 1;
      }
    }
    return out;
  }
}

function readSst(segments: Buffer[], maxChars: number): string[] {
  const reader = new SegmentReader(segments);
  const out: string[] = [];
  reader.u32(); // cstTotal
  const unique = reader.u32();
  let chars = 0;
  for (let k = 0; k < unique && !reader.done; k++) {
    const cch = reader.u16();
    const flags = reader.u8();
    const runs = flags & 0x08 ? reader.u16() : 0;
    const ext = flags & 0x04 ? reader.u32() : 0;
    const s = reader.chars(cch, (flags & 1) === 1);
    reader.skip(runs * 4 + ext);
    chars += s.length;
    out.push(chars <= maxChars ? s : '');
  }
  return out;
}

function xlString(data: Buffer, offset: number): string {
  if (offset + 3 > data.length) return '';
  const cch = data.readUInt16LE(offset);
  const high = (data[offset + 2] & 1) === 1;
  const start = offset + 3;
  return high ? data.toString('utf16le', start, Math.min(data.length, start + cch * 2)) : data.toString('latin1', start, Math.min(data.length, start + cch));
}

function rkValue(rk: number): number {
  let v: number;
  if (rk & 2) v = rk >> 2;
  else {
    const b = Buffer.alloc(8);
    b.writeUInt32LE((rk & 0xfffffffc) >>> 0, 4);
    v = b.readDoubleLE(0);
  }
  return rk & 1 ? v / 100 : v;
}

/** Every sheet's cells as tab-separated rows; dates as dd/mm/yyyy. */
export function xlsText(book: Buffer, maxChars: number): { text: string; truncated: boolean } {
  const sink = new TextSink(maxChars);
  let sst: string[] = [];
  const formats = new Map<number, string>();
  const xfFormats: number[] = [];
  const sheetNames = new Map<number, string>();
  let date1904 = false;
  let cells: Array<{ row: number; col: number; text: string }> = [];
  /** Text of the comments and text boxes drawn on the sheet (TxO), read after its cells. */
  let drawn: string[] = [];
  let inSheet = false;
  let pendingFormulaString: { row: number; col: number } | undefined;
  const isDateXf = (ixfe: number): boolean => {
    const ifmt = xfFormats[ixfe];
    if (ifmt === undefined) return false;
    if ((ifmt >= 14 && ifmt <= 22) || (ifmt >= 45 && ifmt <= 47)) return true;
    const code = formats.get(ifmt);
    return code ? isDateFormatCode(code) : false;
  };
  const number = (v: number, ixfe: number): string => (isDateXf(ixfe) ? (excelSerialToDate(v, date1904) ?? String(v)) : String(v));
  const flushSheet = (): void => {
    cells.sort((a, b) => a.row - b.row || a.col - b.col);
    let row = -1;
    for (const c of cells) {
      if (sink.full) break;
      if (c.row !== row) {
        if (row >= 0) sink.push('\n');
        row = c.row;
      } else sink.push('\t');
      sink.push(c.text);
    }
    sink.newline();
    cells = [];
  };
  const flushDrawn = (): void => {
    for (const t of drawn) {
      sink.push(t);
      sink.push('\n');
    }
    drawn = [];
  };
  let pos = 0;
  while (pos + 4 <= book.length && !sink.full) {
    const recordStart = pos;
    const type = book.readUInt16LE(pos);
    const size = book.readUInt16LE(pos + 2);
    const data = book.subarray(pos + 4, Math.min(book.length, pos + 4 + size));
    pos += 4 + size;
    switch (type) {
      case 0x0809: {
        // BOF: a worksheet substream starts (dt 0x0010)
        const dt = data.length >= 4 ? data.readUInt16LE(2) : 0;
        if (dt === 0x0010) {
          inSheet = true;
          const name = sheetNames.get(recordStart);
          if (name) {
            sink.push(name);
            sink.push('\n');
          }
        }
        break;
      }
      case 0x000a: // EOF
        if (inSheet) flushSheet();
        flushDrawn();
        inSheet = false;
        break;
      case 0x0022: // Date1904
        date1904 = data.length >= 2 && data.readUInt16LE(0) === 1;
        break;
      case 0x0085: // BoundSheet8
        if (data.length >= 8) {
          const cch = data[6];
          const high = (data[7] & 1) === 1;
          const name = high ? data.toString('utf16le', 8, 8 + cch * 2) : data.toString('latin1', 8, 8 + cch);
          sheetNames.set(data.readUInt32LE(0), name);
        }
        break;
      case 0x041e: // Format
        if (data.length >= 5) formats.set(data.readUInt16LE(0), xlString(data, 2));
        break;
      case 0x00e0: // XF
        if (data.length >= 4) xfFormats.push(data.readUInt16LE(2));
        break;
      case 0x00fc: {
        // SST, continued in CONTINUE (0x003C) records
        const segments = [data];
        let p = pos;
        while (p + 4 <= book.length && book.readUInt16LE(p) === 0x003c) {
          const s = book.readUInt16LE(p + 2);
          segments.push(book.subarray(p + 4, Math.min(book.length, p + 4 + s)));
          p += 4 + s;
        }
        pos = p;
        try {
          sst = readSst(segments, maxChars);
        } catch {
          // keep what was read
        }
        break;
      }
      case 0x00fd: // LabelSst
        if (data.length >= 10) cells.push({ row: data.readUInt16LE(0), col: data.readUInt16LE(2), text: sst[data.readUInt32LE(6)] ?? '' });
        break;
      case 0x0204: // Label
      case 0x00d6: // RString
        if (data.length >= 9) cells.push({ row: data.readUInt16LE(0), col: data.readUInt16LE(2), text: xlString(data, 6) });
        break;
      case 0x0203: // Number
        if (data.length >= 14) cells.push({ row: data.readUInt16LE(0), col: data.readUInt16LE(2), text: number(data.readDoubleLE(6), data.readUInt16LE(4)) });
        break;
      case 0x027e: // RK
        if (data.length >= 10) cells.push({ row: data.readUInt16LE(0), col: data.readUInt16LE(2), text: number(rkValue(data.readInt32LE(6)), data.readUInt16LE(4)) });
        break;
      case 0x00bd: {
        // MulRk
        if (data.length < 6) break;
        const row = data.readUInt16LE(0);
        const first = data.readUInt16LE(2);
        const count = Math.floor((data.length - 6) / 6);
        for (let k = 0; k < count; k++) {
          const o = 4 + k * 6;
          cells.push({ row, col: first + k, text: number(rkValue(data.readInt32LE(o + 2)), data.readUInt16LE(o)) });
        }
        break;
      }
      case 0x0006: {
        // Formula: the cached value
        if (data.length < 14) break;
        const row = data.readUInt16LE(0);
        const col = data.readUInt16LE(2);
        if (data[12] === 0xff && data[13] === 0xff) {
          const kind = data[6];
          if (kind === 0) pendingFormulaString = { row, col };
          else if (kind === 1) cells.push({ row, col, text: data[8] ? 'TRUE' : 'FALSE' });
        } else cells.push({ row, col, text: number(data.readDoubleLE(6), data.readUInt16LE(4)) });
        break;
      }
      case 0x0207: // String (a formula's text result)
        if (pendingFormulaString) {
          cells.push({ ...pendingFormulaString, text: xlString(data, 0) });
          pendingFormulaString = undefined;
        }
        break;
      case 0x01b6: {
        // TxO: a comment's or a text box's text, cchText characters in the CONTINUE records after
        // it, each starting with its characters' width (then one more with the formatting runs).
        let left = data.length >= 12 ? data.readUInt16LE(10) : 0;
        const parts: string[] = [];
        while (left > 0 && pos + 4 <= book.length && book.readUInt16LE(pos) === 0x003c) {
          const s = book.readUInt16LE(pos + 2);
          const segment = book.subarray(pos + 4, Math.min(book.length, pos + 4 + s));
          pos += 4 + s;
          if (segment.length < 2) continue;
          const high = (segment[0] & 1) === 1;
          const n = Math.min(left, high ? (segment.length - 1) >> 1 : segment.length - 1);
          parts.push(high ? segment.toString('utf16le', 1, 1 + n * 2) : segment.toString('latin1', 1, 1 + n));
          left -= n;
        }
        if (parts.length) drawn.push(parts.join(''));
        break;
      }
      case 0x0205: // BoolErr
        if (data.length >= 8 && data[7] === 0) cells.push({ row: data.readUInt16LE(0), col: data.readUInt16LE(2), text: data[6] ? 'TRUE' : 'FALSE' });
        break;
      default:
        break;
    }
  }
  if (cells.length) flushSheet();
  flushDrawn();
  return { text: sink.toString(), truncated: sink.truncated };
}

// ---------------------------------------------------------------------------------------------
// PowerPoint 97–2003 (.ppt), [MS-PPT]

function analysePpt(container: CfbContainer, ppt: Buffer, maxChars: number): CfbFinding {
  const base: CfbFinding = { format: 'ppt', mime: MIME.ppt, encryption: 'not-encrypted', problems: [] };
  const currentUser = stream(container, 'Current User');
  const token = currentUser && currentUser.length >= 16 ? currentUser.readUInt32LE(12) : 0;
  if (token === 0xf3d1c4df || stream(container, 'EncryptedSummary')) {
    base.encryption = 'encrypted';
    base.encryptionDetail = 'ppt-rc4-cryptoapi';
    return base;
  }
  const sink = new TextSink(maxChars);
  pptText(ppt, 0, ppt.length, sink, 0);
  // Paragraphs inside a text atom are separated by CR, line breaks by VT.
  base.text = sink.toString().split('\r').join('\n').split('\u000b').join('\n');
  base.truncated = sink.truncated;
  return base;
}

/**
 * The text of the records in ppt[from, to): every container is stepped into, and so is a binary
 * tag's data (PowerPoint 2002's extensions, where the slides' comments are), read as records of
 * its own up to its end.
 */
function pptText(ppt: Buffer, from: number, to: number, sink: TextSink, depth: number): void {
  let pos = from;
  while (pos + 8 <= to && !sink.full) {
    const verInst = ppt.readUInt16LE(pos);
    const type = ppt.readUInt16LE(pos + 2);
    const len = ppt.readUInt32LE(pos + 4);
    if ((verInst & 0x0f) === 0x0f) {
      // Masters hold placeholder prompts ("Click to edit the title text format"), not content.
      if (type === 0x03f8 /* MainMaster */) {
        pos += 8 + len;
        continue;
      }
      pos += 8; // container: step into it
      continue;
    }
    const start = pos + 8;
    const end = Math.min(to, start + len);
    if (type === 0x138b /* BinaryTagDataBlob */ && depth < 4) pptText(ppt, start, end, sink, depth + 1);
    // TextChars and TextBytes: the slides' and notes' text; CString: comments (their author, text
    // and initials), hyperlinks' names and targets, footers, named shows.
    if (type === 0x0fa0 || type === 0x0fba) sink.push(ppt.toString('utf16le', start, end - ((end - start) & 1)));
    else if (type === 0x0fa8) sink.push(ppt.toString('latin1', start, end));
    if (type === 0x0fa0 || type === 0x0fa8 || type === 0x0fba) sink.push('\n');
    if (end <= pos) break;
    pos = end;
  }
}
