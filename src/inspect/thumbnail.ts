// Small grey thumbnails of pictures for the text-recognition gate (issue 20), decoded here without
// a native library: PNG (streamed through zlib, so a 40-megapixel screenshot costs one row of
// memory, not the whole picture), GIF (the first frame), BMP (uncompressed) and the Netpbm formats
// that djpeg, dwebp, tifftopnm and pdftoppm write. Every decoder feeds rows, top to bottom, into a
// Thumbnailer that box-averages them as they come; anything malformed gives undefined, and the
// caller treats a picture it cannot judge as one that may be text.
import { createInflate } from 'node:zlib';

export interface GreyImage {
  width: number;
  height: number;
  /** One byte a pixel, 0 = black, row after row. */
  pixels: Uint8Array;
}

/** The longest side of the thumbnails the gate looks at. */
export const THUMBNAIL_SIDE = 1100;

const luma = (r: number, g: number, b: number) => (r * 77 + g * 150 + b * 29) >> 8;
/** Transparent parts count as white paper (a transparent logo is not a black rectangle). */
const withAlpha = (v: number, a: number) => 255 - (((255 - v) * a) >> 8);

/** Box-averages full-width grey rows, given top to bottom, into a picture whose longer side is at most `maxSide`. */
export class Thumbnailer {
  readonly step: number;
  readonly width: number;
  readonly height: number;
  private readonly sourceWidth: number;
  private readonly sums: Uint32Array;
  private readonly out: Uint8Array;
  private rowsIn = 0;

  /** The thumbnail's size for a picture, without allocating it (0 when the picture is too thin for one). */
  static size(sourceWidth: number, sourceHeight: number, maxSide = THUMBNAIL_SIDE): { step: number; width: number; height: number } {
    const step = Math.max(1, Math.ceil(Math.max(sourceWidth, sourceHeight) / maxSide));
    return { step, width: Math.floor(sourceWidth / step), height: Math.floor(sourceHeight / step) };
  }

  constructor(sourceWidth: number, sourceHeight: number, maxSide = THUMBNAIL_SIDE) {
    this.sourceWidth = sourceWidth;
    const { step, width, height } = Thumbnailer.size(sourceWidth, sourceHeight, maxSide);
    this.step = step;
    this.width = width;
    this.height = height;
    this.sums = new Uint32Array(this.width);
    this.out = new Uint8Array(this.width * this.height);
  }

  /** One source row of `sourceWidth` grey values (0 = black). */
  addRow(row: Uint8Array): void {
    const y = Math.floor(this.rowsIn / this.step);
    this.rowsIn++;
    if (y >= this.height) return;
    const { step, width, sums } = this;
    if (step === 1) {
      this.out.set(row.subarray(0, width), y * width);
      return;
    }
    for (let x = 0, i = 0; x < width; x++) {
      let s = 0;
      for (let k = 0; k < step; k++) s += row[i++];
      sums[x] += s;
    }
    if (this.rowsIn % step === 0) {
      const area = step * step;
      const base = y * width;
      for (let x = 0; x < width; x++) {
        this.out[base + x] = (sums[x] / area) | 0;
        sums[x] = 0;
      }
    }
  }

  /** The thumbnail, once every row has been given; undefined when rows are missing or it is empty. */
  result(): GreyImage | undefined {
    if (!this.width || !this.height || this.rowsIn < this.height * this.step) return undefined;
    return { width: this.width, height: this.height, pixels: this.out };
  }
}

// ---------------------------------------------------------------------------------------------
// PNG

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colour: number;
  stride: number;
  bpp: number;
  palette?: Buffer;
  idat: Buffer[];
}

function pngHeader(bytes: Uint8Array): PngHeader | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 33 || b.readUInt32BE(12) !== 0x49484452) return undefined;
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  const depth = b[24];
  const colour = b[25];
  // Interlaced PNGs (Adam7) are rare for scans and screenshots; the caller treats them as unjudged.
  if (!width || !height || b[28] !== 0) return undefined;
  const channels = colour === 0 ? 1 : colour === 2 ? 3 : colour === 3 ? 1 : colour === 4 ? 2 : colour === 6 ? 4 : 0;
  if (!channels || ![1, 2, 4, 8, 16].includes(depth)) return undefined;
  const idat: Buffer[] = [];
  let palette: Buffer | undefined;
  let o = 8;
  while (o + 8 <= b.length) {
    const len = b.readUInt32BE(o);
    const type = b.toString('latin1', o + 4, o + 8);
    if (o + 12 + len > b.length) break;
    if (type === 'IDAT') idat.push(b.subarray(o + 8, o + 8 + len));
    else if (type === 'PLTE') palette = b.subarray(o + 8, o + 8 + len);
    else if (type === 'IEND') break;
    o += 12 + len;
  }
  const bitsPerPixel = channels * depth;
  const header: PngHeader = { width, height, depth, colour, stride: Math.ceil((width * bitsPerPixel) / 8), bpp: Math.max(1, bitsPerPixel >> 3), idat };
  if (palette) header.palette = palette;
  return header;
}

/** Unfilters a PNG's inflated scanlines as they arrive, and gives each row in grey to the Thumbnailer. */
class PngRows {
  private readonly h: PngHeader;
  private readonly thumb: Thumbnailer;
  private prev: Uint8Array;
  private cur: Uint8Array;
  private readonly grey: Uint8Array;
  /** Bytes of the current scanline so far, its filter byte first. */
  private filled = 0;
  private filter = 0;
  rows = 0;
  bad = false;

  constructor(h: PngHeader, thumb: Thumbnailer) {
    this.h = h;
    this.thumb = thumb;
    this.prev = new Uint8Array(h.stride);
    this.cur = new Uint8Array(h.stride);
    this.grey = new Uint8Array(h.width);
  }

  get done(): boolean {
    return this.bad || this.rows >= this.h.height;
  }

  push(data: Uint8Array): void {
    const { stride } = this.h;
    let i = 0;
    while (i < data.length && !this.done) {
      if (this.filled === 0) {
        this.filter = data[i++];
        if (this.filter > 4) {
          this.bad = true;
          return;
        }
        this.filled = 1;
        continue;
      }
      const take = Math.min(stride - (this.filled - 1), data.length - i);
      this.cur.set(data.subarray(i, i + take), this.filled - 1);
      i += take;
      this.filled += take;
      if (this.filled - 1 === stride) {
        this.unfilter();
        this.emit();
        [this.prev, this.cur] = [this.cur, this.prev];
        this.filled = 0;
        this.rows++;
      }
    }
  }

  private unfilter(): void {
    const { cur, prev } = this;
    const { stride, bpp } = this.h;
    switch (this.filter) {
      case 1:
        for (let x = bpp; x < stride; x++) cur[x] = (cur[x] + cur[x - bpp]) & 0xff;
        break;
      case 2:
        for (let x = 0; x < stride; x++) cur[x] = (cur[x] + prev[x]) & 0xff;
        break;
      case 3:
        for (let x = 0; x < stride; x++) cur[x] = (cur[x] + (((x >= bpp ? cur[x - bpp] : 0) + prev[x]) >> 1)) & 0xff;
        break;
      case 4:
        for (let x = 0; x < stride; x++) {
          const a = x >= bpp ? cur[x - bpp] : 0;
          const up = prev[x];
          const c = x >= bpp ? prev[x - bpp] : 0;
          const p = a + up - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - c);
          cur[x] = (cur[x] + (pa <= pb && pa <= pc ? a : pb <= pc ? up : c)) & 0xff;
        }
        break;
    }
  }

  private emit(): void {
    const { cur, grey } = this;
    const { width, depth, colour, palette } = this.h;
    if (depth === 8 && colour === 0) grey.set(cur.subarray(0, width));
    else if (depth === 8 && (colour === 2 || colour === 6)) {
      // The common colour screenshots and photos, without a call a pixel.
      const n = colour === 2 ? 3 : 4;
      for (let x = 0, i = 0; x < width; x++, i += n) {
        const v = luma(cur[i], cur[i + 1], cur[i + 2]);
        grey[x] = n === 4 ? withAlpha(v, cur[i + 3]) : v;
      }
    } else for (let x = 0; x < width; x++) grey[x] = greyAt(cur, x, depth, colour, palette);
    this.thumb.addRow(grey);
  }
}

function sampleAt(row: Uint8Array, index: number, depth: number): number {
  if (depth === 8) return row[index];
  if (depth === 16) return row[index * 2];
  const perByte = 8 / depth;
  const byte = row[Math.floor(index / perByte)];
  const shift = 8 - depth * ((index % perByte) + 1);
  const v = (byte >> shift) & ((1 << depth) - 1);
  return depth === 1 ? v * 255 : depth === 2 ? v * 85 : v * 17;
}

function greyAt(row: Uint8Array, x: number, depth: number, colour: number, palette: Buffer | undefined): number {
  switch (colour) {
    case 0:
      return sampleAt(row, x, depth);
    case 3: {
      const perByte = 8 / Math.min(8, depth);
      const i = depth === 8 ? row[x] : (row[Math.floor(x / perByte)] >> (8 - depth * ((x % perByte) + 1))) & ((1 << depth) - 1);
      if (!palette || i * 3 + 2 >= palette.length) return 255;
      return luma(palette[i * 3], palette[i * 3 + 1], palette[i * 3 + 2]);
    }
    case 4:
      return withAlpha(sampleAt(row, x * 2, depth), sampleAt(row, x * 2 + 1, depth));
    case 2:
      return luma(sampleAt(row, x * 3, depth), sampleAt(row, x * 3 + 1, depth), sampleAt(row, x * 3 + 2, depth));
    default:
      return withAlpha(luma(sampleAt(row, x * 4, depth), sampleAt(row, x * 4 + 1, depth), sampleAt(row, x * 4 + 2, depth)), sampleAt(row, x * 4 + 3, depth));
  }
}

/** Pixels a PNG may have before it is not decoded at all (zlib's output is bounded by it). */
export const MAX_DECODE_PIXELS = 100_000_000;
/** The same for PNGs whose samples are not 8 bits (16-bit, or packed 1, 2 and 4 bits): a slower path. */
const MAX_SLOW_PNG_PIXELS = 25_000_000;

/**
 * A PNG's thumbnail, inflated as a stream in chunks so the event loop keeps turning and memory is
 * a few rows whatever the picture's size. Gives up (undefined) past `deadline` (a Date.now() time).
 */
export function pngThumbnail(bytes: Uint8Array, deadline: number, maxSide = THUMBNAIL_SIDE, maxPixels = MAX_DECODE_PIXELS): Promise<GreyImage | undefined> {
  const h = pngHeader(bytes);
  if (!h || h.width * h.height > (h.depth === 8 ? maxPixels : Math.min(maxPixels, MAX_SLOW_PNG_PIXELS)) || !h.idat.length) return Promise.resolve(undefined);
  // A picture with no thumbnail (a 50,000,000 × 2 strip) is not decoded: its rows alone could be hundreds of MB.
  const shape = Thumbnailer.size(h.width, h.height, maxSide);
  if (!shape.width || !shape.height) return Promise.resolve(undefined);
  const thumb = new Thumbnailer(h.width, h.height, maxSide);
  const rows = new PngRows(h, thumb);
  return new Promise((resolve) => {
    const inflate = createInflate({ chunkSize: 256 * 1024 });
    let settled = false;
    const finish = (img: GreyImage | undefined) => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      resolve(img);
    };
    inflate.on('data', (chunk: Buffer) => {
      rows.push(chunk);
      if (rows.bad || Date.now() > deadline) finish(undefined);
      else if (rows.done) finish(thumb.result());
    });
    inflate.on('error', () => finish(rows.done ? thumb.result() : undefined));
    inflate.on('end', () => finish(rows.done ? thumb.result() : undefined));
    for (const part of h.idat) inflate.write(part);
    inflate.end();
  });
}

// ---------------------------------------------------------------------------------------------
// GIF (the first frame)

/** Pixels a GIF frame may have to be decoded here (one byte each while decoding). */
const MAX_GIF_PIXELS = 16_000_000;

export function decodeGif(bytes: Uint8Array, maxSide = THUMBNAIL_SIDE): GreyImage | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 13 || b.toString('latin1', 0, 3) !== 'GIF') return undefined;
  const flags = b[10];
  let o = 13;
  let globalPalette: Buffer | undefined;
  if (flags & 0x80) {
    const n = 3 * (1 << ((flags & 7) + 1));
    globalPalette = b.subarray(o, o + n);
    o += n;
  }
  let transparent = -1;
  while (o < b.length) {
    const block = b[o];
    if (block === 0x21) {
      // Extension: a graphic control block says which colour is transparent; the rest are skipped.
      const label = b[o + 1];
      if (label === 0xf9 && b[o + 2] === 4 && b[o + 3] & 1) transparent = b[o + 6];
      o += 2;
      while (o < b.length && b[o] !== 0) o += b[o] + 1;
      o++;
    } else if (block === 0x2c) break;
    else return undefined;
  }
  if (o + 10 > b.length) return undefined;
  const width = b.readUInt16LE(o + 5);
  const height = b.readUInt16LE(o + 7);
  const imageFlags = b[o + 9];
  o += 10;
  let palette = globalPalette;
  if (imageFlags & 0x80) {
    const n = 3 * (1 << ((imageFlags & 7) + 1));
    palette = b.subarray(o, o + n);
    o += n;
  }
  if (!width || !height || width * height > MAX_GIF_PIXELS || !palette || o >= b.length) return undefined;
  const minCode = b[o++];
  if (minCode < 2 || minCode > 8) return undefined;
  // The LZW data, in sub-blocks.
  const data: Buffer[] = [];
  while (o < b.length && b[o] !== 0) {
    data.push(b.subarray(o + 1, o + 1 + b[o]));
    o += b[o] + 1;
  }
  const shape = Thumbnailer.size(width, height, maxSide);
  if (!shape.width || !shape.height) return undefined;
  const indices = lzw(Buffer.concat(data), minCode, width * height);
  // A truncated frame (a damaged or cut-off file) is decoded as far as it goes; the rest stays colour 0.
  const grey = new Uint8Array(256);
  for (let i = 0; i < 256; i++) grey[i] = i === transparent || i * 3 + 2 >= palette.length ? 255 : luma(palette[i * 3], palette[i * 3 + 1], palette[i * 3 + 2]);
  const thumb = new Thumbnailer(width, height, maxSide);
  const interlaced = (imageFlags & 0x40) !== 0;
  const row = new Uint8Array(width);
  for (let y = 0; y < height; y++) {
    const src = interlaced ? interlacedRow(y, height) : y;
    const base = src * width;
    for (let x = 0; x < width; x++) row[x] = grey[indices[base + x]];
    thumb.addRow(row);
  }
  return thumb.result();
}

/** Where display row `y` is stored in an interlaced GIF (passes of every 8th, 8th from 4, 4th from 2, 2nd from 1). */
function interlacedRow(y: number, height: number): number {
  const pass1 = Math.ceil(height / 8);
  const pass2 = Math.ceil((height - 4) / 8);
  const pass3 = Math.ceil((height - 2) / 4);
  if (y % 8 === 0) return y / 8;
  if (y % 8 === 4) return pass1 + (y - 4) / 8;
  if (y % 4 === 2) return pass1 + Math.max(0, pass2) + (y - 2) / 4;
  return pass1 + Math.max(0, pass2) + Math.max(0, pass3) + (y - 1) / 2;
}

/** GIF's variable-width LZW, into at most `size` palette indices. */
function lzw(data: Buffer, minCode: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const clear = 1 << minCode;
  const end = clear + 1;
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const stack = new Uint8Array(4097);
  for (let i = 0; i < clear; i++) {
    suffix[i] = i;
    first[i] = i;
  }
  let codeSize = minCode + 1;
  let next = end + 1;
  let old = -1;
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (let i = 0; i < data.length && n < size; i++) {
    acc |= data[i] << bits;
    bits += 8;
    while (bits >= codeSize && n < size) {
      const code = acc & ((1 << codeSize) - 1);
      acc >>>= codeSize;
      bits -= codeSize;
      if (code === clear) {
        codeSize = minCode + 1;
        next = end + 1;
        old = -1;
        continue;
      }
      if (code === end) return out;
      let c = code;
      let top = 0;
      if (old === -1) {
        if (c >= clear) return out;
        out[n++] = c;
        old = c;
        continue;
      }
      if (c > next || (c >= next && next >= 4096)) return out;
      if (c === next) {
        stack[top++] = first[old];
        c = old;
      }
      while (c > end) {
        stack[top++] = suffix[c];
        c = prefix[c];
      }
      stack[top++] = c;
      const head = c;
      while (top > 0 && n < size) out[n++] = stack[--top];
      if (next < 4096) {
        prefix[next] = old;
        suffix[next] = head;
        first[next] = first[old];
        next++;
        if (next === 1 << codeSize && codeSize < 12) codeSize++;
      }
      old = code;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// BMP (uncompressed, 1 to 32 bits a pixel)

export function decodeBmp(bytes: Uint8Array, maxSide = THUMBNAIL_SIDE, maxPixels = MAX_DECODE_PIXELS): GreyImage | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 26 || b[0] !== 0x42 || b[1] !== 0x4d) return undefined;
  const dataOffset = b.readUInt32LE(10);
  const dib = b.readUInt32LE(14);
  const os2 = dib === 12;
  if (!os2 && b.length < 54) return undefined;
  const width = os2 ? b.readUInt16LE(18) : b.readInt32LE(18);
  const rawHeight = os2 ? b.readInt16LE(20) : b.readInt32LE(22);
  const bits = os2 ? b.readUInt16LE(24) : b.readUInt16LE(28);
  const compression = os2 ? 0 : b.readUInt32LE(30);
  const height = Math.abs(rawHeight);
  // BI_RGB, or BI_BITFIELDS with the usual 32-bit layout; run-length and embedded JPEG/PNG are not read here.
  if (width <= 0 || !height || width * height > maxPixels || !(compression === 0 || (compression === 3 && bits === 32))) return undefined;
  if (![1, 4, 8, 24, 32].includes(bits)) return undefined;
  const stride = Math.ceil((width * bits) / 32) * 4;
  if (dataOffset + stride * height > b.length) return undefined;
  const paletteAt = 14 + dib;
  const entry = os2 ? 3 : 4;
  const grey = new Uint8Array(256);
  if (bits <= 8) {
    for (let i = 0; i < 1 << bits; i++) {
      const p = paletteAt + i * entry;
      grey[i] = p + 2 < dataOffset ? luma(b[p + 2], b[p + 1], b[p]) : i & 1 ? 255 : 0;
    }
  }
  const shape = Thumbnailer.size(width, height, maxSide);
  if (!shape.width || !shape.height) return undefined;
  const thumb = new Thumbnailer(width, height, maxSide);
  const row = new Uint8Array(width);
  for (let y = 0; y < height; y++) {
    // Bottom-up unless the height is negative.
    const base = dataOffset + (rawHeight > 0 ? height - 1 - y : y) * stride;
    if (bits === 24 || bits === 32) {
      const n = bits >> 3;
      for (let x = 0, i = base; x < width; x++, i += n) row[x] = luma(b[i + 2], b[i + 1], b[i]);
    } else if (bits === 8) {
      for (let x = 0; x < width; x++) row[x] = grey[b[base + x]];
    } else {
      const perByte = 8 / bits;
      for (let x = 0; x < width; x++) {
        const byte = b[base + Math.floor(x / perByte)];
        row[x] = grey[(byte >> (8 - bits * ((x % perByte) + 1))) & ((1 << bits) - 1)];
      }
    }
    thumb.addRow(row);
  }
  return thumb.result();
}

// ---------------------------------------------------------------------------------------------
// Netpbm (P4 bitmap, P5 grey, P6 colour), as pdftoppm, djpeg, dwebp and tifftopnm write them

/**
 * A binary PBM, PGM or PPM (8-bit), shrunk so the longer side is at most `maxSide` (unshrunk by
 * default). `whole`: undefined unless the image is all of `b` (tifftopnm writes one image a page).
 */
export function parsePnm(b: Buffer, maxSide = Infinity, whole = false): GreyImage | undefined {
  if (b.length < 8 || b[0] !== 0x50 || b[1] < 0x34 || b[1] > 0x36) return undefined;
  const kind = b[1] - 0x30;
  const want = kind === 4 ? 2 : 3;
  const fields: number[] = [];
  let i = 2;
  while (fields.length < want && i < b.length) {
    const c = b[i];
    if (c === 0x23) {
      while (i < b.length && b[i] !== 0x0a) i++;
    } else if (c >= 0x30 && c <= 0x39) {
      let v = 0;
      while (i < b.length && b[i] >= 0x30 && b[i] <= 0x39) v = v * 10 + (b[i++] - 0x30);
      fields.push(v);
      continue;
    }
    i++;
  }
  i++; // the one whitespace byte before the samples
  const [width, height, max] = fields;
  if (!width || !height || (kind !== 4 && max !== 255)) return undefined;
  const stride = kind === 4 ? Math.ceil(width / 8) : kind === 5 ? width : width * 3;
  if (i + stride * height > b.length) return undefined;
  if (whole && i + stride * height !== b.length) return undefined;
  const shape = Thumbnailer.size(width, height, maxSide);
  if (!shape.width || !shape.height) return undefined;
  // Grey and small enough already (djpeg's scaled photos): the samples as they are, not copied
  // (a fresh copy costs its pages' faults after each of the gateway's forks).
  if (kind === 5 && shape.step === 1) return { width, height, pixels: new Uint8Array(b.buffer, b.byteOffset + i, width * height) };
  const thumb = new Thumbnailer(width, height, maxSide);
  const row = new Uint8Array(width);
  for (let y = 0; y < height; y++) {
    const base = i + y * stride;
    if (kind === 5) row.set(b.subarray(base, base + width));
    else if (kind === 6) for (let x = 0, j = base; x < width; x++, j += 3) row[x] = luma(b[j], b[j + 1], b[j + 2]);
    else for (let x = 0; x < width; x++) row[x] = (b[base + (x >> 3)] >> (7 - (x & 7))) & 1 ? 0 : 255;
    thumb.addRow(row);
  }
  return thumb.result();
}
