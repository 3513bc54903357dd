// The shapes inspection hands to the detectors and the policy. Re-exported by index.ts, which is
// the only module other stages import.
import type { OcrLimits, OcrReport } from './ocr.ts';
import type { Utf8Text } from './utf8-text.ts';

/**
 * Limits on how much work one message may cause. The defaults follow ClamAV's scan limits
 * (MaxRecursion 17, MaxFiles 10000, MaxScanSize 400 MB, MaxFileSize 100 MB, MaxScanTime 120 s,
 * and the old ArchiveMaxCompressionRatio 250), so a school that knows ClamAV knows these.
 */
export interface InspectionLimits {
  /** How deep attachments may nest (attachment → zip → zip → …). ClamAV MaxRecursion. */
  maxDepth: number;
  /** How many parts, attachments and archive entries one message may have in all. ClamAV MaxFiles. */
  maxParts: number;
  /** Decompressed bytes read for one message in all (archive entries, Office XML, …). ClamAV MaxScanSize. */
  maxTotalBytes: number;
  /** Largest decompressed-to-compressed ratio accepted for an archive entry before it counts as a bomb. */
  maxRatio: number;
  /** Largest single attachment or archive entry read. ClamAV MaxFileSize. */
  maxAttachmentBytes: number;
  /** Time allowed for the whole message. ClamAV MaxScanTime. */
  timeoutMs: number;
  /** Memory allowed to one extraction (the V8 heap of a worker, the data segment of the PDF reader). */
  memoryMb: number;
  /** Longest text kept from one part (characters); the rest is reported as not inspected. */
  maxTextChars: number;
  /** Longest text kept for the whole message (characters). */
  maxTotalTextChars: number;
  /** Extraction worker threads (default: up to 2, never more than the machine's cores). */
  workers: number;
  /** Text recognition of scanned pages and photographed documents (issue 20); off by default. */
  ocr: OcrLimits;
}

export type Encryption = 'encrypted' | 'not-encrypted' | 'partly-encrypted' | 'unknown';

export interface TextPart {
  /** 'body', 'body:html', 'attachment:report.docx', 'attachment:pack.zip/list.csv', 'attachment:fwd.eml/body' */
  where: string;
  kind: 'body' | 'attachment';
  text: string;
  /** A large plain body kept as its UTF-8 bytes (never changed once set): the detectors read the
   *  bytes, the model and the rules read it by string index, and `text` is built only when
   *  something asks for all of it. */
  utf8?: Utf8Text;
  /** Some or all of this text was recognised in pictures (scanned pages, photos of documents), not read from the file. */
  ocr?: true;
}

/** What the caller of inspect() may do while inspection waits on another thread. */
export interface InspectionHooks {
  /**
   * Called when inspection has nothing to do on this thread but wait for another (a large HTML
   * body being read by a worker, attachments still being read after the message has been
   * parsed), with the texts found so far: the examiner scans them meanwhile. Each text is final
   * once it is in the list; more may follow, and texts may be reordered later, never changed.
   */
  whileWaiting?(texts: readonly TextPart[]): void;
}

export interface AttachmentReport {
  where: string;
  filename: string;
  /** Bytes of the attachment as sent (decoded from base64), or of the archive entry as extracted. */
  size: number;
  /** What the message or archive claimed: the Content-Type, or '' for an archive entry. */
  declaredType: string;
  /** The MIME type found from the bytes. */
  realType: string;
  /** Short name of the real format: 'docx', 'csv', 'zip', 'pdf', 'png', 'unknown', … */
  format?: string;
  encryption: Encryption;
  /** 'zipcrypto', 'winzip-aes', 'pkware-strong', '7z-aes', '7z-header', 'ooxml-agile', 'ooxml-standard',
   * 'pdf-user-password', 'pdf-owner-password-only', 'xls-filepass', 'xls-velvetsweatshop', 'doc-rc4',
   * 'ppt-rc4', 'odf', 'smime-enveloped', 'pgp', 'rar', … */
  encryptionDetail?: string;
  isImage: boolean;
  isMessage: boolean;
  /** Archive entries, attachments of an attached message. */
  entries?: AttachmentReport[];
  /** What text recognition did with its pictures or scanned pages, when it ran. */
  ocr?: OcrReport;
}

export interface Uninspectable {
  where: string;
  /** Plain English for a business manager; never personal data (no file names, no content). */
  reason: string;
  /** Matters only for mail leaving the school (a scanned page past the text-recognition budget). */
  outsideOnly?: true;
}

export interface Address {
  address: string;
  name: string;
}

export interface Inspection {
  /** Decoded (RFC 2047). */
  subject: string;
  /** Decoded, lower-case keys, in order. */
  headers: Array<{ key: string; value: string }>;
  from?: Address;
  to: Address[];
  cc: Address[];
  /** Every text body and every extracted attachment text. */
  texts: TextPart[];
  /** Top-level attachments; archive entries and attached messages' parts nested inside. */
  attachments: AttachmentReport[];
  /** Everything that could not be read, with the reason. Never silently empty. */
  uninspectable: Uninspectable[];
  messageEncryption?: 'smime' | 'pgp';
  bytes: number;
  ms: number;
}

/** What reading one message (the top-level one, or one attached to it) yields beside its texts. */
export interface MessageSummary {
  subject: string;
  headers: Array<{ key: string; value: string }>;
  from?: Address;
  to: Address[];
  cc: Address[];
  attachments: AttachmentReport[];
  messageEncryption?: 'smime' | 'pgp';
}
