// Transfer encodings decoded straight from a body's bytes, for the large single-part text path
// (message.ts plainBody): the bytes mailparser's decoders would give, without its string copies
// of the whole body (mailparser reads a 20 MB quoted-printable body at ~40 MB/s and holds ~7×
// its size while doing so; these run at several hundred MB/s in one working buffer), and the
// quoted-printable decoder handed to mailparser for every other part (QuotedPrintableDecoder).
import { Transform, type TransformCallback } from 'node:stream';

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const EQUALS = 0x3d;

/** Moves w[from, to) down to `at` (at ≤ from): short runs by hand, long ones natively. */
function moveDown(w: Buffer, at: number, from: number, to: number): number {
  if (to - from > 16) return w.copy(w, at, from, to);
  for (let k = from; k < to; k++) w[at++] = w[k];
  return to - from;
}

/** The value of an ASCII hex digit (either case), or -1 (undefined, past the end of a buffer: -1). */
export function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * Quoted-printable by exactly the rules of libqp's decode(), which mailparser's decoder applies
 * to the whole part at its end, in the same three steps: (1) a run of spaces and tabs just before
 * a CR, an LF or the end is dropped; (2) then a soft line break (`=` before CRLF or LF, or a `=`
 * that ends the body) is dropped; (3) then each `=XX` (two hex digits, either case) becomes one
 * byte and anything else, a stray `=` included, is kept as it is. Step 3 reads what step 2 left, so
 * `=4=\r\n1` is `A`, as in libqp. test/inspect-plain-body.test.ts compares the two on random input.
 */
export function decodeQuotedPrintable(body: Buffer): Buffer {
  const n = body.length;
  const w = Buffer.allocUnsafe(n);
  // 1. Trailing whitespace of each line: the runs of blanks that end at a CR, an LF or the end,
  //    found from the line ends (native indexOf), the rest copied in runs.
  let m = 0;
  let from = 0;
  let cr = body.indexOf(CR);
  let lf = body.indexOf(LF);
  for (;;) {
    const end = cr < 0 ? (lf < 0 ? n : lf) : lf < 0 ? cr : Math.min(cr, lf);
    let start = end;
    while (start > from && (body[start - 1] === SPACE || body[start - 1] === TAB)) start--;
    m += body.copy(w, m, from, start);
    if (end === n) break;
    w[m++] = body[end];
    from = end + 1;
    if (end === cr) cr = body.indexOf(CR, from);
    else lf = body.indexOf(LF, from);
  }
  // 2. Soft line breaks, in place (writes never overtake reads).
  let o = 0;
  let r = 0;
  const lines = w.subarray(0, m);
  for (let eq = lines.indexOf(EQUALS); eq >= 0; eq = lines.indexOf(EQUALS, r)) {
    const skip = eq + 1 === m ? 1 : w[eq + 1] === LF ? 2 : w[eq + 1] === CR && eq + 2 < m && w[eq + 2] === LF ? 3 : 0;
    if (!skip) {
      o += moveDown(w, o, r, eq + 1);
      r = eq + 1;
      continue;
    }
    o += moveDown(w, o, r, eq);
    r = eq + skip;
  }
  if (r < m) o += moveDown(w, o, r, m);
  // 3. =XX escapes, in place.
  let out = 0;
  r = 0;
  const joined = w.subarray(0, o);
  for (let eq = joined.indexOf(EQUALS); eq >= 0; eq = joined.indexOf(EQUALS, r)) {
    out += moveDown(w, out, r, eq);
    const hi = eq < o - 2 ? hexValue(w[eq + 1]) : -1;
    const lo = hi >= 0 ? hexValue(w[eq + 2]) : -1;
    if (lo >= 0) {
      w[out++] = hi * 16 + lo;
      r = eq + 3;
    } else {
      w[out++] = EQUALS;
      r = eq + 1;
    }
  }
  if (r < o) out += moveDown(w, out, r, o);
  // Text in a non-Latin script is a third of its escapes: keep only what it decoded to.
  return out < n / 2 ? Buffer.from(w.subarray(0, out)) : w.subarray(0, out);
}

/**
 * libqp's Decoder (what mailparser decodes every quoted-printable part with) with
 * decodeQuotedPrintable in place of libqp's decode(). libqp's Decoder already gathers a part's
 * chunks and decodes them once, at the end, so escapes and soft breaks split across chunks read as
 * if unsplit; this does the same with the bytes, where libqp turns them into a string and runs
 * two regular-expression passes and a loop over it (the slowest step of a long Outlook letter:
 * ~200 ms of a 17 MB multipart/alternative message's ~1.1 s).
 */
export class QuotedPrintableDecoder extends Transform {
  #chunks: Buffer[] = [];
  #bytes = 0;

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    if (buf.length) {
      this.#chunks.push(buf);
      this.#bytes += buf.length;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    // A part too large to allocate fails as the stream's error (mailparser's error: the message
    // is held as unreadable), never as an exception thrown out of the parser.
    let decoded: Buffer | undefined;
    try {
      if (this.#bytes) decoded = decodeQuotedPrintable(this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#bytes));
    } catch (err) {
      done(err as Error);
      return;
    } finally {
      this.#chunks = [];
    }
    if (decoded) this.push(decoded);
    done();
  }
}

/** 0: not allowed in a clean base64 body; 1: a base64 character; 2: a line end. */
const BASE64_CLEAN = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_CLEAN[c.charCodeAt(0)] = 1;
BASE64_CLEAN[CR] = 2;
BASE64_CLEAN[LF] = 2;

/**
 * A base64 body that any decoder reads the same way (only the alphabet and line ends, `=` only as
 * the last one or two characters, a length an encoder writes), decoded; undefined for anything
 * else, which mailparser reads (and inspection reports as damaged).
 */
export function decodeCleanBase64(body: Buffer): Buffer | undefined {
  let chars = 0;
  let padding = 0;
  for (let i = 0; i < body.length; i++) {
    const k = BASE64_CLEAN[body[i]];
    if (k === 1) {
      if (padding) return undefined; // data after padding
      chars++;
    } else if (k === 0) {
      if (body[i] !== EQUALS || ++padding > 2) return undefined;
    }
  }
  if (chars % 4 === 1 || (padding && (chars + padding) % 4 !== 0)) return undefined;
  // Node decodes base64 from a string only; a latin1 string is one byte a character, for a moment.
  return Buffer.from(body.toString('latin1'), 'base64');
}
