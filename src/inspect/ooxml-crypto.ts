// Password-protected Office Open XML ([MS-OFFCRYPTO] 2.3.4): Standard (AES-ECB, SHA-1 key
// derivation) and Agile (AES-CBC, spun hash, XML descriptor). Used for one password only: Excel's
// built-in "VelvetSweatshop", with which Excel opens a file without asking, so such a file is not
// protected and must be read like any other (malware and data both hide this way).
import { createDecipheriv, createHash } from 'node:crypto';
import { SaxesParser } from 'saxes';

export const DEFAULT_EXCEL_PASSWORD = 'VelvetSweatshop';
/** Excel spins 100,000 times; a file asking for absurdly more is not worth the CPU. */
const MAX_SPIN = 1_000_000;

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function aes(mode: 'ecb' | 'cbc', key: Buffer, iv: Buffer | null, data: Buffer): Buffer {
  const d = createDecipheriv(`aes-${key.length * 8}-${mode}`, key, iv);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(data), d.final()]);
}

function streamSize(pkg: Buffer): number {
  if (pkg.length < 8) return -1;
  const size = Number(pkg.readBigUInt64LE(0));
  return size <= pkg.length - 8 ? size : -1;
}

/** Standard encryption: returns the decrypted package, or undefined if the password is not it. */
export function decryptStandard(info: Buffer, pkg: Buffer, password: string): Buffer | undefined {
  if (info.length < 12) return undefined;
  const headerSize = info.readUInt32LE(8);
  const header = info.subarray(12, 12 + headerSize);
  if (header.length < 32) return undefined;
  const algId = header.readUInt32LE(8);
  const keyBits = header.readUInt32LE(16);
  if (algId !== 0x660e && algId !== 0x660f && algId !== 0x6610) return undefined; // AES only
  const v = info.subarray(12 + headerSize);
  if (v.length < 4 + 16 + 16 + 4 + 32) return undefined;
  const saltSize = v.readUInt32LE(0);
  if (saltSize !== 16) return undefined;
  const salt = v.subarray(4, 20);
  const encVerifier = v.subarray(20, 36);
  const encVerifierHash = v.subarray(40, 72);
  let h = createHash('sha1').update(salt).update(Buffer.from(password, 'utf16le')).digest();
  for (let i = 0; i < 50000; i++) h = createHash('sha1').update(le32(i)).update(h).digest();
  const hFinal = createHash('sha1').update(h).update(le32(0)).digest();
  const b1 = Buffer.alloc(64, 0x36);
  const b2 = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < hFinal.length; i++) {
    b1[i] ^= hFinal[i];
    b2[i] ^= hFinal[i];
  }
  const key = Buffer.concat([createHash('sha1').update(b1).digest(), createHash('sha1').update(b2).digest()]).subarray(0, keyBits / 8);
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) return undefined;
  const verifier = aes('ecb', key, null, encVerifier);
  const verifierHash = aes('ecb', key, null, encVerifierHash).subarray(0, 20);
  if (!createHash('sha1').update(verifier).digest().equals(verifierHash)) return undefined;
  const size = streamSize(pkg);
  const body = pkg.subarray(8);
  if (size < 0 || body.length % 16) return undefined;
  return aes('ecb', key, null, body).subarray(0, size);
}

interface AgileParams {
  saltValue: Buffer;
  blockSize: number;
  keyBits: number;
  hashAlgorithm: string;
  spinCount?: number;
  encryptedVerifierHashInput?: Buffer;
  encryptedVerifierHashValue?: Buffer;
  encryptedKeyValue?: Buffer;
}

function hashName(name: string): string | undefined {
  const n = name.toUpperCase();
  if (n === 'SHA512') return 'sha512';
  if (n === 'SHA384') return 'sha384';
  if (n === 'SHA256') return 'sha256';
  if (n === 'SHA1' || n === 'SHA-1') return 'sha1';
  return undefined;
}

function readAgileXml(xml: string): { keyData?: AgileParams; password?: AgileParams } {
  const out: { keyData?: AgileParams; password?: AgileParams } = {};
  const parser = new SaxesParser({ position: false });
  let inPasswordEncryptor = false;
  const params = (a: Record<string, string>): AgileParams => ({
    saltValue: Buffer.from(a.saltValue ?? '', 'base64'),
    blockSize: Number(a.blockSize ?? 16),
    keyBits: Number(a.keyBits ?? 0),
    hashAlgorithm: a.hashAlgorithm ?? '',
    spinCount: a.spinCount !== undefined ? Number(a.spinCount) : undefined,
    encryptedVerifierHashInput: a.encryptedVerifierHashInput ? Buffer.from(a.encryptedVerifierHashInput, 'base64') : undefined,
    encryptedVerifierHashValue: a.encryptedVerifierHashValue ? Buffer.from(a.encryptedVerifierHashValue, 'base64') : undefined,
    encryptedKeyValue: a.encryptedKeyValue ? Buffer.from(a.encryptedKeyValue, 'base64') : undefined,
  });
  parser.on('opentag', (tag) => {
    const name = tag.name.includes(':') ? tag.name.slice(tag.name.indexOf(':') + 1) : tag.name;
    const attrs = tag.attributes as Record<string, string>;
    if (name === 'keyData') out.keyData = params(attrs);
    else if (name === 'keyEncryptor') inPasswordEncryptor = (attrs.uri ?? '').endsWith('/password');
    else if (name === 'encryptedKey' && inPasswordEncryptor) out.password ??= params(attrs);
  });
  parser.write(xml).close();
  return out;
}

const BLOCK_VERIFIER_INPUT = Buffer.from([0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79]);
const BLOCK_VERIFIER_VALUE = Buffer.from([0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e]);
const BLOCK_KEY_VALUE = Buffer.from([0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6]);

function fit(buf: Buffer, size: number, pad: number): Buffer {
  if (buf.length >= size) return buf.subarray(0, size);
  return Buffer.concat([buf, Buffer.alloc(size - buf.length, pad)]);
}

/** Agile encryption: returns the decrypted package, or undefined if the password is not it. */
export function decryptAgile(info: Buffer, pkg: Buffer, password: string): Buffer | undefined {
  let xml: { keyData?: AgileParams; password?: AgileParams };
  try {
    xml = readAgileXml(info.subarray(8).toString('utf8'));
  } catch {
    return undefined;
  }
  const kd = xml.keyData;
  const pw = xml.password;
  if (!kd || !pw || !pw.encryptedVerifierHashInput || !pw.encryptedVerifierHashValue || !pw.encryptedKeyValue) return undefined;
  const hash = hashName(pw.hashAlgorithm);
  const dataHash = hashName(kd.hashAlgorithm);
  const spin = pw.spinCount ?? 0;
  if (!hash || !dataHash || !(spin >= 0 && spin <= MAX_SPIN) || ![128, 192, 256].includes(pw.keyBits) || ![128, 192, 256].includes(kd.keyBits)) return undefined;
  let h = createHash(hash).update(pw.saltValue).update(Buffer.from(password, 'utf16le')).digest();
  for (let i = 0; i < spin; i++) h = createHash(hash).update(le32(i)).update(h).digest();
  const keyFor = (block: Buffer): Buffer => fit(createHash(hash).update(h).update(block).digest(), pw.keyBits / 8, 0x36);
  const iv = fit(pw.saltValue, pw.blockSize || 16, 0x36);
  try {
    const input = aes('cbc', keyFor(BLOCK_VERIFIER_INPUT), iv, pw.encryptedVerifierHashInput).subarray(0, pw.saltValue.length);
    const expected = aes('cbc', keyFor(BLOCK_VERIFIER_VALUE), iv, pw.encryptedVerifierHashValue);
    const actual = createHash(hash).update(input).digest();
    if (!expected.subarray(0, actual.length).equals(actual)) return undefined;
    const secret = aes('cbc', keyFor(BLOCK_KEY_VALUE), iv, pw.encryptedKeyValue).subarray(0, kd.keyBits / 8);
    const size = streamSize(pkg);
    if (size < 0) return undefined;
    const body = pkg.subarray(8);
    const out = Buffer.allocUnsafe(body.length);
    let pos = 0;
    for (let seg = 0; pos < body.length; seg++) {
      const chunk = body.subarray(pos, Math.min(body.length, pos + 4096));
      if (chunk.length % 16) return undefined;
      const segIv = fit(createHash(dataHash).update(kd.saltValue).update(le32(seg)).digest(), kd.blockSize || 16, 0x36);
      aes('cbc', secret, segIv, chunk).copy(out, pos);
      pos += chunk.length;
    }
    return out.subarray(0, size);
  } catch {
    return undefined;
  }
}

/** The package decrypted with Excel's default password, when that is the password; else undefined. */
export function decryptWithDefaultPassword(info: Buffer, pkg: Buffer): Buffer | undefined {
  if (info.length < 8) return undefined;
  const major = info.readUInt16LE(0);
  const minor = info.readUInt16LE(2);
  if (major === 4 && minor === 4) return decryptAgile(info, pkg, DEFAULT_EXCEL_PASSWORD);
  if (minor === 2 && major >= 2 && major <= 4) return decryptStandard(info, pkg, DEFAULT_EXCEL_PASSWORD);
  return undefined;
}
