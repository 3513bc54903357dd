// `hallmonitor roster check`: what was understood in a roster export and what was not, in
// words an IT lead can act on (columns, counts, problem lines), never a pupil's details.
import { displayHeader, FIELD_LABEL } from './columns.ts';
import { buildNameIndex } from './name-index.ts';
import { DELIMITER_NAME, readRoster } from './read.ts';
import { RosterError } from './types.ts';
import { isTemporaryUpn } from '../../detectors/library/checksums.ts';

/** The human output of `hallmonitor roster check FILE`. Counts and line numbers only, never values. */
export async function rosterCheckReport(path: string): Promise<{ text: string; ok: boolean }> {
  let result: Awaited<ReturnType<typeof readRoster>>;
  try {
    result = await readRoster(path);
  } catch (e) {
    if (e instanceof RosterError) return { text: `Roster file: ${path}\nNOT USABLE. ${e.message}\n`, ok: false };
    throw e;
  }
  const { roster, problems, details } = result;
  const pupils = roster.pupils;
  const index = buildNameIndex({
    pupils: pupils.map((p) => ({
      forenames: [p.legalForename, p.preferredForename].filter((x): x is string => !!x),
      surnames: [p.legalSurname, p.preferredSurname].filter((x): x is string => !!x),
      middleNames: p.middleNames ? [p.middleNames] : undefined,
    })),
  });
  const withPreferredForename = pupils.filter((p) => p.preferredForename).length;
  const withPreferredSurname = pupils.filter((p) => p.preferredSurname).length;
  const upns = pupils.filter((p) => p.upn).length;
  const temporary = pupils.filter((p) => p.upn && isTemporaryUpn(p.upn)).length;
  const dobs = pupils.filter((p) => p.dob).length;
  const contactSet = new Set<string>();
  for (const p of pupils) for (const c of p.contacts) contactSet.add(c);
  const pupilsWithContacts = pupils.filter((p) => p.contacts.length).length;
  const n = (x: number) => x.toLocaleString('en-GB');
  const lines: string[] = [];
  lines.push(`Roster file: ${path}`);
  lines.push(`Read as: ${details.encoding}, ${details.delimiter === 'cells' ? '' : `${DELIMITER_NAME[details.delimiter] ?? 'delimited'}-separated, `}${n(details.rows)} data rows`);
  lines.push(`Columns used: ${details.columns.used.map((u) => `${displayHeader(u.header)} → ${FIELD_LABEL[u.field]}`).join(', ')}`);
  if (details.columns.ignored.length) {
    lines.push(`Columns not used: ${details.columns.ignored.map((c) => displayHeader(c.header)).join(', ')}`);
  }
  lines.push(`Pupils: ${n(pupils.length)}`);
  lines.push(
    `Names: ${n(pupils.length)} pupils with forename and surname (${n(withPreferredForename)} with a different preferred forename, ` +
      `${n(withPreferredSurname)} with a different preferred surname); ${n(index.stats.pupilVariants)} name forms will be matched`,
  );
  lines.push(`UPNs: ${n(upns)}${temporary ? ` (${n(temporary)} temporary)` : ''}${upns < pupils.length ? `; ${n(pupils.length - upns)} pupils without one` : ''}`);
  lines.push(`Dates of birth: ${n(dobs)}`);
  lines.push(`Contacts: ${n(contactSet.size)} parent/carer email addresses for ${n(pupilsWithContacts)} pupils`);
  if (problems.length) {
    lines.push(`Problems (${n(problems.length)}):`);
    for (const p of problems) lines.push(`  line ${p.line}: ${p.message}`);
  } else lines.push('Problems: none');
  const ok = pupils.length > 0 && problems.length === 0;
  if (pupils.length === 0) lines.push('NOT USABLE: no pupil could be read from this file.');
  return { text: lines.join('\n') + '\n', ok };
}
