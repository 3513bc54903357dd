// What a detector is: data that proves itself (gitleaks style) plus pattern, context words and
// a checksum (Presidio style). `detectors/index.ts` lists them; `src/detect` compiles them all
// once into one DetectorSet; `test/detectors.test.ts` runs every detector's examples.

export type DetectionCategory =
  | 'name'
  | 'identifier'
  | 'date-of-birth'
  | 'special-category'
  | 'password'
  | 'contact'
  | 'financial'
  /** Behaviour and attendance records: not special-category, but one family's business only. */
  | 'pupil-record';

export type Strength = 'strong' | 'weak';

/** What a candidate match looks like to the detector's scoring rule. */
export interface MatchInfo {
  /** The matched value (the `value` group if the pattern has one, else the whole match). */
  readonly value: string;
  /** The whole match, for detectors whose decision depends on its shape. */
  readonly match: string;
  /** Validator result: true (checksum passed), false (failed: never reported), undefined (none). */
  validated?: boolean;
  /** A context word occurs within the detector's window around the match. */
  contextNear: boolean;
  /** A context word occurs somewhere in the same text. */
  contextInText: boolean;
  /** The text just before the match, its last 16 bytes (what precedes it: a telephone's +44). */
  readonly before: string;
}

export interface Score {
  strength: Strength;
  /** 0..1, how sure we are that this is the personal data the detector is for. */
  score: number;
}

export interface DetectorExample {
  text: string;
  /** When given, the detection must have this strength. */
  strength?: Strength;
  /** For detectors that report a part of the match (the password): that part. */
  value?: string;
}

export interface DetectorExamples {
  /** Texts in which the detector must report at least one finding (of `strength`, if given). */
  match: Array<string | DetectorExample>;
  /**
   * Texts in which the detector must report nothing. For the roster detector: no pupil is
   * matched (no strong finding); a weak single-name signal is allowed.
   */
  noMatch: string[];
}

/** A detector that finds its data with RE2 patterns. */
export interface PatternDetector {
  kind: 'pattern';
  /** kebab-case, stable: appears in findings, policy rules and logs. */
  id: string;
  /** What it finds, for a business manager. */
  description: string;
  category: DetectionCategory;
  /** The kind of data in a few plain words, for explanations ("special educational needs"). */
  topic?: string;
  /**
   * RE2 patterns (never JavaScript RegExp), compiled once. A named group `value` (which must end
   * the pattern) narrows the reported span to that part of the match.
   */
  patterns: string[];
  /**
   * Every match of every pattern begins and ends with a word character ([A-Za-z0-9_]) at a \b.
   * Lets the scanner locate matches the cheap way; the test suite checks the claim by comparing
   * with exec() on the examples and a generated corpus.
   */
  wordBounded?: boolean;
  /** Default false: the patterns are compiled case-insensitively unless they say otherwise. */
  caseSensitive?: boolean;
  /**
   * Prefilter. `keywords`: whole words (any case, diacritics folded); the patterns run only on
   * texts where one of them occurs. `digits`: the patterns run only over the regions of the text
   * that contain a word with a digit in it. A detector must have one or the other.
   */
  keywords?: string[];
  /** Where, around a keyword, a match can lie (bytes before its start, after its start). Default 64/64. */
  keywordWindow?: { before: number; after: number };
  prefilter?: 'digits';
  /**
   * With the digits prefilter: the fewest digits one match holds (default 6, the shortest UK
   * identifier). Text is read by the patterns only where a cluster of words has this many digits.
   */
  minDigits?: number;
  /** Where the detector was defined: 'shipped', or the configuration file a school wrote it in. */
  origin?: string;
  /**
   * Optional fast path for dense data (class lists): an exact byte-level equivalent of
   * `patterns[0]` for a match starting at `start`, returning its end offset or -1. The scanner
   * tries it at the start of each word holding a digit; matches it finds are blanked out before
   * the RE2 patterns run, so every match is reported once. The test suite checks that results
   * are identical with and without it.
   */
  tokenMatch?: (buf: Uint8Array, start: number) => number;
  /**
   * The shortest and longest word (a run of letters and digits, as the scanner splits text) at
   * whose start `tokenMatch` can match: the scanner does not call it at other words. A UPN is one
   * 13-character word; a numeric date starts with a day of one or two digits.
   */
  tokenMatchWord?: [number, number];
  /**
   * Byte-level twin of `validate` for what `tokenMatch` found: the same answer, without making
   * a string of the value. The test suite compares the two.
   */
  tokenValidate?: (buf: Uint8Array, start: number, end: number) => boolean | undefined;
  /** Characters removed from the end of the value (sentence punctuation after a password). */
  trimTrailing?: string;
  /** Optional checksum or sanity check on the value. Throwing is a bug. */
  validate?: (value: string) => boolean | undefined;
  /**
   * A number one random number in eleven fits (a check digit alone): reported weak, below 0.5,
   * where nothing beside it says what it is, and then counted as an identifier only two or more
   * at once in a text or beside a pupil's name (src/decide/model.ts).
   */
  fitsByChance?: true;
  /**
   * The detector reports nothing unless a context word is near the match ('near') or somewhere
   * in the text ('text'); the compiler then runs it only around those words, or only when the
   * text has one. Must agree with `score`.
   */
  requiresContext?: 'near' | 'text';
  /** Words that make a match more likely to be what we think (whole words, any case). */
  context?: { words: string[]; before: number; after: number };
  /** Decide strength and score, or null to drop the candidate. */
  score: (m: MatchInfo) => Score | null;
  /** How the value is shown in findings, logs and notifications. */
  redact: (value: string) => string;
  /** Plain-English reason, for a business manager. */
  reason: (m: MatchInfo) => string;
  /**
   * Special-category vocabulary: reported only near a pupil name, an identifier or a date of
   * birth found in the same text, within `window` bytes. See detectors/README.md.
   */
  proximity?: { window: number };
  examples: DetectorExamples;
}

/** A name from the example roster used by the roster detector's examples. */
export interface ExamplePupil {
  legalForename: string;
  legalSurname: string;
  preferredForename?: string;
}

/** The pupil-name detector: matches the school's roster (see src/roster/name-matcher.ts). */
export interface RosterDetector {
  kind: 'roster';
  id: string;
  origin?: string;
  description: string;
  category: 'name';
  exampleRoster: ExamplePupil[];
  exampleStaff?: Array<{ forename: string; surname: string }>;
  examples: DetectorExamples;
}

export type Detector = PatternDetector | RosterDetector;
