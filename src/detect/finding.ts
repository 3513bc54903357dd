// One finding of a scan. Its redacted evidence and its reason are worked out when first read, from
// the scanned text: a class list has a finding every few dozen bytes, and most are only counted by
// the policy (a business manager reads the first few).
import type { MatchInfo, PatternDetector, DetectionCategory } from '../../detectors/library/types.ts';
import { redactName, stars } from '../../detectors/library/redact.ts';
import type { Detection } from './types.ts';

/**
 * One finding. Its redacted evidence and its reason are worked out when first read, from the
 * scanned text: a class list has a finding every few dozen bytes, and most are only counted by
 * the policy (a business manager reads the first few). A pattern detector's candidate match is a
 * Finding from the start: it is the MatchInfo its validate() and score() read. Every finding has
 * every field, in one order, so the code that sorts and compares findings stays monomorphic. The
 * text a finding was found in (the scanner's own copy) is kept in private fields: not shown by
 * util.inspect, not in JSON. `evidence` and `reason` are accessors: copy a finding with toJSON(),
 * not by spreading it.
 */
export class Finding implements Detection, MatchInfo {
  detector: string;
  where: string;
  start: number;
  end: number;
  strength: 'strong' | 'weak';
  score: number;
  validated: boolean | undefined = undefined;
  pupilIds: string[] | undefined = undefined;
  category: DetectionCategory;
  nameForm: Detection['nameForm'] = undefined;
  near: Detection['near'] = undefined;
  occurrences: number | undefined = undefined;
  mentions: number[] | undefined = undefined;
  #evidence: string | undefined = undefined;
  #reason: string | undefined = undefined;
  #value: string | undefined = undefined;
  #text: Buffer;
  /** Bytes of the value (what is redacted) and of the whole match, in #text. */
  #from: number;
  #to: number;
  #matchFrom: number;
  #matchTo: number;
  #def: PatternDetector | undefined;
  #context = 0; // 1: a context word near, 2: one in the text

  constructor(detector: string, where: string, text: Buffer, mStart: number, mEnd: number, vStart: number, vEnd: number, category: DetectionCategory, def: PatternDetector | undefined) {
    this.detector = detector;
    this.where = where;
    this.start = vStart;
    this.end = vEnd;
    this.strength = 'weak';
    this.score = 0;
    this.category = category;
    this.#text = text;
    this.#from = vStart;
    this.#to = vEnd;
    this.#matchFrom = mStart;
    this.#matchTo = mEnd;
    this.#def = def;
  }

  /** A pupil's name: evidence redacted from its bytes, reason given (shared per name form). */
  static forName(where: string, text: Buffer, start: number, end: number, reason: string, strength: 'strong' | 'weak', score: number, detector = 'pupil-name'): Finding {
    const f = new Finding(detector, where, text, start, end, start, end, 'name', undefined);
    f.strength = strength;
    f.score = score;
    f.#reason = reason;
    return f;
  }

  /** A pattern detector's candidate match (scored and kept, or dropped, by considerMatch). */
  static forMatch(def: PatternDetector, where: string, text: Buffer, mStart: number, mEnd: number, vStart: number, vEnd: number): Finding {
    return new Finding(def.id, where, text, mStart, mEnd, vStart, vEnd, def.category, def);
  }

  /** MatchInfo: the matched value (the value group, or the whole match). */
  get value(): string {
    return (this.#value ??= this.#def ? valueOf(this.#def, this.#text, this.#from, this.#to) : this.#text.toString('utf8', this.#from, this.#to));
  }

  /** MatchInfo: the whole match. */
  get match(): string {
    return this.#from === this.#matchFrom && this.#to === this.#matchTo ? this.value : this.#text.toString('utf8', this.#matchFrom, this.#matchTo);
  }

  /** MatchInfo: what comes before the match (its last 16 bytes as UTF-8: a non-breaking space reads as one, and trims). */
  get before(): string {
    return this.#text.toString('utf8', Math.max(0, this.#matchFrom - 16), this.#matchFrom);
  }

  get contextNear(): boolean {
    return (this.#context & 1) !== 0;
  }

  get contextInText(): boolean {
    return (this.#context & 2) !== 0;
  }

  setContext(near: boolean, inText: boolean): void {
    this.#context = (near ? 1 : 0) | (inText ? 2 : 0);
  }

  get evidence(): string {
    if (this.#evidence === undefined) {
      this.#evidence = this.#def ? this.#def.redact(this.value) : redactNameBytes(this.#text, this.#from, this.#to);
    }
    return this.#evidence;
  }

  set evidence(v: string) {
    this.#evidence = v;
  }

  get reason(): string {
    return (this.#reason ??= this.#def!.reason(this));
  }

  set reason(v: string) {
    this.#reason = v;
  }

  toJSON(): Detection {
    return {
      detector: this.detector,
      where: this.where,
      start: this.start,
      end: this.end,
      evidence: this.evidence,
      reason: this.reason,
      strength: this.strength,
      score: this.score,
      validated: this.validated,
      pupilIds: this.pupilIds,
      category: this.category,
      nameForm: this.nameForm,
      near: this.near,
      occurrences: this.occurrences,
      mentions: this.mentions,
    };
  }
}

/** The matched value as a detector reads it (byte twins' matches are ASCII: latin1 is exact and cheaper). */
export function valueOf(def: PatternDetector, text: Buffer, from: number, to: number): string {
  return text.toString(def.tokenMatch ? 'latin1' : 'utf8', from, to);
}

/**
 * redactName straight from the bytes: each word's first letter and a star per further letter,
 * separators kept (tab and line breaks as spaces). ASCII only; anything else goes through the
 * string version.
 */
export function redactNameBytes(buf: Buffer, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c >= 0x80) return redactName(buf.toString('utf8', start, end));
    if (isNameLetter(c)) {
      // A word: its first letter, then one star per letter or apostrophe inside it.
      let j = i + 1;
      while (j < end && (isNameLetter(buf[j]) || buf[j] === 0x27)) j++;
      if (j < end && buf[j] >= 0x80) return redactName(buf.toString('utf8', start, end));
      out += String.fromCharCode(c) + stars(j - i - 1);
      i = j;
    } else {
      out += c === 13 || c === 10 || c === 9 ? ' ' : String.fromCharCode(c);
      i++;
    }
  }
  return out;
}

function isNameLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}
