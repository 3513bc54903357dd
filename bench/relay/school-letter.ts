// The message and the roster the whole-gateway benchmarks send (bench/relay/latency.ts,
// bench/relay/peers.ts): a letter to parents with no pupil in it, sent outside the school so every
// rule runs and it is delivered, and a synthetic roster for the gateway to hold.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { syntheticPupils } from '../detectors/corpus.ts';

export const FROM = 'office@school.example.org';
export const TO = 'parent.jones@home.example';

/** The letter, about `bytes` long with CRLF line ends, header block included, no final dot. */
export function letter(bytes: number, id: string): string {
  const head = `From: Oakfield Primary <${FROM}>\r\nTo: ${TO}\r\nSubject: Spring term dates and the summer fair\r\nDate: Mon, 7 Dec 2026 09:00:00 +0000\r\nMessage-ID: <${id}@school.example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`;
  const lines = [
    'Dear parents and carers,',
    'The spring term starts on Tuesday 5 January; the school office opens at 8.15 each morning.',
    'Our summer fair will be on the field from 2pm on Saturday 19 June, with the choir at 3pm.',
    'Please label every item of uniform, and send a named water bottle in with your child each day.',
    'Clubs restart in the second week of term; the list is on the website under Parents, Clubs.',
    'Thank you for your support this year, and best wishes for a restful holiday.',
  ];
  let body = '';
  for (let i = 0; body.length + head.length < bytes; i++) body += `${lines[i % lines.length]}\r\n`;
  return `${head}${body}`;
}

/** A roster of `pupils` synthetic pupils as a school's MIS export (CSV), written into `dir`. */
export function rosterCsv(dir: string, pupils: number): string {
  const file = path.join(dir, 'roster.csv');
  const dmy = (iso: string) => iso.split('-').reverse().join('/');
  const rows = syntheticPupils(pupils).map((p) => [p.legalSurname, p.legalForename, p.preferredForename ?? '', p.upn, dmy(p.dob), p.year, p.form, p.contacts[0] ?? '', p.contacts[1] ?? ''].join(','));
  writeFileSync(file, `Legal Surname,Legal Forename,Preferred Forename,UPN,DOB,Year,Reg Group,Primary Contact Email,Contact 2 Email\n${rows.join('\n')}\n`);
  return file;
}
