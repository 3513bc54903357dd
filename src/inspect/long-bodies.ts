// The body of a part inside a multipart message (a letter, a base64 attachment) passed through
// mailparser's splitter a stretch at a time instead of a line at a time.
//
// mailsplit reads every line of a message on its own: it slices it, asks whether it is a boundary,
// wraps it in an object, and joins it to the body before it. For a 20 MB attachment that is
// 270,000 lines, and about as long as every detector's reading of the text. Inside a part's body
// only a line that starts with a delimiter ("--" and the boundary of an open multipart, or a CR
// and that) can end it; every other line is body, and the splitter would just add it on.
//
// So, at the start of each write that finds the splitter in such a body, the lines that are surely
// body are handed on as body in one piece, with the splitter's own bookkeeping: their last line end
// is held back as its pending line, exactly as the splitter holds back a body's last line end at
// the end of a write (it belongs to a boundary that may follow). The stretch stops two lines before
// the first line that starts with a delimiter: mailsplit reads a line differently when it is the
// first or second of a write ("\r--b" is a boundary in the middle of a write, not at its start),
// so those lines stay in the middle of a write, as they came. The rest of the write, and every
// write that does not start in a part's body (headers, preambles), goes through the splitter as
// before, in one call. A line begun at the end of the last write is finished by the splitter first.
//
// test/inspect-splitter.test.ts checks the splitter's output with and without this, event by
// event: random multipart messages cut into random writes, a delimiter line at every place a
// write can put it, and Debian's mail corpora.
import type { Transform, TransformCallback } from 'node:stream';

/** The parts of mailsplit's MessageSplitter read here (its state between writes). */
interface SplitterNode {
  multipart?: string | false;
  parentNode?: unknown;
  _boundary?: Buffer | false;
  _parentBoundaryOwner?: SplitterNode | false;
}
interface Splitter extends Transform {
  state: number;
  node: SplitterNode | null;
  hasFailed: boolean;
  pendingLineTruncated: boolean;
  lineChunks: Buffer[];
  lineLength: number;
  takePendingLine(): Buffer | false;
  appendPendingLine(chunk: Buffer): void;
}

/** Open multiparts around a part beyond which its body is read line by line, as before. */
export const MAX_DELIMITERS = 8;

/** mailsplit's state while reading a part's body (its BODY constant). */
const BODY = 0x02;
const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

/** In the body of a part under a multipart (whose last line end the splitter holds back). */
function inPartBody(s: Splitter): boolean {
  return !s.hasFailed && s.state === BODY && !!s.node && !s.node.multipart && !!s.node.parentNode && !s.pendingLineTruncated;
}

/** The pending line: only the line end held back from the body before it, or a line begun that cannot be a boundary. */
function pendingLine(s: Splitter): 'line end' | 'line begun' | 'could be a boundary' {
  // Its first bytes are enough (a pending line can be up to 64 KB, kept in pieces).
  const head: Buffer[] = [];
  for (let got = 0, k = 0; got < 4 && k < s.lineChunks.length; k++) {
    head.push(s.lineChunks[k]);
    got += s.lineChunks[k].length;
  }
  const first = Buffer.concat(head);
  const pending = s.lineLength <= 2 ? first : first.subarray(0, Math.min(first.length, 64));
  if (pending.length === 1 && pending[0] === LF) return 'line end';
  if (pending.length === 2 && pending[0] === CR && pending[1] === LF) return 'line end';
  // Whatever follows the held line end: a boundary line starts with "--", or a CR and "--".
  let k = 0;
  if (pending[k] === CR && pending[k + 1] === LF) k += 2;
  else if (pending[k] === LF) k += 1;
  if (k >= pending.length || pending[k] === DASH || pending[k] === CR) return 'could be a boundary';
  return 'line begun';
}

/** The delimiters that could end the current part: "--" and the boundary of each open multipart. */
function delimiters(s: Splitter): Buffer[] {
  const out: Buffer[] = [];
  if (s.node?._boundary) out.push(Buffer.concat([Buffer.from('--'), s.node._boundary]));
  for (let owner = s.node?._parentBoundaryOwner; owner; owner = owner._parentBoundaryOwner) {
    if (owner._boundary) out.push(Buffer.concat([Buffer.from('--'), owner._boundary]));
  }
  return out;
}

/**
 * The start of the first line at or after `from` (a line's start) that starts with a delimiter,
 * or with a CR and a delimiter (mailsplit takes both for boundary lines); -1 when there is none.
 * A line cut off by the write's end is not looked at (it is never handed on as body here).
 */
export function firstDelimiterLine(chunk: Buffer, from: number, delims: Buffer[]): number {
  let first = -1;
  for (const d of delims) {
    for (const lead of [[LF], [LF, CR]]) {
      const needle = Buffer.concat([Buffer.from(lead), d]);
      const at = chunk.indexOf(needle, Math.max(0, from - 1));
      if (at >= 0 && (first < 0 || at + 1 < first)) first = at + 1;
    }
    if (chunk.subarray(from, from + d.length).equals(d) || (chunk[from] === CR && chunk.subarray(from + 1, from + 1 + d.length).equals(d))) first = from;
  }
  return first;
}

/** The start of the line `n` lines before `at` (a line's start), or -1 when fewer than that many start at or after `from`. */
function linesBefore(chunk: Buffer, at: number, n: number, from: number): number {
  let start = at;
  for (let k = 0; k < n; k++) {
    if (start <= from) return -1;
    const lf = start >= 2 ? chunk.lastIndexOf(LF, start - 2) : -1;
    start = lf + 1;
    if (start < from) return -1;
  }
  return start;
}

/** Hands on chunk[pos, end) as body (end a line's start), holding back its last line end as the splitter does. */
function passBody(s: Splitter, chunk: Buffer, pos: number, end: number): void {
  let cut = end;
  if (chunk[cut - 1] === LF) {
    cut--;
    if (cut > pos && chunk[cut - 1] === CR) cut--;
  }
  const held = s.takePendingLine();
  if (held && held.length) s.push({ node: s.node, type: 'body', value: held });
  if (cut > pos) s.push({ node: s.node, type: 'body', value: chunk.subarray(pos, cut) });
  s.appendPendingLine(chunk.subarray(cut, end));
}

/**
 * Where this write's stretch of surely-body lines is, from `from` (a line's start): up to two
 * lines before the first line that starts with a delimiter, or to the last line end. mailsplit
 * reads a line differently as the first line of a write than in the middle of one (the line end
 * before it is then in front of it), so a line that could be a boundary, and the two before it,
 * are left in the same write as they came, where the splitter reads them as it always did.
 */
function surelyBodyEnd(chunk: Buffer, from: number, delims: Buffer[]): number {
  const d = firstDelimiterLine(chunk, from, delims);
  if (d < 0) {
    const last = chunk.lastIndexOf(LF);
    return last >= from ? last + 1 : from;
  }
  const start = linesBefore(chunk, d, 2, from);
  return start < 0 ? from : start;
}

/** Makes this splitter hand on the bodies of parts in stretches (see the top of this file). */
export function passLongBodies(splitter: Transform): void {
  const s = splitter as Splitter;
  const lineByLine = (Object.getPrototypeOf(s) as { _transform: Transform['_transform'] })._transform;
  s._transform = function (chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    const rest = (from: number): void => {
      if (from >= chunk.length) return callback();
      lineByLine.call(s, from === 0 ? chunk : chunk.subarray(from), encoding, callback);
    };
    if (!inPartBody(s)) return rest(0);
    const pending = pendingLine(s);
    if (pending === 'could be a boundary') return rest(0);
    const delims = delimiters(s);
    // Each open multipart's delimiter is looked for in the whole write: deep nesting (a thousand
    // levels is allowed) would cost more than reading the lines. Such a message is read as before.
    if (delims.length > MAX_DELIMITERS) return rest(0);
    if (pending === 'line end') {
      const end = surelyBodyEnd(chunk, 0, delims);
      if (end > 0) passBody(s, chunk, 0, end);
      return rest(end);
    }
    // A line begun in the last write: it is finished by the splitter, then the body goes on.
    const lf = chunk.indexOf(LF);
    if (lf < 0) return rest(0);
    const end = surelyBodyEnd(chunk, lf + 1, delims);
    if (end <= lf + 1) return rest(0);
    lineByLine.call(s, chunk.subarray(0, lf + 1), encoding, (err?: Error | null) => {
      if (err) return callback(err);
      if (!inPartBody(s) || pendingLine(s) !== 'line end') return rest(lf + 1);
      passBody(s, chunk, lf + 1, end);
      rest(end);
    });
  };
}
