// What a phone photo's own preview (src/inspect/camera-preview.ts) may rule out: previews drawn
// here at a phone's preview size (160 × 120), the pages that must go on to the gate beside the
// pictures that may be turned away. The real previews of real tools' photos are in
// inspect-ocr.test.ts; the measured thresholds in bench/ocr.
import { describe, expect, it } from 'vitest';
import { rng } from '../bench/detectors/names.ts';
import { lookAtPreview, sameShape, type SmallPicture } from '../src/inspect/camera-preview.ts';

type Rgb = [number, number, number];

/** A 160 × 120 preview: `background` everywhere, then `draw` over it. */
function preview(background: (x: number, y: number) => Rgb, draw?: (set: (x: number, y: number, c: Rgb) => void) => void): SmallPicture {
  const width = 160;
  const height = 120;
  const samples = new Uint8Array(width * height * 3);
  const set = (x: number, y: number, c: Rgb) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    samples.set(c.map((v) => Math.max(0, Math.min(255, Math.round(v)))), (y * width + x) * 3);
  };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) set(x, y, background(x, y));
  draw?.(set);
  return { width, height, channels: 3, samples };
}

/**
 * A sheet of `paper` on a desk, `left`..`right` × `top`..`bottom`, with lines of text shrunk to a
 * pixel or two: every third row `ink` (its lightest and darkest share of the paper; a phone's
 * preview blurs a line of 11 pt text to about 80–95% of the paper).
 */
function pageOnDesk(paper: Rgb, desk: Rgb, box = { left: 40, right: 120, top: 8, bottom: 112 }, lines = true, seed = 1, ink = [0.55, 0.8]): SmallPicture {
  const rand = rng(seed);
  return preview(() => desk, (set) => {
    for (let y = box.top; y < box.bottom; y++) {
      // Every third row is a line of text: its glyphs blurred into a darker, uneven grey.
      const inkRow = lines && (y - box.top) % 3 === 1 && y > box.top + 4 && y < box.bottom - 4;
      for (let x = box.left; x < box.right; x++) {
        const shade = inkRow && x > box.left + 5 && x < box.right - 5 ? ink[0] + rand() * (ink[1] - ink[0]) : 1;
        set(x, y, [paper[0] * shade, paper[1] * shade, paper[2] * shade]);
      }
    }
  });
}

describe('a preview that could hold a page goes on to the gate', () => {
  const pages: Array<[string, SmallPicture]> = [
    ['white paper on a brown desk', pageOnDesk([235, 235, 228], [120, 80, 50])],
    ['pastel yellow paper (a consent form printed on coloured paper)', pageOnDesk([250, 240, 170], [110, 75, 45])],
    ['pale pink paper', pageOnDesk([250, 215, 225], [70, 70, 75])],
    ['canary-yellow paper (too strong a colour to be pastel, but the brightest thing in the photo)', pageOnDesk([255, 235, 110], [120, 80, 50], undefined, true, 1, [0.82, 0.95])],
    ['bright green paper', pageOnDesk([150, 235, 120], [90, 90, 95], undefined, true, 1, [0.82, 0.95])],
    ['a page in a dim room (light at 35%)', pageOnDesk([82, 82, 80], [30, 25, 20])],
    ['a page from across the room (a sixth of the frame)', pageOnDesk([235, 235, 228], [120, 80, 50], { left: 70, right: 100, top: 40, bottom: 80 })],
    ['a scan: the page is the whole frame', pageOnDesk([245, 245, 245], [245, 245, 245], { left: 0, right: 160, top: 0, bottom: 120 })],
  ];
  for (const [what, picture] of pages) {
    it(what, () => {
      expect(lookAtPreview(picture).couldHoldPage).toBe(true);
    });
  }
});

describe('a preview with nothing that could be a page rules the photo out', () => {
  const rand = rng(7);
  const photos: Array<[string, SmallPicture]> = [
    ['blue sky over a green field', preview((_, y) => (y < 50 ? [110, 160, 225] : [60 + rand() * 30, 140 + rand() * 40, 45]))],
    ['a blank page (nothing written on it)', pageOnDesk([235, 235, 228], [120, 80, 50], undefined, false)],
    ['an overcast sky: grey, smooth, large', preview((x, y) => [200 - y * 0.3, 202 - y * 0.3, 206 - y * 0.3])],
    ['a crowd of coloured shirts on grass', preview((x, y) => (y < 40 ? [100, 150, 220] : (x >> 3) % 3 === 0 ? [220, 40, 40] : (x >> 3) % 3 === 1 ? [40, 60, 200] : [60, 150, 50]))],
    ['a black picture', preview(() => [5, 5, 5])],
  ];
  for (const [what, picture] of photos) {
    it(what, () => {
      expect(lookAtPreview(picture).couldHoldPage).toBe(false);
    });
  }
});

describe("the preview's shape must be the photo's", () => {
  it('either way round, to within 4%', () => {
    expect(sameShape({ width: 160, height: 120 }, { width: 4032, height: 3024 })).toBe(true);
    expect(sameShape({ width: 160, height: 120 }, { width: 3024, height: 4032 })).toBe(true);
    expect(sameShape({ width: 160, height: 90 }, { width: 4032, height: 3024 })).toBe(false);
    expect(sameShape({ width: 160, height: 120 }, { width: 4032, height: 2268 })).toBe(false);
    expect(sameShape({ width: 0, height: 120 }, { width: 4032, height: 3024 })).toBe(false);
  });
});
