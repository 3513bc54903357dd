// The values that travel between the stages of a message's journey:
// receive → inspect → decide → act → review. Each stage has one entry point (its index.ts);
// these types are the contract between them.

/** The SMTP envelope as the school's mail server gave it. Kept exactly for delivery. */
export interface Envelope {
  /** MAIL FROM address; '' for the null sender (bounces). */
  mailFrom: string;
  /** ESMTP parameters of MAIL FROM that are passed on where the next hop supports them. */
  mailFromParams: { ret?: 'FULL' | 'HDRS'; envid?: string; smtputf8?: boolean; body?: '7BIT' | '8BITMIME' };
  rcptTo: Array<{ address: string; notify?: string[]; orcpt?: string }>;
}

/** One message as received. `raw` is the exact bytes of DATA (dot-unstuffed) and is never copied. */
export interface ReceivedMessage {
  /** Hallmonitor's own id for this message: appears in logs, trace header, incidents. */
  id: string;
  envelope: Envelope;
  raw: Buffer;
  receivedAt: Date;
  client: { address: string; hostname: string; helo: string; tls: boolean; user?: string };
  /** The school (tenant id) the message was sent for; see src/tenants.ts. */
  tenant?: string;
}

/** What Hallmonitor decided for a message. */
export type Action = 'deliver' | 'quarantine' | 'block';

/** A piece of evidence: where it was found, what it was (redacted), and why it matters. */
export interface Finding {
  /** Policy rule that this finding supports (set by the policy stage). */
  rule?: string;
  /** Detector id, e.g. `uk-nhs-number`, `pupil-name`. */
  detector: string;
  /** Where in the message: `subject`, `body`, `attachment:report.docx`, `attachment:a.zip/b.csv`. */
  where: string;
  /** Redacted form, safe for logs, notifications and the console: `J*** S****`. */
  evidence: string;
  /** Plain-English explanation for a business manager. */
  reason: string;
  /** Byte or character span in the text it was found in, for highlighting. */
  span?: [number, number];
  score?: number;
}

export interface Verdict {
  action: Action;
  /** Rule ids that fired, strictest first. Empty for a plain delivery. */
  rules: string[];
  findings: Finding[];
  /** Highest severity (1-5) among the rules that fired; 0 when none did. */
  severity: number;
  /** In monitor mode the action is always `deliver`; this holds what would have happened. */
  wouldHaveBeen?: Action;
}

/** The single seam between "message received" and "message delivered". */
export type Inspector = (message: ReceivedMessage) => Promise<Verdict>;

export const DELIVER: Verdict = Object.freeze({ action: 'deliver', rules: [], findings: [], severity: 0 }) as Verdict;
