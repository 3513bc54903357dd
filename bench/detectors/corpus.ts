// A deterministic synthetic corpus of school mail (letters home, pupil reports, CSV class lists,
// newsletters) and synthetic rosters. Generated in code each run: nothing large is committed,
// and no real person is in it.

import { FORENAMES, SURNAMES, surnamePool, rng, pick, type SyntheticPupil } from './names.ts';
import { upnCheckLetter } from '../../detectors/library/checksums.ts';
import type { Pupil } from '../../src/roster/types.ts';
import { makeRoster } from '../../src/roster/index.ts';

const ALL_SURNAMES = surnamePool(10_000);

export function syntheticPupils(count: number, seed = 42): SyntheticPupil[] {
  const r = rng(seed);
  const out: SyntheticPupil[] = [];
  for (let i = 0; i < count; i++) {
    const legalForename = pick(r, FORENAMES);
    const legalSurname = r() < 0.6 ? pick(r, SURNAMES) : pick(r, ALL_SURNAMES);
    const body =
      String(800 + Math.floor(r() * 200)) +
      String(Math.floor(r() * 10000)).padStart(4, '0') +
      String(10 + Math.floor(r() * 15)) +
      String(Math.floor(r() * 1000)).padStart(3, '0');
    const birthYear = 2008 + Math.floor(r() * 14);
    const dob = `${birthYear}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
    const year = String(Math.max(0, Math.min(13, 2025 - birthYear - 5)));
    const ascii = legalSurname.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
    const p: SyntheticPupil = {
      legalForename,
      legalSurname,
      upn: upnCheckLetter(body)! + body,
      dob,
      year,
      form: `${year}${pick(r, ['A', 'B', 'C', 'H', 'K', 'M'])}`,
      contacts: [`${ascii}.family${i}@example.org`],
    };
    if (r() < 0.08) p.preferredForename = pick(r, FORENAMES);
    if (r() < 0.4) p.contacts.push(`parent${i}@example.net`);
    out.push(p);
  }
  return out;
}

export function toRoster(pupils: SyntheticPupil[]) {
  const rows: Pupil[] = pupils.map((p, i) => ({
    id: `row-${i + 2}`,
    line: i + 2,
    legalForename: p.legalForename,
    legalSurname: p.legalSurname,
    preferredForename: p.preferredForename,
    upn: p.upn,
    dob: p.dob,
    year: p.year,
    form: p.form,
    contacts: p.contacts,
  }));
  return makeRoster(rows, 'synthetic');
}

const OPENINGS = [
  'I am writing to let you know about some changes to the school day from next half term.',
  'Thank you for coming to parents evening last week; it was lovely to see so many families.',
  'As you know, the Year 6 residential trip to the outdoor centre is coming up soon.',
  'We have been really impressed with the effort everyone has put into their homework this term.',
  'Please find attached the timetable for the mock examinations, which begin after the holiday.',
  'Following our conversation on the telephone this morning, I wanted to confirm what we agreed.',
];
const SENTENCES = [
  'Children should arrive at the main gate by 8.40am and will be collected from the playground at 3.15pm.',
  'Please make sure that all uniform, including coats and PE kit, is clearly labelled with your child\'s name.',
  'The school office is open from 8am until 4.30pm if you have any questions.',
  'We will be sending home a reading record each Monday; please sign it at least three times a week.',
  'The cost of the trip is £24.50, which can be paid through the online payments system.',
  'If your child needs to take any medication during the day, please complete a form at the office.',
  'We ask that mobile phones are switched off and kept in bags during lessons.',
  'Our attendance target this year is 96 per cent, and every day really does count.',
  'Homework club runs in the library on Tuesdays and Thursdays until 4.15pm.',
  'The lunch menu for the next three weeks is available on the school website.',
  'Please remember that we are a nut-free school, so no nuts in packed lunches please.',
  'We would love to hear from any parents who could help with reading in Key Stage 1.',
  'Tickets for the winter concert go on sale on Monday 1 December at 9am.',
  'Year 11 students will receive their revision timetables in tutor time this week.',
  'The PTA summer fair raised a fantastic £1,842 for new playground equipment.',
  'Swimming lessons for Year 4 will take place on Wednesday afternoons this term.',
  'Any lost property not collected by the end of term will be donated to charity.',
  'Our safeguarding policy and the latest SEN information report are available on the website.',
  'Please let us know by Friday 14 November if your child will be attending the breakfast club.',
  'Flu vaccinations for all year groups will take place on Thursday 6 November.',
  'The school will close at 1.30pm on the last day of term.',
  'Room 12 is being redecorated, so Class 3 will be in the hall for the next fortnight.',
  'We were delighted with the results of the reading assessments this half term.',
  'Could you please return the signed consent form by Wednesday at the latest.',
  'The new climbing frame will be installed during the half-term holiday.',
  'Applications for secondary school places close on 31 October.',
  'We will be holding a coffee morning for new parents in the community room.',
  'Staff training days this year are on 3 September, 24 November and 6 January.',
];
const SUBJECT_COMMENTS = [
  'has made steady progress this year and contributes thoughtfully to class discussions.',
  'works hard in every lesson and has shown real improvement in written work.',
  'is a confident reader who enjoys a wide range of books.',
  'needs to take more care with presentation and check work before handing it in.',
  'has an excellent grasp of number and applies it well to problem solving.',
  'is kind and helpful to others and is a popular member of the class.',
  'should continue to practise times tables at home to build fluency.',
  'has produced some outstanding pieces of art this term.',
];
const SUBJECTS = ['English', 'Mathematics', 'Science', 'History', 'Geography', 'Art', 'Music', 'PE', 'Computing', 'French'];
const STAFF_SURNAMES = ['Brennan', 'Okoro', 'Whitfield', 'Castell', 'Prideaux', 'Lindqvist'];

export interface CorpusDoc {
  kind: 'letter' | 'report' | 'class-list' | 'newsletter';
  text: Buffer;
}

function fullName(r: () => number, roster: SyntheticPupil[]): { forename: string; surname: string; pupil?: SyntheticPupil } {
  if (r() < 0.5 && roster.length) {
    const p = roster[Math.floor(r() * roster.length)];
    return { forename: p.preferredForename ?? p.legalForename, surname: p.legalSurname, pupil: p };
  }
  return { forename: pick(r, FORENAMES), surname: r() < 0.6 ? pick(r, SURNAMES) : pick(r, ALL_SURNAMES) };
}

function ukDate(iso: string): string {
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
}

function paragraph(r: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(r, SENTENCES));
  return out.join(' ');
}

function letter(r: () => number, roster: SyntheticPupil[]): string {
  const who = fullName(r, roster);
  const staff = pick(r, STAFF_SURNAMES);
  return (
    `Dear Parent/Carer of ${who.forename} ${who.surname},\n\n${pick(r, OPENINGS)} ${paragraph(r, 4 + Math.floor(r() * 3))}\n\n` +
    `${paragraph(r, 4 + Math.floor(r() * 4))}\n\n${paragraph(r, 3 + Math.floor(r() * 4))}\n\n` +
    `If you have any questions, please contact the school office.\n\n` +
    `Yours sincerely,\n\nMrs ${staff}\nHead of Year ${1 + Math.floor(r() * 11)}\n` +
    `Example Academy, 1 School Lane, Exampletown EX1 2AB\nTel: 01632 960${String(Math.floor(r() * 1000)).padStart(3, '0')}\n`
  );
}

function report(r: () => number, roster: SyntheticPupil[]): string {
  const p = roster.length && r() < 0.7 ? roster[Math.floor(r() * roster.length)] : undefined;
  const forename = p ? (p.preferredForename ?? p.legalForename) : pick(r, FORENAMES);
  const surname = p ? p.legalSurname : pick(r, ALL_SURNAMES);
  let s = `End of Year Report\nPupil: ${forename} ${surname}    Form: ${p?.form ?? '7B'}\n`;
  if (r() < 0.5 && p) s += `UPN: ${p.upn}\n`;
  s += `Attendance: ${(90 + r() * 10).toFixed(1)}%    Punctuality: ${(95 + r() * 5).toFixed(1)}%\n\n`;
  for (const subject of SUBJECTS) {
    s += `${subject}\nTeacher: ${pick(r, ['Mr', 'Mrs', 'Ms', 'Dr'])} ${pick(r, STAFF_SURNAMES)}    Effort: ${1 + Math.floor(r() * 4)}    Attainment: ${pick(r, ['Working towards', 'Expected', 'Greater depth'])}\n`;
    s += `${forename} ${pick(r, SUBJECT_COMMENTS)} ${pick(r, SUBJECT_COMMENTS)} ${pick(r, SUBJECT_COMMENTS)}\n\n`;
  }
  if (r() < 0.15) s += `${forename} receives SEN support for dyslexia and has extra time in assessments.\n\n`;
  s += `Form tutor: ${forename} ${paragraph(r, 1).toLowerCase()}\n`;
  return s;
}

function classList(r: () => number, roster: SyntheticPupil[]): string {
  let s = 'UPN,Surname,Forename,DOB,Year,Reg Group,SEN,FSM,EAL\r\n';
  // A class (about 30) or a whole year group (up to 180) exported from the MIS.
  const rows = r() < 0.7 ? 25 + Math.floor(r() * 10) : 60 + Math.floor(r() * 120);
  for (let k = 0; k < rows; k++) {
    const p = roster.length && r() < 0.7 ? roster[Math.floor(r() * roster.length)] : undefined;
    const forename = p?.legalForename ?? pick(r, FORENAMES);
    const surname = p?.legalSurname ?? pick(r, ALL_SURNAMES);
    const dob = p?.dob ?? `20${10 + Math.floor(r() * 10)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}`;
    s += `${p?.upn ?? ''},${surname.toUpperCase()},${forename},${ukDate(dob)},${p?.year ?? '7'},${p?.form ?? '7C'},${r() < 0.15 ? 'K' : ''},${r() < 0.2 ? 'Y' : 'N'},${r() < 0.1 ? 'Y' : 'N'}\r\n`;
  }
  return s;
}

function newsletter(r: () => number, roster: SyntheticPupil[]): string {
  let s = `Weekly Newsletter – Friday ${1 + Math.floor(r() * 28)} November\n\nMessage from the Headteacher\n\n${paragraph(r, 8)}\n\n${paragraph(r, 8)}\n\n`;
  s += 'Stars of the Week\n\n';
  for (let k = 0; k < 12; k++) {
    const who = fullName(r, roster);
    s += `Well done to ${who.forename} ${who.surname} in ${pick(r, ['Oak', 'Ash', 'Willow', 'Birch', 'Maple'])} class for ${pick(r, ['fantastic writing', 'great teamwork', 'always trying hard', 'a brilliant science project', 'kindness to others'])}.\n`;
  }
  s += `\nDates for your diary\n\n${paragraph(r, 8)}\n\nSport\n\n${paragraph(r, 8)}\n\nClass news\n\n${paragraph(r, 10)}\n\n${paragraph(r, 10)}\n\nSafeguarding\n\n`;
  s += 'If you have a safeguarding concern about any child, please contact our Designated Safeguarding Lead on 01632 960000 or email dsl@example.org.\n\n';
  s += `${paragraph(r, 5)}\n`;
  return s;
}

/** At least `bytes` of documents in a fixed mix: letters, reports, class lists, newsletters. */
export function syntheticCorpus(bytes: number, roster: SyntheticPupil[], seed = 7): CorpusDoc[] {
  const r = rng(seed);
  const docs: CorpusDoc[] = [];
  let total = 0;
  while (total < bytes) {
    const x = r();
    const kind: CorpusDoc['kind'] = x < 0.4 ? 'letter' : x < 0.6 ? 'report' : x < 0.75 ? 'class-list' : 'newsletter';
    const text =
      kind === 'letter' ? letter(r, roster) : kind === 'report' ? report(r, roster) : kind === 'class-list' ? classList(r, roster) : newsletter(r, roster);
    const buf = Buffer.from(text, 'utf8');
    docs.push({ kind, text: buf });
    total += buf.length;
  }
  return docs;
}
