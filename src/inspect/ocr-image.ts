// Pictures for text recognition (issue 20): the size of an image from its header, a small grey
// thumbnail (thumbnail.ts; JPEG, WebP and TIFF by their own tools in ocr.ts), and the gate
// that decides whether a picture looks like a page of text before Tesseract is paid for.
//
// The gate binarises the thumbnail against its local mean, finds the connected dark components,
// keeps the glyph-sized ones and links each to a neighbour of the same height on the same line.
// Chains of four or more such components are lines of text; a page has many of them (eight lines
// and a hundred glyphs on them: a one-pupil consent form has 10 and 145 on a 500-pixel thumbnail,
// the busiest synthetic playing field 7 and 97; bench/ocr measures the rest). A short note has
// few lines but long ones: three lines of ten glyphs or more of varied widths (a four-line typed
// note has 4, where no photograph measured has more than 2: textures chain four or five blobs,
// not ten, and a regular row of windows or pegs has blobs of one width). Faces,
// playing fields, skies, gradients and logos give few or none. Linear in the pixels; no RegExp.
import { parsePnm, THUMBNAIL_SIDE, Thumbnailer, type GreyImage } from './thumbnail.ts';

export type { GreyImage };

/** 'heic': HEIF pictures (an iPhone's photos; AVIF too), read through libheif's heif-convert. */
export type ImageFormat = 'png' | 'jpg' | 'gif' | 'bmp' | 'tif' | 'webp' | 'heic';

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
      case 'heic':
        return heifSize(b);
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

/**
 * A HEIF picture's size: the largest 'ispe' (image spatial extents) property in its first 256 KB.
 * The primary picture is the largest item (an iPhone's is a grid of 512-pixel tiles, each with
 * its own 'ispe', under one that gives the whole). Bounded scan, no parsing of the box tree.
 */
function heifSize(b: Buffer): { width: number; height: number } | undefined {
  let best: { width: number; height: number } | undefined;
  const end = Math.min(b.length - 16, 256 * 1024);
  for (let i = b.indexOf('ispe', 4, 'latin1'); i >= 4 && i < end; i = b.indexOf('ispe', i + 4, 'latin1')) {
    // size(4) 'ispe' version+flags(4) width(4) height(4)
    if (b.readUInt32BE(i - 4) !== 20) continue;
    const width = b.readUInt32BE(i + 8);
    const height = b.readUInt32BE(i + 12);
    if (width && height && (!best || width * height > best.width * best.height)) best = { width, height };
  }
  return best;
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

/** Shrinks by an integer factor so the longer side is at most `maxSide` (box average). */
export function shrink(img: GreyImage, maxSide = THUMBNAIL_SIDE): GreyImage {
  const thumb = new Thumbnailer(img.width, img.height, maxSide);
  if (thumb.step <= 1) return img;
  for (let y = 0; y < img.height; y++) thumb.addRow(img.pixels.subarray(y * img.width, (y + 1) * img.width));
  return thumb.result() ?? img;
}

/**
 * Pictures smaller than this on either side are icons, logos and signatures: never read. (It was
 * 300, with 4:1 below: a screen snip of eight rows of a class list, 690 x 262, was ruled out.)
 */
export const MIN_PAGE_SIDE = 120;
/** Pictures longer than this many times their width (or wider) are banners and signature strips. */
export const MAX_PAGE_ASPECT = 8;

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
  /** Those of GATE_NOTE_LINE_GLYPHS glyphs or more, of varied widths (a short note's few full lines). */
  longLines?: number;
  /** Glyph-sized components on those lines. */
  glyphs: number;
  /** Their median height in the image's pixels (0 without lines). */
  glyphHeight?: number;
}

/** Lines a picture needs to count as a page of text; glyphs on those lines too. */
export const GATE_MIN_LINES = 8;
export const GATE_MIN_GLYPHS = 100;
/** Or a short note: this many lines of GATE_NOTE_LINE_GLYPHS glyphs or more. */
export const GATE_NOTE_LINES = 3;
export const GATE_NOTE_LINE_GLYPHS = 10;
/**
 * …whose glyphs' widths vary as letters' do (standard deviation over mean: 0.33–1.06 on every
 * line of text measured, typed or handwritten), not as a regular row of windows, pegs or keys does.
 */
export const GATE_NOTE_WIDTH_SPREAD = 0.25;

/**
 * Does this (already shrunk) grey picture look like a page of text? See the file's header.
 * O(pixels) time in one pass over the rows: the local mean from running column sums, each dark
 * pixel labelled against the row above with union-find, each label's box grown as it goes; then a
 * grid of buckets to find each glyph's right-hand neighbour. Its working memory is a few rows and
 * a few numbers a component, never a picture-sized array: the gate runs between djpeg's forks,
 * after each of which every page the gateway writes to faults once more, and picture-sized
 * arrays made the gate's arithmetic several times dearer than it is.
 */
export function looksLikeText(img: GreyImage): GateResult {
  const { width: w, height: h, pixels } = img;
  if (w < 16 || h < 16) return { text: false, lines: 0, glyphs: 0 };
  // The local mean over a window a thirtieth of the long side: sums of each column over the
  // window's rows, kept as the window moves down, and their running total along the row.
  const r = Math.max(7, Math.round(Math.max(w, h) / 60));
  // Integers throughout (a window's sum is at most 255 × 37 × 1,100): no float arithmetic per pixel.
  const column = new Int32Array(w);
  const along = new Int32Array(w + 1);
  let top = 0; // rows [top, bottom) are in the column sums
  let bottom = 0;
  // Connected components (8-neighbour) by union-find over labels of the previous row.
  let above = new Int32Array(w);
  let here = new Int32Array(w);
  const parent: number[] = [0];
  const minX: number[] = [w];
  const minY: number[] = [h];
  const maxX: number[] = [-1];
  const maxY: number[] = [-1];
  const count: number[] = [0];
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
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    // Past the first rows, one row enters the window as one leaves it: one pass for both.
    for (; bottom < y1 && top < y0; bottom++, top++) {
      for (let x = 0, enter = bottom * w, leave = top * w; x < w; x++) column[x] += pixels[enter + x] - pixels[leave + x];
    }
    for (; bottom < y1; bottom++) for (let x = 0, row = bottom * w; x < w; x++) column[x] += pixels[row + x];
    for (; top < y0; top++) for (let x = 0, row = top * w; x < w; x++) column[x] -= pixels[row + x];
    for (let x = 0, total = 0; x < w; x++) along[x + 1] = total += column[x];
    const rows = y1 - y0;
    const rowStart = y * w;
    for (let x = 0; x < w; x++) {
      const x0 = x > r ? x - r : 0;
      const x1 = x + r + 1 < w ? x + r + 1 : w;
      // Ink: clearly darker than the paper around it (p < 0.82 × the window's mean, and by more
      // than 20), compared as sums over the window's area: 50·p·area < 41·sum, no division.
      const area = rows * (x1 - x0);
      const sum = along[x1] - along[x0];
      const ink = pixels[rowStart + x] * area;
      if (!(ink * 50 < sum * 41 && sum - ink > 20 * area)) {
        here[x] = 0;
        continue;
      }
      // Left, up-left, up, up-right: the first labelled one names the pixel, the rest are joined to it.
      let l = x > 0 ? here[x - 1] : 0;
      if (y > 0) {
        for (let k = x > 0 ? x - 1 : x, end = Math.min(w - 1, x + 1); k <= end; k++) {
          const lk = above[k];
          if (!lk) continue;
          if (!l) l = lk;
          else if (lk !== l) union(l, lk);
        }
      }
      if (!l) {
        l = parent.length;
        parent.push(l);
        minX.push(x);
        minY.push(y);
        maxX.push(x);
        maxY.push(y);
        count.push(0);
      }
      here[x] = l;
      // The box of this label (joined into its component's below).
      if (x < minX[l]) minX[l] = x;
      if (x > maxX[l]) maxX[l] = x;
      if (y > maxY[l]) maxY[l] = y;
      count[l]++;
    }
    const done = above;
    above = here;
    here = done;
  }
  // Each component's box and pixel count, on its root label.
  const n = parent.length;
  for (let l = 1; l < n; l++) {
    const root = find(l);
    if (root === l) continue;
    if (minX[l] < minX[root]) minX[root] = minX[l];
    if (maxX[l] > maxX[root]) maxX[root] = maxX[l];
    if (minY[l] < minY[root]) minY[root] = minY[l];
    if (maxY[l] > maxY[root]) maxY[root] = maxY[l];
    count[root] += count[l];
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
  if (glyphs.length < GATE_NOTE_LINES * GATE_NOTE_LINE_GLYPHS) return { text: false, lines: 0, glyphs: glyphs.length };
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
  // Each line's glyph widths (sum and sum of squares): letters vary, a row of windows does not.
  const widthSum = new Map<number, number>();
  const widthSquares = new Map<number, number>();
  for (const l of glyphs) {
    const c = root(l);
    const gw = maxX[l] - minX[l] + 1;
    sizes.set(c, (sizes.get(c) ?? 0) + 1);
    widthSum.set(c, (widthSum.get(c) ?? 0) + gw);
    widthSquares.set(c, (widthSquares.get(c) ?? 0) + gw * gw);
  }
  let lines = 0;
  let onLines = 0;
  let longLines = 0;
  for (const [c, size] of sizes) {
    if (size < 4) continue;
    lines++;
    onLines += size;
    if (size < GATE_NOTE_LINE_GLYPHS) continue;
    const mean = widthSum.get(c)! / size;
    const spread = Math.sqrt(Math.max(0, widthSquares.get(c)! / size - mean * mean)) / mean;
    if (spread >= GATE_NOTE_WIDTH_SPREAD) longLines++;
  }
  // How tall the text is: the median height of the glyphs on lines (in this image's pixels).
  const heights: number[] = [];
  for (const l of glyphs) if ((sizes.get(root(l)) ?? 0) >= 4) heights.push(maxY[l] - minY[l] + 1);
  heights.sort((a, b) => a - b);
  const glyphHeight = heights.length ? heights[heights.length >> 1] : 0;
  const page = lines >= GATE_MIN_LINES && onLines >= GATE_MIN_GLYPHS;
  return { text: page || longLines >= GATE_NOTE_LINES, lines, longLines, glyphs: onLines, glyphHeight };
}

/** What the gate made of one picture: why it is or is not read, and what it counted. */
export interface PictureJudgement {
  looksText: boolean;
  /** 'size': ruled out by its header's size alone; 'gate': its thumbnail was judged; 'second look': a finer thumbnail found a page the first missed; 'unjudged': no thumbnail could be made (it goes on to be read). */
  by: 'size' | 'gate' | 'second look' | 'unjudged';
  lines?: number;
  /** Lines of ten glyphs or more, of varied widths (a short note passes on three of them). */
  longLines?: number;
  glyphs?: number;
  /** How tall its text is in the picture's own pixels (from the thumbnail's glyphs; 0 when unknown). */
  textHeight?: number;
  /** The picture's size from its header (0 × 0 when it cannot be read). */
  size: { width: number; height: number };
}

/** Below this mean grey a picture is mostly dark: its text may be light on dark (a dark-mode screen, a negative). */
const DARK_MEAN = 100;

function meanGrey(img: GreyImage): number {
  let sum = 0;
  const p = img.pixels;
  for (let i = 0; i < p.length; i++) sum += p[i];
  return p.length ? sum / p.length : 255;
}

function inverted(img: GreyImage): GreyImage {
  const out = new Uint8Array(img.pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = 255 - img.pixels[i];
  return { width: img.width, height: img.height, pixels: out };
}

function judgeThumbnail(img: GreyImage, size: { width: number; height: number }): PictureJudgement {
  const small = shrink(img);
  let seen = looksLikeText(small);
  // Ink is what is darker than the paper around it: light text on a dark picture is looked at
  // again, inverted (Tesseract reads either way).
  if (!seen.text && meanGrey(small) < DARK_MEAN) {
    const again = looksLikeText(inverted(small));
    if (again.text) seen = again;
  }
  const textHeight = size.width && small.width ? ((seen.glyphHeight ?? 0) * size.width) / small.width : 0;
  return { looksText: seen.text, by: 'gate', lines: seen.lines, longLines: seen.longLines, glyphs: seen.glyphs, textHeight, size };
}

/**
 * The gate's judgement of a thumbnail. `twoLooks` (a camera-sized JPEG decoded at a quarter): it
 * is looked at first halved, as an eighth, and again whole if the first look turned it away (a
 * page photographed from further off).
 */
export function judgeThumbnails(img: GreyImage, size: { width: number; height: number }, twoLooks: boolean): PictureJudgement {
  if (!twoLooks) return judgeThumbnail(img, size);
  const first = judgeThumbnail(shrink(img, Math.ceil(Math.max(img.width, img.height) / 2)), size);
  if (first.looksText) return first;
  const second = judgeThumbnail(img, size);
  return second.looksText ? { ...second, by: 'second look' } : first;
}

/** judgeThumbnails on djpeg's grey PNM; a PNM that cannot be read is not judged (it goes on to be read). */
export function judgeJpegThumbnail(pnm: Buffer, size: { width: number; height: number }, twoLooks: boolean): PictureJudgement {
  const img = parsePnm(pnm, THUMBNAIL_SIDE);
  return img ? judgeThumbnails(img, size, twoLooks) : { looksText: true, by: 'unjudged', size };
}
