// The roster as the rest of Hallmonitor sees it. Pupil data: never log a Pupil, only its id.

export interface Pupil {
  /** Row-based id ("row-12": the line the pupil's record starts on). Safe for logs; never the UPN. */
  id: string;
  legalForename?: string;
  legalSurname?: string;
  preferredForename?: string;
  preferredSurname?: string;
  middleNames?: string;
  upn?: string;
  /** ISO yyyy-mm-dd. */
  dob?: string;
  year?: string;
  form?: string;
  /** The school column of a trust-wide export (see src/roster/trust.ts). */
  school?: string;
  /** Lower-cased parent/carer email addresses. */
  contacts: string[];
  /** The line of the roster file the record starts on. */
  line: number;
}

export interface Roster {
  pupils: Pupil[];
  /** Pupils for whom this address is a parent/carer contact (case-insensitive). */
  pupilsByContact(email: string): Pupil[];
  pupilById(id: string): Pupil | undefined;
  pupilsByUpn(upn: string): Pupil[];
  /** A digest of the roster's content (sha-256, hex): tells two loads apart without revealing data. */
  digest: string;
  loadedAt: Date;
  /** The file it was read from. */
  source?: string;
}

export interface RosterProblem {
  line: number;
  message: string;
}

export interface StaffMember {
  forename: string;
  surname: string;
  /** Other forenames the person is known by. */
  otherForenames?: string[];
}

export interface StaffList {
  members: StaffMember[];
  source?: string;
  /** Lines that could not be read as a name (line numbers only). */
  problems?: RosterProblem[];
}

/** The roster file cannot be understood at all. The message names columns, never data. */
export class RosterError extends Error {
  readonly found: string[];
  readonly missing: string[];
  constructor(message: string, found: string[] = [], missing: string[] = []) {
    super(message);
    this.name = 'RosterError';
    this.found = found;
    this.missing = missing;
  }
}
