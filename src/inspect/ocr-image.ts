// Pictures for text recognition (issue 20): the size of an image from its header, a small grey
// thumbnail (PNG and PGM decoded here; JPEG by libjpeg's scaled decoding in ocr.ts), and the gate
// that decides whether a picture looks like a page of text before Tesseract is paid for.
//
// The gate binarises the thumbnail against its local mean, finds the connected dark components,
// keeps the glyph-sized ones and links each to a neighbour of the same height on the same line.
// Chains of four or more such components are lines of text; a page has many of them (eight lines
// and a hundred glyphs on them: a one-pupil consent form has 10 and 145 on a 500-pixel thumbnail,
// the busiest synthetic playing field 7 and 97; bench/ocr measures the rest). Faces,
// playing fields, skies, gradients and logos give few or none. Linear in the pixels; no RegExp.
import { inflateSync } from 'node:zlib';

export interface GreyImage {
  width: number;
  height: number;
  /** One byte a pixel, 0 = black, row after row. */
  pixels: Uint8Array;
}

export type ImageFormat = 'png' | 'jpg' | 'gif' | 'bmp' | 'tif' | 'webp';

/** Width and height from the header alone (constant time), or undefined when it cannot be read. */
export function imageSize(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    switch (format) {
      case 'png':
        return b.length >= 24 ? { width: b.readUInt32BE(16), height: b.readUInt32BE(20) } : undefined;
      case 'gif':
        return b.length >= 10 ? { width: b.readUInt16LE(6), height: b.readUInt16LE(8) } : undefined;
      case 'bmp': {
        if (b.length < 26) return undefined;
        if (b.readUInt32LE(14) === 12) return { width: b.readUInt16LE(18), height: b.readUInt16LE(20) };
        return { width: Math.abs(b.readInt32LE(18)), height: Math.abs(b.readInt32LE(22)) };
      }
      case 'jpg':
        return jpegSize(b);
      case 'tif':
        return tiffSize(b);
      case 'webp':
        return webpSize(b);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  // Markers up to the first frame header; bounded by the file, each step moves forward.
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    if (len < 2) return undefined;
    i += 2 + len;
  }
  return undefined;
}

function tiffSize(b: Buffer): { width: number; height: number } | undefined {
  const le = b[0] === 0x49;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const ifd = u32(4);
  const n = u16(ifd);
  let width = 0;
  let height = 0;
  for (let k = 0; k < Math.min(n, 256); k++) {
    const e = ifd + 2 + k * 12;
    const tag = u16(e);
    const type = u16(e + 2);
    const value = type === 3 ? u16(e + 8) : u32(e + 8);
    if (tag === 256) width = value;
    else if (tag === 257) height = value;
  }
  return width && height ? { width, height } : undefined;
}

function webpSize(b: Buffer): { width: number; height: number } | undefined {
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  return undefined;
}

/** A binary PGM (P5, 8-bit), as pdftoppm -gray and djpeg -grayscale -pnm write it. */
export function parsePgm(b: Buffer): GreyImage | undefined {
  if (b.length < 8 || b[0] !== 0x50 || b[1] !== 0x35) return undefined;
  const fields: number[] = [];
  let i = 2;
  while (fields.length < 3 && i < b.length) {
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
  const [width, height, max] = fields;
  if (!width || !height || max !== 255 || i + width * height > b.length) return undefined;
  return { width, height, pixels: new Uint8Array(b.buffer, b.byteOffset + i, width * height) };
}

/** Pixels a PNG may have before it is not decoded here (the gate then goes by its size alone). */
export const MAX_DECODE_PIXELS = 40_000_000;

/**
 * A PNG to grey, shrunk by `step` in both directions (nearest row, box-averaged columns would cost
 * more than they tell the gate). zlib is native; the unfiltering is one pass over each row.
 * Interlaced PNGs and 16-bit ones are read too; undefined for anything malformed.
 */
export function decodePng(bytes: Uint8Array, maxPixels = MAX_DECODE_PIXELS): GreyImage | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 33 || b.readUInt32BE(12) !== 0x49484452) return undefined;
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  const depth = b[24];
  const colour = b[25];
  const interlace = b[28];
  if (!width || !height || width * height > maxPixels || interlace !== 0) return undefined;
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
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: (stride + 1) * height + 1024 });
  } catch {
    return undefined;
  }
  if (raw.length < (stride + 1) * height) return undefined;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const out = new Uint8Array(width * height);
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const base = y * (stride + 1);
    const filter = raw[base];
    for (let x = 0; x < stride; x++) {
      const r = raw[base + 1 + x];
      const a = x >= bpp ? cur[x - bpp] : 0;
      const up = prev[x];
      let v: number;
      switch (filter) {
        case 0: v = r; break;
        case 1: v = r + a; break;
        case 2: v = r + up; break;
        case 3: v = r + ((a + up) >> 1); break;
        case 4: {
          const c = x >= bpp ? prev[x - bpp] : 0;
          const p = a + up - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - c);
          v = r + (pa <= pb && pa <= pc ? a : pb <= pc ? up : c);
          break;
        }
        default: return undefined;
      }
      cur[x] = v & 0xff;
    }
    const row = y * width;
    if (depth === 8 && colour === 0) out.set(cur.subarray(0, width), row);
    else if (depth === 8 && (colour === 2 || colour === 6)) {
      // The common colour screenshots and photos, without a call a pixel.
      const n = colour === 2 ? 3 : 4;
      for (let x = 0, i = 0; x < width; x++, i += n) {
        const v = luma(cur[i], cur[i + 1], cur[i + 2]);
        out[row + x] = n === 4 ? withAlpha(v, cur[i + 3]) : v;
      }
    } else for (let x = 0; x < width; x++) out[row + x] = greyAt(cur, x, depth, colour, palette);
    [prev, cur] = [cur, prev];
  }
  return { width, height, pixels: out };
}

function sampleAt(row: Uint8Array, index: number, depth: number): number {
  if (depth === 8) return row[index];
  if (depth === 16) return row[index * 2];
  const perByte = 8 / depth;
  const byte = row[Math.floor(index / perByte)];
  const shift = 8 - depth * ((index % perByte) + 1);
  const v = (byte >> shift) & ((1 << depth) - 1);
  return colourDepthScale(v, depth);
}

function colourDepthScale(v: number, depth: number): number {
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

const luma = (r: number, g: number, b: number) => (r * 77 + g * 150 + b * 29) >> 8;
/** Transparent parts count as white paper (a transparent logo is not a black rectangle). */
const withAlpha = (v: number, a: number) => 255 - (((255 - v) * a) >> 8);

/** Shrinks by an integer factor so the longer side is at most `maxSide` (box average). */
export function shrink(img: GreyImage, maxSide = 1100): GreyImage {
  const step = Math.ceil(Math.max(img.width, img.height) / maxSide);
  if (step <= 1) return img;
  const w = Math.floor(img.width / step);
  const h = Math.floor(img.height / step);
  const out = new Uint8Array(w * h);
  const area = step * step;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < step; dy++) {
        const row = (y * step + dy) * img.width + x * step;
        for (let dx = 0; dx < step; dx++) sum += img.pixels[row + dx];
      }
      out[y * w + x] = (sum / area) | 0;
    }
  }
  return { width: w, height: h, pixels: out };
}

/** Pictures smaller than this on either side are icons, logos and signatures: never read. */
export const MIN_PAGE_SIDE = 300;
/** Pictures longer than this many times their width (or wider) are banners and signature strips. */
export const MAX_PAGE_ASPECT = 4;

/** Whether the header's size alone rules the picture out as a page (icons, logos, signature strips). */
export function tooSmallForPage(size: { width: number; height: number }): boolean {
  const short = Math.min(size.width, size.height);
  const long = Math.max(size.width, size.height);
  return short < MIN_PAGE_SIDE || long > short * MAX_PAGE_ASPECT;
}

export interface GateResult {
  text: boolean;
  /** Lines of text found (chains of four or more glyph-sized components on one line). */
  lines: number;
  /** Glyph-sized components on those lines. */
  glyphs: number;
}

/** Lines a picture needs to count as a page of text; glyphs on those lines too. */
export const GATE_MIN_LINES = 8;
export const GATE_MIN_GLYPHS = 100;

/**
 * Does this (already shrunk) grey picture look like a page of text? See the file's header.
 * O(pixels): an integral image for the local mean, one labelling pass with union-find, and a
 * grid of buckets to find each glyph's right-hand neighbour.
 */
export function looksLikeText(img: GreyImage): GateResult {
  const { width: w, height: h, pixels } = img;
  if (w < 16 || h < 16) return { text: false, lines: 0, glyphs: 0 };
  // Integral image of the grey levels: the local mean over a window a thirtieth of the long side.
  const W = w + 1;
  const integral = new Float64Array(W * (h + 1));
  for (let y = 0; y < h; y++) {
    let rowSum = 0;
    for (let x = 0; x < w; x++) {
      rowSum += pixels[y * w + x];
      integral[(y + 1) * W + x + 1] = integral[y * W + x + 1] + rowSum;
    }
  }
  const r = Math.max(7, Math.round(Math.max(w, h) / 60));
  const dark = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w, x + r + 1);
      const sum = integral[y1 * W + x1] - integral[y0 * W + x1] - integral[y1 * W + x0] + integral[y0 * W + x0];
      const mean = sum / ((y1 - y0) * (x1 - x0));
      const p = pixels[y * w + x];
      // Ink: clearly darker than the paper around it.
      if (p < mean * 0.82 && mean - p > 20) dark[y * w + x] = 1;
    }
  }
  // Connected components (8-neighbour) by union-find over labels of the previous row.
  const label = new Int32Array(w * h);
  const parent: number[] = [0];
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!dark[i]) continue;
      // Left, up-left, up, up-right: the first labelled one names the pixel, the rest are joined to it.
      let l = x > 0 ? label[i - 1] : 0;
      if (y > 0) {
        for (const j of [x > 0 ? i - w - 1 : -1, i - w, x + 1 < w ? i - w + 1 : -1]) {
          const lj = j >= 0 ? label[j] : 0;
          if (!lj) continue;
          if (!l) l = lj;
          else if (lj !== l) union(l, lj);
        }
      }
      if (!l) {
        l = parent.length;
        parent.push(l);
      }
      label[i] = l;
    }
  }
  // Bounding boxes and pixel counts per component.
  const n = parent.length;
  const minX = new Int32Array(n).fill(w);
  const minY = new Int32Array(n).fill(h);
  const maxX = new Int32Array(n).fill(-1);
  const maxY = new Int32Array(n).fill(-1);
  const count = new Int32Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const l0 = label[y * w + x];
      if (!l0) continue;
      const l = find(l0);
      if (x < minX[l]) minX[l] = x;
      if (x > maxX[l]) maxX[l] = x;
      if (y < minY[l]) minY[l] = y;
      if (y > maxY[l]) maxY[l] = y;
      count[l]++;
    }
  }
  // Glyph-sized: a few pixels to a few dozen high, not a long rule or a big blob, neither solid nor a hairline frame.
  const maxGlyph = Math.max(24, Math.round(h / 25));
  const glyphs: number[] = [];
  for (let l = 1; l < n; l++) {
    if (parent[l] !== l) continue;
    const gw = maxX[l] - minX[l] + 1;
    const gh = maxY[l] - minY[l] + 1;
    if (gh < 3 || gh > maxGlyph || gw > gh * 12) continue;
    const fill = count[l] / (gw * gh);
    if (fill < 0.12 || fill > 0.92) continue;
    glyphs.push(l);
  }
  if (glyphs.length < GATE_MIN_GLYPHS) return { text: false, lines: 0, glyphs: glyphs.length };
  // Buckets by position, so each glyph's right-hand neighbour is found among a few.
  const cell = maxGlyph * 2;
  const cols = Math.ceil(w / cell);
  const buckets = new Map<number, number[]>();
  for (const l of glyphs) {
    const key = Math.floor(minY[l] / cell) * cols + Math.floor(minX[l] / cell);
    const list = buckets.get(key);
    if (list) list.push(l);
    else buckets.set(key, [l]);
  }
  const chain = new Map<number, number>(glyphs.map((l) => [l, l]));
  const root = (a: number): number => {
    let c = chain.get(a) as number;
    while (c !== a) {
      const next = chain.get(c) as number;
      chain.set(a, next);
      a = c;
      c = next;
    }
    return a;
  };
  for (const l of glyphs) {
    const gh = maxY[l] - minY[l] + 1;
    const cy = (minY[l] + maxY[l]) / 2;
    const by = Math.floor(minY[l] / cell);
    const bx = Math.floor(minX[l] / cell);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = 0; dx <= 1; dx++) {
        for (const m of buckets.get((by + dy) * cols + bx + dx) ?? []) {
          if (m === l) continue;
          const mh = maxY[m] - minY[m] + 1;
          const gap = minX[m] - maxX[l];
          if (gap < 1 || gap > Math.max(gh, mh) * 1.5) continue;
          if (mh > gh * 2 || gh > mh * 2) continue;
          if (Math.abs((minY[m] + maxY[m]) / 2 - cy) > Math.max(gh, mh) * 0.35) continue;
          const ra = root(l);
          const rb = root(m);
          if (ra !== rb) chain.set(ra, rb);
        }
      }
    }
  }
  const sizes = new Map<number, number>();
  for (const l of glyphs) {
    const c = root(l);
    sizes.set(c, (sizes.get(c) ?? 0) + 1);
  }
  let lines = 0;
  let onLines = 0;
  for (const size of sizes.values()) {
    if (size < 4) continue;
    lines++;
    onLines += size;
  }
  return { text: lines >= GATE_MIN_LINES && onLines >= GATE_MIN_GLYPHS, lines, glyphs: onLines };
}
