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
  /** Where in the text it was found, as indices into its string (UTF-16 code units), for highlighting. */
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

/**
 * One school as the journey of its messages needs it, resolved once per message by the receive
 * stage from the sender (or the relay user): how its mail is examined, and what a block does.
 * Who is told about its held mail is the act stage's business (src/act/hold.ts, by `id`).
 */
export interface SchoolRoute {
  /** Tenant id (src/tenants.ts). */
  id: string;
  /** Inspect → detect → decide with this school's roster, detectors and rules. */
  examine: Inspector;
  /** `hold`: a blocked message is stored and answered 250, the sender told; `reject`: answered 550 5.7.1. */
  blockMode: 'hold' | 'reject';
}

/**
 * What became of a message: the pipeline's answer, which the receive stage turns into SMTP (and
 * logs, with `log`: the verdict, rules, timings; never personal data).
 */
export type Outcome = OutcomeKind & { log?: Record<string, unknown> };

type OutcomeKind =
  /** Accepted by the next hop (some recipients may have been refused; the sender gets a bounce). */
  | { kind: 'delivered'; id: string; refused: number }
  /** Durably stored with its incident: quarantined, or blocked (and maybe refused at SMTP). */
  | { kind: 'held'; id: string; action: 'quarantine' | 'block'; reference: string; refusedAtSmtp: boolean; rule?: string }
  /** The next hop refused it permanently: its answer is passed back. */
  | { kind: 'refused'; id: string; code: number; enhanced: string; reason: string }
  /** Not done now; the school's server must try again (nothing was delivered or kept). */
  | { kind: 'retry'; id: string; why: 'not-checked' | 'not-stored' | 'next-hop' | 'busy'; code?: number; enhanced?: string; reason?: string };
