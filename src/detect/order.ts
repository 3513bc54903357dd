// Findings in text order, and their offsets in the caller's terms (UTF-16 for a string).
import { isAscii } from 'node:buffer';
import type { Detection } from './types.ts';

/** Sort findings by position; most scans produce them nearly in order already. */
export function sortByStart(ds: Detection[]): void {
  // Findings arrive as a few sorted runs (names, then each detector's matches in text order):
  // merge the runs rather than sort from scratch.
  let runs: Detection[][] = [];
  let from = 0;
  for (let i = 1; i <= ds.length; i++) {
    if (i === ds.length || ds[i - 1].start > ds[i].start) {
      runs.push(ds.slice(from, i));
      from = i;
    }
  }
  if (runs.length <= 1) return;
  while (runs.length > 1) {
    const next: Detection[][] = [];
    for (let r = 0; r < runs.length; r += 2) next.push(r + 1 < runs.length ? mergeByStart(runs[r], runs[r + 1]) : runs[r]);
    runs = next;
  }
  const merged = runs[0];
  for (let i = 0; i < ds.length; i++) ds[i] = merged[i];
}

export function mergeByStart(a: Detection[], b: Detection[]): Detection[] {
  const out: Detection[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = b[j].start < a[i].start ? b[j++] : a[i++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** Bytes per block that isAscii() clears at once (native, vectorised), and per part of a block. */
const ASCII_BLOCK = 4096;
const ASCII_PART = 256;

/** Convert byte offsets in `buf` (UTF-8) to UTF-16 indices into the string it decodes to, in place. */
export function toUtf16Offsets(buf: Buffer, ds: Detection[]): void {
  // A UTF-16 index is the byte offset less the continuation bytes before it, plus one for each
  // 4-byte sequence (a surrogate pair) before it. Mail is mostly ASCII: whole blocks (and parts of
  // blocks) are cleared natively, and only the bytes of the others are read here. Each block keeps
  // the delta at its start and its own changes, so an offset is mapped by its block alone (no
  // sorting of the offsets: a class list has hundreds of thousands).
  const blocks = Math.ceil(buf.length / ASCII_BLOCK);
  const startDelta = new Int32Array(blocks + 1); // the delta at each block's start
  const firstFix = new Int32Array(blocks + 1); // where each block's changes start in fixAt/fixBy
  const fixAt: number[] = [];
  const fixBy: number[] = [];
  let delta = 0;
  for (let b = 0; b < blocks; b++) {
    startDelta[b] = delta;
    firstFix[b] = fixAt.length;
    const s = b * ASCII_BLOCK;
    const e = Math.min(buf.length, s + ASCII_BLOCK);
    if (isAscii(buf.subarray(s, e))) continue;
    for (let p = s; p < e; p += ASCII_PART) {
      const q = Math.min(e, p + ASCII_PART);
      if (isAscii(buf.subarray(p, q))) continue;
      for (let i = p; i < q; i++) {
        const c = buf[i];
        if (c < 0x80) continue;
        if ((c & 0xc0) === 0x80) {
          fixAt.push(i);
          fixBy.push(-1);
          delta--;
        } else if (c >= 0xf0) {
          fixAt.push(i);
          fixBy.push(1);
          delta++;
        }
      }
    }
  }
  startDelta[blocks] = delta;
  firstFix[blocks] = fixAt.length;
  if (!fixAt.length) return; // all ASCII: bytes and UTF-16 units agree
  // A 4-byte lead counts once the whole character is behind the offset (offsets fall between characters).
  const map = (offset: number): number => {
    const b = Math.min(blocks, Math.floor(offset / ASCII_BLOCK));
    let d = startDelta[b];
    for (let k = firstFix[b], end = firstFix[b + 1] ?? k; k < end && fixAt[k] < offset; k++) d += fixBy[k];
    return offset + d;
  };
  for (const d of ds) {
    d.start = map(d.start);
    d.end = map(d.end);
    if (d.mentions) for (let q = 0; q < d.mentions.length; q++) d.mentions[q] = map(d.mentions[q]);
  }
}
