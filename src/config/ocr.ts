// `inspection:` in the configuration: text recognition of scanned documents and photographed pages
// (issue 20). Its own settings and validator, kept apart from the main loader (config/index.ts
// calls readOcrSettings and adds its problems), so the section moves as one piece.
//
//   inspection:
//     ocr: on                  # on | off
//     ocr_languages: [eng]     # Tesseract language codes (Debian: tesseract-ocr-<code>)
//     ocr_max_pages: 20        # pages read by Tesseract for one message
//     ocr_page_seconds: 30     # time one page may take
//     ocr_message_seconds: 90  # time all the pages of one message may take
//     ocr_tesseract: tesseract # the program, on PATH or a path
import { OCR_OFF, type OcrLimits } from '../inspect/ocr.ts';

export type OcrSettings = OcrLimits;

const KEYS = ['ocr', 'ocr_languages', 'ocr_max_pages', 'ocr_page_seconds', 'ocr_message_seconds', 'ocr_tesseract'];

/** The shipped settings: on (the gateway turns it off at start-up when Tesseract is missing). */
export const DEFAULT_OCR: OcrSettings = Object.freeze({ ...OCR_OFF, enabled: true });

/** Reads `inspection:`; problems name the key, in the same words as the rest of the file's. */
export function readOcrSettings(v: unknown): { settings: OcrSettings; problems: string[] } {
  const problems: string[] = [];
  const settings: OcrSettings = { ...DEFAULT_OCR, languages: [...DEFAULT_OCR.languages] };
  if (v === undefined || v === null) return { settings, problems };
  if (typeof v !== 'object' || Array.isArray(v)) return { settings, problems: ['inspection: expected a mapping (key: value lines)'] };
  const doc = v as Record<string, unknown>;
  for (const k of Object.keys(doc)) if (!KEYS.includes(k)) problems.push(`inspection.${k}: unknown key (known keys here: ${KEYS.join(', ')})`);
  if (doc.ocr !== undefined) {
    if (doc.ocr === true || doc.ocr === 'on') settings.enabled = true;
    else if (doc.ocr === false || doc.ocr === 'off') settings.enabled = false;
    else problems.push(`inspection.ocr: expected on or off, got ${JSON.stringify(doc.ocr)}`);
  }
  if (doc.ocr_languages !== undefined) {
    const list = Array.isArray(doc.ocr_languages) ? doc.ocr_languages : [doc.ocr_languages];
    const codes = list.filter((l): l is string => typeof l === 'string' && l.length > 0 && l.length <= 32 && [...l].every((c) => (c >= 'a' && c <= 'z') || c === '_' || (c >= 'A' && c <= 'Z')));
    if (!codes.length || codes.length !== list.length) problems.push('inspection.ocr_languages: expected Tesseract language codes such as [eng] or [eng, cym]');
    else settings.languages = codes;
  }
  const whole = (key: string, max: number): number | undefined => {
    const n = doc[key];
    if (n === undefined) return undefined;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
      problems.push(`inspection.${key}: expected a whole number from 1 to ${max}, got ${JSON.stringify(n)}`);
      return undefined;
    }
    return n;
  };
  settings.maxPages = whole('ocr_max_pages', 1000) ?? settings.maxPages;
  settings.pageTimeoutMs = (whole('ocr_page_seconds', 600) ?? settings.pageTimeoutMs / 1000) * 1000;
  settings.messageTimeoutMs = (whole('ocr_message_seconds', 3600) ?? settings.messageTimeoutMs / 1000) * 1000;
  if (doc.ocr_tesseract !== undefined) {
    if (typeof doc.ocr_tesseract === 'string' && doc.ocr_tesseract.trim()) settings.tesseract = doc.ocr_tesseract.trim();
    else problems.push('inspection.ocr_tesseract: expected the Tesseract program (a name on PATH or a path)');
  }
  return { settings, problems };
}
