// The text parts of a multipart message (the letter in an Outlook or Gmail message, beside its
// HTML twin and its attachments), kept as the bytes they decode to.
//
// mailparser gathers a text part's decoded bytes, joins them, makes a string, and makes it again
// with its line ends changed; the detectors then turn the string back into bytes. For a text part
// in UTF-8 or ASCII (nearly all mail) this module takes the decoded bytes from the part's decoder
// instead, changes the line ends in place, and gives the text as those bytes (Utf8Text) when the
// part is large, or as one string when it is small; an HTML part too (a large one goes to a worker
// as its bytes, moved, not copied, and is read there a piece at a time). The text is exactly what
// mailparser would give: line ends as \n, a lone CR kept, invalid UTF-8 as U+FFFD.
//
// mailparser still decides which parts are text and in what order they join (getTextContent): a
// captured part stands in its tree as a placeholder no message can contain (a random nonce), and
// the placeholders are put back by what they stand for.
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { Utf8Text } from './utf8-text.ts';

/** From this size on, a text is kept as its bytes (Utf8Text); below it, a string is cheaper to read. */
export const BYTES_TEXT_FROM = 256 * 1024;

/** CR LF → LF, as mailparser does (a lone CR stays): the bytes without the CRs, written into `into` (in place by default). */
export function crlfToLf(bytes: Buffer, into: Buffer = bytes): Buffer {
  let n = 0;
  let from = 0;
  for (let cr = bytes.indexOf(13); cr >= 0; cr = bytes.indexOf(13, cr + 1)) {
    if (bytes[cr + 1] !== 10) continue;
    n += bytes.copy(into, n, from, cr);
    from = cr + 1;
  }
  if (from === 0 && into === bytes) return bytes;
  n += bytes.copy(into, n, from);
  return into.subarray(0, n);
}

/** A decoded text's bytes (line ends already \n) as the detectors read it best. */
export function textOfBytes(bytes: Buffer): string | Utf8Text {
  return bytes.length >= BYTES_TEXT_FROM && isUtf8(bytes) ? new Utf8Text(bytes) : bytes.toString('utf8');
}

/**
 * Stands where mailparser reads a text part's decoded content: what is written goes to the part's
 * own decoder, whose output is kept here; mailparser reads nothing (the part's text is empty to
 * it) and the text is taken from `text` once the stream has ended.
 */
export class TextPartCapture extends Transform {
  readonly placeholder: string;
  /** The decoded text, once the part has ended. */
  text: string | Utf8Text | undefined;
  /** Settles when the text is there, or the part failed. */
  readonly settled: Promise<void>;
  readonly #decoder: Transform;
  #settle: () => void = () => {};
  readonly #chunks: Buffer[] = [];
  #length = 0;

  constructor(decoder: Transform, nonce: string, n: number) {
    super();
    this.placeholder = `\u0000${nonce}:${n}\u0000`;
    this.#decoder = decoder;
    decoder.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.#chunks.push(b);
      this.#length += b.length;
    });
    decoder.once('error', (err: Error) => this.destroy(err));
    this.settled = new Promise<void>((resolve) => {
      this.#settle = resolve;
      this.once('close', () => resolve());
      this.once('error', () => resolve());
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#decoder.write(chunk)) done();
    else this.#decoder.once('drain', () => done());
  }

  override _flush(done: TransformCallback): void {
    this.#decoder.once('end', () => {
      // One copy of the part, ours to change (a chunk may be a view of the message): the line
      // ends are changed as a single chunk is copied, or in place once several are joined.
      const chunks = this.#chunks.splice(0);
      let bytes: Buffer;
      if (chunks.length === 1) bytes = crlfToLf(chunks[0], Buffer.allocUnsafeSlow(this.#length));
      else {
        const joined = Buffer.allocUnsafeSlow(this.#length);
        let at = 0;
        for (const c of chunks) at += c.copy(joined, at);
        bytes = crlfToLf(joined);
      }
      this.text = textOfBytes(bytes);
      this.#settle();
      done();
    });
    this.#decoder.end();
  }
}

/** The placeholders of one message's captured parts. */
export class TextPartCaptures {
  readonly #nonce = randomUUID();
  readonly #parts: TextPartCapture[] = [];

  capture(decoder: Transform): TextPartCapture {
    const part = new TextPartCapture(decoder, this.#nonce, this.#parts.length);
    this.#parts.push(part);
    return part;
  }

  get size(): number {
    return this.#parts.length;
  }

  /** Settles when every part that was ended has its text (or failed). */
  settled(): Promise<void> {
    return Promise.all(this.#parts.filter((p) => p.writableEnded).map((p) => p.settled)).then(() => undefined);
  }

  /**
   * mailparser's joined text with each placeholder put back: a text that is one captured part
   * alone stays that part (its bytes, not a string); anything else is joined as mailparser joins.
   */
  restore(joined: string | undefined): string | Utf8Text | undefined {
    if (joined === undefined || !joined.includes(`\u0000${this.#nonce}:`)) return joined;
    for (const part of this.#parts) if (joined === part.placeholder) return part.text ?? '';
    let out = joined;
    for (const part of this.#parts) if (out.includes(part.placeholder)) out = out.split(part.placeholder).join((part.text ?? '').toString());
    return out;
  }
}
