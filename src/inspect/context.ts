// What one inspection carries while it walks a message: the limits, what is left of the budget,
// the deadline, and the texts and uninspectable findings collected so far.
import { ExtractionPool } from './pool.ts';
import { OcrBudget } from './ocr.ts';
import { judgeJpegThumbnail } from './ocr-image.ts';
import { PdfReader } from './pdf.ts';
import type { InspectionHooks, InspectionLimits, MessageSummary, TextPart, Uninspectable } from './types.ts';
import type { Utf8Text } from './utf8-text.ts';

/** Reads a message (an attached .eml inside an archive or another message), given to the context by index.ts. */
export type MessageReader = (ctx: InspectionContext, raw: Buffer, where: string, depth: number) => Promise<MessageSummary>;

let pool: ExtractionPool | undefined;
let poolKey = '';
let pdfReader: PdfReader | undefined;
let pdfKey = 0;
// Starts by pools and readers that were replaced (limits changed) or closed.
let carriedWorkers = 0;
let carriedReaders = 0;

export function sharedPool(limits: InspectionLimits): ExtractionPool {
  const key = `${limits.workers}:${limits.memoryMb}`;
  if (!pool || poolKey !== key) {
    const old = pool;
    pool = new ExtractionPool(limits.workers, limits.memoryMb);
    poolKey = key;
    if (old) {
      carriedWorkers += old.started;
      void old.close();
    }
  }
  return pool;
}

export function sharedPdfReader(limits: InspectionLimits): PdfReader {
  if (!pdfReader || pdfKey !== limits.memoryMb) {
    const old = pdfReader;
    pdfReader = new PdfReader(limits.memoryMb);
    pdfKey = limits.memoryMb;
    if (old) {
      carriedReaders += old.started;
      void old.close();
    }
  }
  return pdfReader;
}

/** How many extraction workers and PDF reader processes have been started (restarts included). */
export function sharedStats(): { workersStarted: number; pdfReadersStarted: number } {
  return { workersStarted: carriedWorkers + (pool?.started ?? 0), pdfReadersStarted: carriedReaders + (pdfReader?.started ?? 0) };
}

export async function closeShared(): Promise<void> {
  const p = pool;
  const r = pdfReader;
  carriedWorkers += p?.started ?? 0;
  carriedReaders += r?.started ?? 0;
  pool = undefined;
  pdfReader = undefined;
  await Promise.all([p?.close(), r?.close()]);
}

/** Numbers for reasons, e.g. "100 MB". */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round(n / (1024 * 1024))} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

/** Uninspectable findings listed one by one; past this they are summarised in one more. */
export const MAX_FINDINGS = 100;

export class InspectionContext {
  readonly limits: InspectionLimits;
  readonly deadline: number;
  bytesLeft: number;
  partsLeft: number;
  textCharsLeft: number;
  readonly texts: TextPart[] = [];
  readonly uninspectable: Uninspectable[] = [];
  /** Text recognition's budget for this message; undefined when it is off. */
  readonly ocr: OcrBudget | undefined;
  private readonly seenProblems = new Set<string>();
  private timeoutReported = false;
  private moreProblems = 0;

  /** How an attached message is read (message.ts): files and messages nest inside each other. */
  readonly readMessage: MessageReader;
  private readonly hooks: InspectionHooks | undefined;

  constructor(limits: InspectionLimits, readMessage: MessageReader, hooks?: InspectionHooks) {
    this.limits = limits;
    this.readMessage = readMessage;
    this.hooks = hooks;
    this.deadline = Date.now() + limits.timeoutMs;
    this.bytesLeft = limits.maxTotalBytes;
    this.partsLeft = limits.maxParts;
    this.textCharsLeft = limits.maxTotalTextChars;
    // A photo's thumbnail is judged in an extraction worker when one is free: the event loop only
    // starts djpeg and hands its output on, and the judging runs on another core beside the
    // parsing. With every worker busy (other messages' documents) it is judged here, as it was,
    // rather than wait behind them.
    this.ocr = limits.ocr.enabled
      ? new OcrBudget(limits.ocr, limits.workers, this.deadline, limits.memoryMb, (pnm, size, twoLooks, deadline) =>
          this.pool.free ? this.pool.runGate(pnm, size, twoLooks, deadline) : Promise.resolve(judgeJpegThumbnail(pnm, size, twoLooks)),
        )
      : undefined;
  }

  get pool(): ExtractionPool {
    return sharedPool(this.limits);
  }

  get pdf(): PdfReader {
    return sharedPdfReader(this.limits);
  }

  get timedOut(): boolean {
    return Date.now() >= this.deadline;
  }

  /**
   * Waits for work on another thread (a worker, a child process) when this thread has nothing
   * else to do, letting the caller use the time on the texts found so far (InspectionHooks). Not
   * while less than half the inspection's time is left: what the caller does meanwhile must not
   * push the rest of the message past the deadline.
   */
  waitFor<T>(work: Promise<T>): Promise<T> {
    if (this.hooks?.whileWaiting && this.deadline - Date.now() > this.limits.timeoutMs / 2) this.hooks.whileWaiting(this.texts);
    return work;
  }

  /** Records the deadline once per message. */
  timeout(where: string): void {
    if (this.timeoutReported) return;
    this.timeoutReported = true;
    this.problem(where, `Inspection took longer than the ${Math.round(this.limits.timeoutMs / 1000)} second limit, so the rest was not read`);
  }

  /** `outsideOnly`: the finding matters only for mail leaving the school (Uninspectable.outsideOnly). */
  problem(where: string, reason: string, outsideOnly = false): void {
    const key = where + '\u0000' + reason;
    if (this.seenProblems.has(key)) return;
    this.seenProblems.add(key);
    if (this.uninspectable.length < MAX_FINDINGS) {
      this.uninspectable.push(outsideOnly ? { where, reason, outsideOnly: true } : { where, reason });
      return;
    }
    // A bomb of many small parts must not become a bomb of findings: the rest are counted.
    this.moreProblems++;
    const summary = `${this.moreProblems} more part(s) could not be read either`;
    const last = this.uninspectable[MAX_FINDINGS];
    if (last) last.reason = summary;
    else this.uninspectable.push({ where: 'message', reason: summary });
  }

  /**
   * A text to scan. A Utf8Text (a large plain body read from its bytes) is kept as it is, its
   * string built only when something asks for it whole; past the limit it is cut as a string is.
   * `ocr`: recognised in pictures.
   */
  addText(where: string, kind: 'body' | 'attachment', given: string | Utf8Text | undefined, truncated = false, extra: { ocr?: boolean } = {}): void {
    if (given === undefined) return;
    if (typeof given !== 'string' && !truncated && given.length <= this.textCharsLeft) {
      this.textCharsLeft -= given.length;
      const part = { where, kind, utf8: given } as TextPart;
      Object.defineProperty(part, 'text', { enumerable: true, get: () => given.toString() });
      if (extra.ocr) part.ocr = true;
      this.texts.push(part);
      return;
    }
    // Past the limit, only the first part is kept (and of a Utf8Text, only that part is built).
    const left = Math.max(0, this.textCharsLeft);
    const full = given.length;
    const t = full <= left ? given.toString() : given.slice(0, left);
    if (t.length < full) truncated = true;
    this.textCharsLeft -= t.length;
    if (truncated) this.problem(where, 'The text is longer than the inspection limit; only the first part was read');
    if (t.length === 0 && full > 0) return;
    const part: TextPart = { where, kind, text: t };
    if (extra.ocr) part.ocr = true;
    this.texts.push(part);
  }
}
