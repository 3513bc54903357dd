// The small picture a camera or phone stores inside its own JPEG photo (EXIF's thumbnail, in the
// second image directory: about 160 × 120, a few kilobytes), and whether anything in it could be
// a page of text. The gate's thumbnail of a 12-megapixel photo costs libjpeg an entropy decode of
// every coefficient (about 50 ms a photo here); the camera's preview costs a 5 KB decode. A photo
// whose preview has no region that could be a page (paper: bright for the picture, white, grey or
// pastel, or of any colour if among its very brightest; a few percent of the frame or more,
// varying from row to row as lines of text do) is an ordinary photo: a field under a clear sky, a
// face against a wall, a gradient. A preview with such a region, and a photo without a preview or
// whose preview's shape is not the photo's, goes on to the gate as before, so the preview can
// only save time, never let through a picture the gate would have read, short of a preview made
// to differ from its photo (`inspection.ocr_camera_previews: off` stops trusting them). Linear in
// the preview's pixels; no RegExp.

/** Largest preview read (EXIF's APP1 segment holds at most 64 KB in all). */
const MAX_PREVIEW_BYTES = 64 * 1024;
/** The preview's shape must be the photo's to within this (a cropped photo with a stale preview is not judged by it). */
const SHAPE_TOLERANCE = 0.04;

/**
 * The JPEG bytes of the preview stored in a JPEG's EXIF segment (IFD1, compression 6), or
 * undefined when there is none, it is not a JPEG, or any offset points outside the segment.
 * Reads only the markers before the first scan; every step moves forward.
 */
export function cameraPreview(photo: Uint8Array): Uint8Array | undefined {
  const b = Buffer.from(photo.buffer, photo.byteOffset, photo.byteLength);
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    // Start of scan or a frame header: the APPn segments are behind us.
    if (marker === 0xda || (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)) return undefined;
    const len = b.readUInt16BE(i + 2);
    if (len < 2 || i + 2 + len > b.length) return undefined;
    if (marker === 0xe1 && len >= 8 && b.toString('latin1', i + 4, i + 10) === 'Exif\0\0') return exifThumbnail(b.subarray(i + 10, i + 2 + len));
    i += 2 + len;
  }
  return undefined;
}

/** IFD1's JPEGInterchangeFormat (0x0201) and its length (0x0202) in a TIFF-structured EXIF block. */
function exifThumbnail(tiff: Buffer): Uint8Array | undefined {
  if (tiff.length < 8) return undefined;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const le = order === 'II';
  const u16 = (at: number) => (at + 2 <= tiff.length ? (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at)) : -1);
  const u32 = (at: number) => (at + 4 <= tiff.length ? (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at)) : -1);
  if (u16(2) !== 42) return undefined;
  const ifd0 = u32(4);
  const n0 = ifd0 >= 8 ? u16(ifd0) : -1;
  if (n0 < 0) return undefined;
  const ifd1 = u32(ifd0 + 2 + n0 * 12);
  // IFD1 after IFD0 (a directory pointing back would be a loop in a longer walk; here it is simply refused).
  if (ifd1 <= ifd0) return undefined;
  const n1 = u16(ifd1);
  if (n1 <= 0) return undefined;
  let offset = -1;
  let length = -1;
  let compression = 6;
  for (let k = 0; k < n1; k++) {
    const entry = ifd1 + 2 + k * 12;
    const tag = u16(entry);
    if (tag < 0) return undefined;
    // SHORT or LONG, one value: its value sits in the entry itself.
    const type = u16(entry + 2);
    const value = type === 3 ? u16(entry + 8) : u32(entry + 8);
    if (tag === 0x0103) compression = value;
    else if (tag === 0x0201) offset = value;
    else if (tag === 0x0202) length = value;
  }
  if (compression !== 6 || offset < 8 || length < 4 || length > MAX_PREVIEW_BYTES || offset + length > tiff.length) return undefined;
  const jpeg = tiff.subarray(offset, offset + length);
  return jpeg[0] === 0xff && jpeg[1] === 0xd8 ? jpeg : undefined;
}

/** Whether the preview's shape is the photo's (either way round), so that it shows the same picture. */
export function sameShape(preview: { width: number; height: number }, photo: { width: number; height: number }): boolean {
  if (!preview.width || !preview.height || !photo.width || !photo.height) return false;
  const a = preview.width / preview.height;
  const near = (r: number) => Math.abs(a - r) <= SHAPE_TOLERANCE * r;
  return near(photo.width / photo.height) || near(photo.height / photo.width);
}

/** A colour (or grey) picture: `channels` samples a pixel, rows packed. */
export interface SmallPicture {
  width: number;
  height: number;
  channels: 1 | 3;
  samples: Uint8Array;
}

/** What could be a page in a preview: thresholds measured on bench/ocr's labelled pages, synthetic photos and Debian's pictures. */
export const PAPER = Object.freeze({
  /** A paper pixel is at least this share of the picture's bright level (its 98th percentile of luma)… */
  relativeLuma: 0.5,
  /** …never darker than this (a black picture has no paper)… */
  minLuma: 40,
  /**
   * …and no more colourful (largest minus smallest of R, G, B) than this share of its luma, or
   * `greyChroma`: white, grey or pastel paper (pale yellow 250,240,170 is 0.34; grass and a blue
   * sky are above; a face is not, but it lacks the variation of lines of text)…
   */
  chromaShare: 0.45,
  greyChroma: 24,
  /**
   * …unless it is among the brightest of the picture (this share of its bright level or more),
   * whatever its colour: a page on canary-yellow or bright green paper is the brightest thing in
   * its photo. Without this, strongly coloured paper was ruled out (measured: a class list on
   * canary paper was delivered unread); with it, a bright blue sky counts as paper, and only its
   * smoothness (minTexture) rules it out.
   */
  vividLuma: 0.8,
  /** The largest connected region of paper pixels must cover this share of the preview (a page from across a desk covers 0.12)… */
  minRegion: 0.03,
  /**
   * …and vary from row to row, as lines of text do: the mean difference between a pixel and the one
   * below it, in percent of the region's mean luma. The sparsest pages in the labelled set (a
   * class list on canary-yellow paper, a one-pupil consent form) read 1.2 and 1.3, phone photos of
   * white pages 1.8 and more; skies, walls and gradients 0 to 0.6 (synthetic shapes up to 1.5).
   */
  minTexture: 0.6,
});

/** What the preview shows: its largest region that could be paper (a share of the frame) and how much that region varies. */
export interface PreviewLook {
  paperRegion: number;
  texture: number;
  couldHoldPage: boolean;
}

/**
 * Whether any region of the preview could be a page of text: its largest 4-connected region of
 * paper pixels (PAPER) covers `minRegion` of the frame or more and has the row-to-row variation
 * of lines of text. A page shrunk to 160 × 120 is its paper with the lines blurred into it,
 * brighter than the desk under it, and pastel or the brightest thing in the picture; grass is too
 * green and too dark, a white shirt too small, and a sky or a wall lacks text's variation. Grey
 * previews are judged by brightness alone.
 */
export function lookAtPreview(p: SmallPicture): PreviewLook {
  const n = p.width * p.height;
  const luma = new Uint8Array(n);
  const histogram = new Uint32Array(256);
  // 1 for a paper pixel; then each region's number (2, 3, …) as it is found.
  const region = new Int32Array(n);
  for (let k = 0, j = 0; k < n; k++, j += p.channels) {
    let y = p.samples[j];
    let chroma = 0;
    if (p.channels === 3) {
      const r = p.samples[j];
      const g = p.samples[j + 1];
      const b = p.samples[j + 2];
      y = (r * 77 + g * 150 + b * 29) >> 8;
      chroma = Math.max(r, g, b) - Math.min(r, g, b);
    }
    luma[k] = y;
    histogram[y]++;
    region[k] = chroma <= Math.max(PAPER.greyChroma, PAPER.chromaShare * y) ? 1 : 0;
  }
  let bright = 255;
  for (let seen = 0, target = n * 0.02; bright > 0 && seen + histogram[bright] <= target; bright--) seen += histogram[bright];
  const floor = Math.max(PAPER.minLuma, PAPER.relativeLuma * bright);
  const vivid = Math.max(PAPER.minLuma, PAPER.vividLuma * bright);
  for (let k = 0; k < n; k++) if (luma[k] < floor) region[k] = 0; else if (luma[k] >= vivid) region[k] = 1;
  // The largest 4-connected region, by an explicit stack (no recursion); each pixel is pushed once.
  const stack = new Int32Array(n);
  let largest = 0;
  let largestLabel = 0;
  let label = 1;
  for (let start = 0; start < n; start++) {
    if (region[start] !== 1) continue;
    label++;
    region[start] = label;
    let top = 0;
    stack[top++] = start;
    let size = 0;
    while (top) {
      const k = stack[--top];
      size++;
      const x = k % p.width;
      if (x > 0 && region[k - 1] === 1) (region[k - 1] = label), (stack[top++] = k - 1);
      if (x + 1 < p.width && region[k + 1] === 1) (region[k + 1] = label), (stack[top++] = k + 1);
      if (k >= p.width && region[k - p.width] === 1) (region[k - p.width] = label), (stack[top++] = k - p.width);
      if (k + p.width < n && region[k + p.width] === 1) (region[k + p.width] = label), (stack[top++] = k + p.width);
    }
    if (size > largest) (largest = size), (largestLabel = label);
  }
  let difference = 0;
  let level = 0;
  for (let k = 0; k + p.width < n; k++) {
    if (region[k] === largestLabel && region[k + p.width] === largestLabel) (difference += Math.abs(luma[k] - luma[k + p.width])), (level += luma[k]);
  }
  const paperRegion = largest / n;
  const texture = level ? (100 * difference) / level : 0;
  return { paperRegion, texture, couldHoldPage: paperRegion >= PAPER.minRegion && texture >= PAPER.minTexture };
}
