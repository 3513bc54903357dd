// Inspection: turns one received message into what the detectors and the policy need — the
// decoded subject and headers, every text body, every attachment with its real type, its text,
// whether it is encrypted, and where anything could not be read (issue 5).
//
// The plain-text path stays on the event loop and starts no worker; attachments that need real
// parsing go to worker threads (memory- and time-limited), PDFs to a memory-limited child process,
// 7z/RAR/gzip/tar to 7-Zip. See src/inspect/README.md for the design and the limits.
import { availableParallelism } from 'node:os';
import { closeShared, InspectionContext, sharedPdfReader, sharedPool, sharedStats } from './context.ts';
import { readMessage } from './message.ts';
import { OCR_OFF } from './ocr.ts';
import { closeInspectionTools, inspectionTools } from './tool-runner.ts';
import type { Inspection, InspectionHooks, InspectionLimits } from './types.ts';

export { OCR_OFF, ocrAsAvailable, ocrStats, ocrUnavailable } from './ocr.ts';
export type { OcrLimits, OcrReport, OcrStats } from './ocr.ts';

export type { Address, AttachmentReport, Encryption, Inspection, InspectionHooks, InspectionLimits, TextPart, Uninspectable } from './types.ts';
export type { TextLike, Utf8Text } from './utf8-text.ts';

/** ClamAV's defaults where ClamAV has one (see InspectionLimits). */
export const defaultLimits: InspectionLimits = Object.freeze({
  maxDepth: 17,
  maxParts: 10_000,
  maxTotalBytes: 400 * 1024 * 1024,
  maxRatio: 250,
  maxAttachmentBytes: 100 * 1024 * 1024,
  timeoutMs: 120_000,
  memoryMb: 512,
  maxTextChars: 32 * 1024 * 1024,
  maxTotalTextChars: 128 * 1024 * 1024,
  workers: Math.max(1, Math.min(2, availableParallelism())),
  ocr: OCR_OFF,
});

export async function inspect(raw: Buffer, limits?: Partial<InspectionLimits>, hooks?: InspectionHooks): Promise<Inspection> {
  const started = performance.now();
  const ctx = new InspectionContext(limits ? { ...defaultLimits, ...limits } : defaultLimits, readMessage, hooks);
  let summary: Awaited<ReturnType<typeof readMessage>>;
  try {
    summary = await readMessage(ctx, raw, '', 0);
  } catch {
    // Never a throw the relay has to guess about: an explicit finding, and the policy holds it.
    ctx.problem('message', 'Inspection failed unexpectedly on this message, so it was not read completely');
    summary = { subject: '', headers: [], to: [], cc: [], attachments: [] };
  }
  const inspection: Inspection = {
    subject: summary.subject,
    headers: summary.headers,
    to: summary.to,
    cc: summary.cc,
    texts: ctx.texts,
    attachments: summary.attachments,
    uninspectable: ctx.uninspectable,
    bytes: raw.length,
    ms: 0,
  };
  if (summary.from) inspection.from = summary.from;
  if (summary.messageEncryption) inspection.messageEncryption = summary.messageEncryption;
  inspection.ms = Math.round((performance.now() - started) * 1000) / 1000;
  return inspection;
}

/** Stops the extraction workers, the PDF reader process and the tools' helper (they restart on the next inspect()). */
export async function shutdownInspection(): Promise<void> {
  await Promise.all([closeShared(), closeInspectionTools()]);
}

/**
 * Starts the extraction workers, the PDF reader and (OCR on) the tools' helper ahead of the first
 * message, so that message does not wait for them (the gateway calls this at start-up; inspect()
 * works without it). `ocrTools`: false when OCR is on but the helper could not run a tool. With OCR
 * off the helper starts with the first 7z, RAR, gzip or tar archive instead (about 60 MB that a
 * school without archives never spends).
 */
export async function warmUpInspection(limits?: Partial<InspectionLimits>): Promise<{ ocrTools: boolean }> {
  const l = limits ? { ...defaultLimits, ...limits } : defaultLimits;
  const [, , tools] = await Promise.all([sharedPool(l).warmUp(), sharedPdfReader(l).warmUp(), l.ocr.enabled ? inspectionTools().warmUp() : true]);
  return { ocrTools: tools };
}

/** Counters for monitoring and tests: workers and PDF readers started since the process began. */
export function inspectionStats(): { workersStarted: number; pdfReadersStarted: number } {
  return sharedStats();
}
