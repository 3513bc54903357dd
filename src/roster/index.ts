// The pupil roster: read from the CSV a school's MIS exports (read.ts), checked for the IT lead
// (report.ts), with the staff names never matched as pupils (staff.ts), reloaded when the file
// changes (watch.ts). The roster is personal data itself: nothing here logs or copies a pupil's
// details; messages name lines and columns, never values.
export { RosterError } from './types.ts';
export type { Pupil, Roster, RosterProblem, StaffList, StaffMember } from './types.ts';
export { loadRoster, makeRoster, readRoster, type RosterReadDetails } from './read.ts';
export { rosterCheckReport } from './report.ts';
export { loadStaffList } from './staff.ts';
export { watchRoster, type WatchOptions } from './watch.ts';
