// The staff list: names never matched as pupils (a teacher who shares a pupil's name).
import { readFile } from 'node:fs/promises';
import { decodeRosterBytes, parseCsv } from './csv.ts';
import { fieldOf, mapColumns } from './columns.ts';
import { splitFullName } from './read.ts';
import { RosterError, type RosterProblem, type StaffList, type StaffMember } from './types.ts';

/**
 * Staff names to exclude from pupil matching. Either a CSV with forename/surname columns (the
 * same header names as the roster) or plain text with one name per line ("Jane Smith" or
 * "Smith, Jane"; lines starting with # are comments).
 */
export async function loadStaffList(path: string): Promise<StaffList> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new RosterError(`The staff list cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${path}`);
  }
  const { text } = decodeRosterBytes(bytes);
  const problems: RosterProblem[] = [];
  const members: StaffMember[] = [];
  const { records } = parseCsv(text);
  const header = records[0]?.fields ?? [];
  const fields = header.map(fieldOf);
  const looksLikeCsv =
    fields.some((f) => f === 'legalForename' || f === 'preferredForename' || f === 'fullName') &&
    fields.some((f) => f === 'legalSurname' || f === 'preferredSurname' || f === 'fullName');
  if (looksLikeCsv) {
    const map = mapColumns(header.map((h) => h.trim()));
    const s = map.single;
    for (const { line, fields: row } of records.slice(1)) {
      const g = (i: number | undefined) => (i === undefined ? '' : (row[i] ?? '').trim());
      let forename = g(s.legalForename) || g(s.preferredForename);
      let surname = g(s.legalSurname) || g(s.preferredSurname);
      if ((!forename || !surname) && g(s.fullName)) {
        const split = splitFullName(g(s.fullName));
        forename ||= split.forename ?? '';
        surname ||= split.surname ?? '';
      }
      if (!forename || !surname) {
        problems.push({ line, message: 'no forename or no surname; row skipped' });
        continue;
      }
      const other = g(s.preferredForename);
      members.push({ forename, surname, otherForenames: other && other !== forename ? [other] : undefined });
    }
  } else {
    const lines = text.split(/\r\n|\r|\n/);
    lines.forEach((raw, i) => {
      const t = raw.trim();
      if (!t || t.startsWith('#')) return;
      const { forename, surname } = splitFullName(t);
      if (!forename || !surname) problems.push({ line: i + 1, message: 'not a forename and surname; line skipped' });
      else members.push({ forename, surname });
    });
  }
  return { members, source: path, problems };
}
