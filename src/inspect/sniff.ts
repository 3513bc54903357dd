// The real type of a file, from its bytes. quickSniff is constant-time (a few magic numbers and a
// look at the first 8 KB) and runs on the SMTP event loop to route a file; anything that needs
// real parsing is done in a worker (layer.ts).
import type { ImageFormat } from './ocr-image.ts';
import { looksLikeText } from './text.ts';

export type Route = 'pdf' | 'sevenzip' | 'zip' | 'cfb' | 'text' | 'image' | 'binary' | 'empty';

function startsWith(bytes: Uint8Array, magic: number[], offset = 0): boolean {
  if (bytes.length < offset + magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[offset + i] !== magic[i]) return false;
  return true;
}

/** Where in the first KB a PDF header starts (PDF readers accept junk before it), or -1. */
export function pdfHeaderOffset(bytes: Uint8Array): number {
  const n = Math.min(bytes.length - 5, 1024);
  for (let i = 0; i < n; i++) {
    if (bytes[i] === 0x25 && bytes[i + 1] === 0x50 && bytes[i + 2] === 0x44 && bytes[i + 3] === 0x46 && bytes[i + 4] === 0x2d) return i;
  }
  return -1;
}

export interface QuickType {
  route: Route;
  /** Short format name when the magic alone says it. */
  format?: string;
  mime?: string;
}

export function quickSniff(bytes: Uint8Array): QuickType {
  if (bytes.length === 0) return { route: 'empty', format: 'empty', mime: 'application/x-empty' };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06]) || startsWith(bytes, [0x50, 0x4b, 0x07, 0x08])) return { route: 'zip' };
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return { route: 'cfb' };
  if (startsWith(bytes, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return { route: 'sevenzip', format: '7z', mime: 'application/x-7z-compressed' };
  if (startsWith(bytes, [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07])) return { route: 'sevenzip', format: 'rar', mime: 'application/vnd.rar' };
  if (startsWith(bytes, [0x1f, 0x8b])) return { route: 'sevenzip', format: 'gz', mime: 'application/gzip' };
  if (startsWith(bytes, [0x42, 0x5a, 0x68])) return { route: 'sevenzip', format: 'bz2', mime: 'application/x-bzip2' };
  if (startsWith(bytes, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return { route: 'sevenzip', format: 'xz', mime: 'application/x-xz' };
  if (startsWith(bytes, [0x4d, 0x53, 0x43, 0x46])) return { route: 'sevenzip', format: 'cab', mime: 'application/vnd.ms-cab-compressed' };
  if (startsWith(bytes, [0x75, 0x73, 0x74, 0x61, 0x72], 257)) return { route: 'sevenzip', format: 'tar', mime: 'application/x-tar' };
  if (pdfHeaderOffset(bytes) >= 0) return { route: 'pdf', format: 'pdf', mime: 'application/pdf' };
  const image = imageType(bytes);
  if (image) return { route: 'image', format: image, mime: IMAGE_MIME[image] };
  if (looksLikeText(bytes)) return { route: 'text' };
  return { route: 'binary' };
}

const IMAGE_MIME: Record<ImageFormat, string> = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif', bmp: 'image/bmp', tif: 'image/tiff', webp: 'image/webp', heic: 'image/heic' };

/** ISO base media 'ftyp' brands of HEIF still pictures (HEVC, AVIF, and the generic image brands). */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'avif', 'avis']);

/** The picture formats text recognition reads, by their magic numbers (file-type's names). */
export function imageType(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) && bytes.length > 24) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpg';
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61) return 'gif';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return 'tif';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  // HEIF: an 'ftyp' box first, its major brand one of the picture brands, or a still picture's
  // brand among its compatible ones (a video's 'isom' or 'mp42' lists none of those).
  if (startsWith(bytes, [0x66, 0x74, 0x79, 0x70], 4) && bytes.length > 12 && heifBrands(bytes)) return 'heic';
  // BMP: "BM", reserved zeros, and a DIB header of a known size.
  if (startsWith(bytes, [0x42, 0x4d]) && bytes.length > 26 && bytes[6] === 0 && bytes[7] === 0 && bytes[8] === 0 && bytes[9] === 0 && [12, 40, 52, 56, 64, 108, 124].includes(bytes[14]) && bytes[15] === 0) return 'bmp';
  return undefined;
}

const HEIF_STILL_BRANDS = new Set(['mif1', 'heic', 'heix', 'avif']);

function heifBrands(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (HEIF_BRANDS.has(b.toString('latin1', 8, 12))) return true;
  const end = Math.min(b.readUInt32BE(0), b.length, 256);
  for (let i = 16; i + 4 <= end; i += 4) if (HEIF_STILL_BRANDS.has(b.toString('latin1', i, i + 4))) return true;
  return false;
}

/** DER PKCS #7 / CMS: which content type does the ContentInfo declare? */
export function cmsContentType(bytes: Uint8Array): 'enveloped' | 'signed' | 'other' | undefined {
  if (bytes.length < 16 || bytes[0] !== 0x30) return undefined;
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 64));
  // 1.2.840.113549.1.7.x
  const pkcs7 = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07]);
  const at = head.indexOf(pkcs7);
  if (at >= 0 && at + pkcs7.length < head.length) {
    const kind = head[at + pkcs7.length];
    if (kind === 0x03) return 'enveloped';
    if (kind === 0x02) return 'signed';
    return 'other';
  }
  // id-ct-authEnvelopedData 1.2.840.113549.1.9.16.1.23
  const authEnveloped = Buffer.from([0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17]);
  if (head.indexOf(authEnveloped) >= 0) return 'enveloped';
  return undefined;
}

/** A binary OpenPGP message: first packet a public-key or symmetric-key encrypted session key. */
export function looksLikeBinaryPgp(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const b = bytes[0];
  if ((b & 0x80) === 0) return false;
  const tag = b & 0x40 ? b & 0x3f : (b >> 2) & 0x0f;
  return tag === 1 || tag === 3;
}
