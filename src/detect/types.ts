// The shapes of the detector set: what a scan reports (Detection) and what compiling makes.
import type RE2 from 're2';
import type { Detector, PatternDetector, DetectionCategory } from '../../detectors/library/types.ts';
import type { Roster, StaffList, StaffMember } from '../roster/types.ts';
import type { Utf8Offsets } from './utf16.ts';

/**
 * One finding of a scan. Those scan() returns work out `evidence` and `reason` when first read
 * (accessors, see class Finding): copy one with JSON or toJSON(), never with {...spread}.
 */
export interface Detection {
  detector: string;
  /** Where in the message: `subject`, `body`, `attachment:report.docx` … (as given to scan). */
  where: string;
  /** Span in the scanned text: UTF-16 indices for a string, byte offsets for a Buffer. */
  start: number;
  end: number;
  /** Redacted form, safe for logs and notifications. */
  evidence: string;
  /** Plain English, for a business manager. */
  reason: string;
  strength: 'strong' | 'weak';
  score: number;
  /** Checksum result where the detector has one. */
  validated?: boolean;
  /** Roster ids of the pupils this finding names (pupil-name; capped for single common names). */
  pupilIds?: string[];
  category?: DetectionCategory;
  /** For names: which shape matched. */
  nameForm?: 'forename-surname' | 'surname-forename' | 'forename' | 'surname';
  /** For special-category terms: the anchor they were found near. */
  near?: { detector: string; kind: AnchorKind; distance: number; strength: 'strong' | 'weak' };
  /** For a single forename or surname: how many times it occurs in the text (reported once). */
  occurrences?: number;
  /** For a single forename or surname: where each occurrence is, as start, end pairs (flat, ascending). */
  mentions?: number[];
}

export type AnchorKind = 'pupil-name' | 'pupil-name-part' | 'identifier' | 'date-of-birth';

export interface ScanOptions {
  /**
   * Also report staff members' names (detector `staff-name`): for redacting what a reviewer writes
   * to a sender. The policy never asks for them (a staff name is not a pupil's).
   */
  staffNames?: boolean;
  /** The Buffer given will never change (a message's own bytes): read in place, not copied. */
  frozen?: boolean;
  /**
   * The Buffer given is the UTF-8 of a text the caller reads the findings against by string index
   * (a large body kept as its bytes): report UTF-16 offsets, as for a string given.
   * The caller's map of the bytes' offsets (src/inspect/utf8-text.ts) saves making another.
   */
  utf16?: boolean | Utf8Offsets;
}

export interface DetectorSet {
  /** Identifies the compiled set (detector definitions + roster digest), for incidents and logs. */
  version: string;
  scan(text: string | Buffer, where: string, opts?: ScanOptions): Detection[];
  roster?: Roster;
  stats: { compileMs: number; nameIndexBytes: number; pupils: number; nameVariants: number; staffVariants: number; nameWords: number };
}

export interface CompileOptions {
  roster?: Roster;
  /** Staff names to exclude (a staff list, or members). */
  staff?: StaffList | StaffMember[];
  /** Defaults to the registry; tests compile a single detector. */
  detectors?: readonly Detector[];
  /** Use detectors' byte-level fast paths (default true; tests compare with and without). */
  fastPaths?: boolean;
  /** Locate every match with exec() (slower; tests compare it with the test()+search() way). */
  exactLocate?: boolean;
  /** Read identifier patterns over the whole text, not only its digit regions (tests compare both). */
  wholeText?: boolean;
  /**
   * Long texts are scanned a stretch at a time (stretches.ts; by default 512 KB stretches for texts
   * from 2 MB); false scans every text whole. Tests set small stretches to compare both ways.
   */
  stretches?: StretchOptions | false;
}

/** How long texts are scanned in stretches (stretches.ts): sizes in bytes. */
export interface StretchOptions {
  /** Each stretch's own part. */
  bytes?: number;
  /** Text read on each side of it (by default enough for the widest reach of any detector). */
  margin?: number;
  /** Shorter texts are scanned whole. */
  from?: number;
}

export interface CompiledPattern {
  detector: number;
  re: RE2;
  hasValueGroup: boolean;
  /**
   * Every match starts and ends with a word character at a \b, so a match's start can be found
   * by searching the bytes just before its end (the detector declares it: wordBounded).
   */
  wordBounded: boolean;
}

export interface CompiledDetector {
  def: PatternDetector;
  index: number;
  patterns: CompiledPattern[];
}
