// The personal-data model (src/decide/model.ts, recipients.ts, forwarding.ts) driven the way the
// relay drives it: real messages composed by nodemailer, read by the real inspection, scanned by
// the compiled detectors with a roster read from a CSV export, decided by the school's policy.
// Rule by rule: who the data is about (coreference), entitlement per recipient, lists in the body,
// addresses exposed in To/Cc, forwards by their quoted header block, passwords in every shape.
// Then the same model through `hallmonitor check` and through the running gateway.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import libqp from 'libqp';
import MailComposer from 'nodemailer/lib/mail-composer';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decide, loadPolicy, loadWebmailDomains } from '../src/decide/index.ts';
import { compileDetectors } from '../src/detect/index.ts';
import { DETECTORS } from '../detectors/index.ts';
import { MAIN_THREAD_TEXT_BYTES } from '../src/inspect/analyse.ts';
import { defaultLimits, inspect } from '../src/inspect/index.ts';
import { htmlToText } from '../src/inspect/text.ts';
import { loadRoster } from '../src/roster/read.ts';
import { greetingSurname } from '../src/decide/index.ts';
import { hasForwardedHeaderBlock } from '../src/decide/forwarding.ts';
import { createExaminer, type Examiner } from '../src/examine.ts';
import { PLAIN_BODY_BYTES } from '../src/inspect/message.ts';
import { Utf8Text } from '../src/inspect/utf8-text.ts';
import type { Verdict } from '../src/types.ts';
import { upnCheckLetter } from './corpus/roster.ts';
import { startSink, type Sink } from './helpers/smtp.ts';
import { createStorage, sendRaw, spawnServe, waitFor, type ServeProcess, type TestStorage } from './quarantine-helpers.ts';

const SCHOOL = 'oakfield.sch.uk';
const TEACHER = 'd.thompson@oakfield.sch.uk';
const PARTNER = 'sen.team@county.gov.uk';
const TUTOR = 'hello@brightsparks.example';

// [surname, forename, primary contact]
const PUPILS: Array<[string, string, string]> = [
  ['Brennan', 'Tyler', 'kayleigh.brennan@gmail.com'],
  ["O'Brien", 'Liam', 'siobhan.obrien@hotmail.co.uk'],
  ['Wright', 'Oliver', 'laura.wright.home@gmail.com'],
  ['Hughes', 'Amelia', 'j.hughes1985@hotmail.co.uk'],
  ['Patel', 'Noah', 'patel.home@gmail.com'],
  ['Evans', 'Noah', 'evans.family@outlook.com'],
  ['Adeyemi', 'Hope', 'folake.adeyemi@gmail.com'],
  ['Adeyemi', 'Daniel', 'folake.adeyemi@gmail.com'],
  ['Kowalczyk', 'Ellis', 'marta.k@outlook.com'],
  ['Green', 'Ava', 'green.family@gmail.com'],
  ['Turner', 'Mia', 'mia.turner.mum@gmail.com'],
  ['Foster', 'Freya', 'fosters@icloud.com'],
  ['Palmer', 'Theo', 'palmer.house@gmail.com'],
  ['Barker', 'Isaac', 'barker.k@hotmail.co.uk'],
  ['Dixon', 'Orla', 'dixon.home@gmail.com'],
  ['Khan', 'Yusuf', 'khan.family@gmail.com'],
  ['Smith-Jones', 'Mary-Jane', 'smithjones.home@gmail.com'],
];
const contactOf = (forename: string, surname?: string) => PUPILS.find(([s, f]) => f === forename && (!surname || s === surname))![2];
const DOB = (i: number) => `${String((i % 27) + 1).padStart(2, '0')}/0${(i % 9) + 1}/2016`;

function rosterCsv(): string {
  const rows = PUPILS.map(([surname, forename, contact], i) => {
    const rest = `9192041${String(20 + (i % 80)).padStart(2, '0')}${String(100 + i).padStart(3, '0')}`;
    return [upnCheckLetter(rest) + rest, surname, forename, '', DOB(i), 'Year 5', '5S', contact, ''].join(',');
  });
  return ['UPN,Legal Surname,Legal Forename,Preferred Forename,DOB,Year,Reg Group,Primary Contact Email,Contact 2 Email', ...rows].join('\r\n') + '\r\n';
}

let dir = '';
let rosterFile = '';
let examiner: Examiner;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hm-model-'));
  rosterFile = path.join(dir, 'roster.csv');
  writeFileSync(rosterFile, rosterCsv());
  examiner = await createExaminer({
    policy: loadPolicy({ source: 'test', school: { domains: [SCHOOL], partner_domains: ['county.gov.uk'], roster: rosterFile }, policy: {} }),
  });
});
afterAll(async () => {
  await examiner?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Mail {
  from?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: Array<{ filename: string; content: Buffer | string }>;
}

function compose(m: Mail): Promise<Buffer> {
  return new MailComposer({
    from: m.from ?? TEACHER,
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    subject: m.subject ?? 'A note',
    text: m.text,
    html: m.html,
    attachments: m.attachments,
    date: new Date('2026-11-25T10:00:00Z'),
  }).compile().build();
}

async function verdict(m: Mail): Promise<Verdict> {
  const raw = await compose(m);
  const rcpts = [...(m.to ?? []), ...(m.cc ?? []), ...(m.bcc ?? [])];
  const { verdict: v } = await examiner.examine(raw, { mailFrom: m.from ?? TEACHER, mailFromParams: {}, rcptTo: rcpts.map((address) => ({ address })) });
  return v;
}

const rules = async (m: Mail) => [...(await verdict(m)).rules].sort();

/** More than any detector's proximity window (300 bytes) of ordinary prose. */
const FILLER = ('We talked about how the term has gone, what is working well in class and what we will try next. ' +
  'Homework comes in on time and the reading record is signed most weeks, which is lovely to see. ').repeat(3);

describe('who the data is about: a forename refers to the pupil named in full before it', () => {
  const letter = (intro: string, later: string) => `Dear team,\n\n${intro}\n\n${FILLER}\n\n${later}\n\nBest wishes,\nDaniel Thompson`;

  it('full name once, then the forename beside an ADHD assessment far below: held, about that pupil', async () => {
    const v = await verdict({ to: [TUTOR], text: letter('Thank you for meeting us about Tyler Brennan (6M).', 'Tyler has been referred for an ADHD assessment, and Tyler has a SEN support review next month.') });
    expect(v.rules).toEqual(['personal-data-in-body']);
    expect(v.action).toBe('quarantine');
    const f = v.findings[0];
    expect(f.evidence).toBe('T**** B******');
    expect(f.reason).toMatch(/special educational needs or disability \(ADHD, SEN support\) about T\*{4} B\*{6}/);
    expect(f.reason).toMatch(/h\*\*\*@brightsparks\.example: it is outside the school, not a partner organisation, and not a parent or carer of this pupil on the roster/);
    expect(JSON.stringify(v)).not.toMatch(/Tyler|Brennan/);
  });

  it('a reply typed above the message it quotes: the forename is the pupil the quoted message names in full', async () => {
    // Found by a fail-open review: a disclaimer put the quoted full name out of reach.
    const disclaimer = 'This email and any files transmitted with it are confidential and intended solely for the use of the individual or entity to whom they are addressed. If you have received this email in error please notify the sender. '.repeat(2);
    const reply = (to: string) => `Hi Jo,\n\nYes - Tyler had another seizure in class this morning and we gave him his rescue medication. His epilepsy care plan is being updated by the school nurse.\n\nDaniel Thompson\n\n${disclaimer}\n\n________________________________\nFrom: Jo Bright <${to}>\nSent: 04 December 2026 16:12\nTo: Daniel Thompson <${TEACHER}>\nSubject: Checking in\n\nHi, how has Tyler Brennan been this week?`;
    const v = await verdict({ to: ['family.support.worker@gmail.com'], subject: 'RE: Checking in', text: reply('family.support.worker@gmail.com') });
    expect(v.rules).toEqual(['personal-data-in-body']);
    expect(v.findings[0].evidence).toBe('T**** B******');
    // To his own parent: entitled.
    expect(await rules({ to: [contactOf('Tyler')], subject: 'RE: Checking in', text: reply(contactOf('Tyler')) })).toEqual([]);
    // No quoted message below: the forename stays a forename.
    expect(await rules({ to: ['family.support.worker@gmail.com'], text: 'Tyler had another seizure in class this morning.\n\n' + disclaimer + '\n\nTyler Brennan won the spelling bee.' })).toEqual([]);
  });

  it('a forename alone, never named in full, ties nothing to anyone', async () => {
    expect(await rules({ to: [TUTOR], text: letter('Thank you for meeting us on Tuesday.', 'Tyler has been referred for an ADHD assessment.') })).toEqual([]);
  });

  it('a forename before the full name does not refer back to it', async () => {
    expect(await rules({ to: [TUTOR], text: letter('Tyler has been referred for an ADHD assessment.', 'We will see Tyler Brennan (6M) on Friday.') })).toEqual([]);
  });

  it('two pupils named in full with the same forename: the forename alone is neither', async () => {
    const both = letter('Both Noah Patel and Noah Evans are coming to the trials.', 'Noah has asthma, so an inhaler must go in the kit bag.');
    expect(await rules({ to: [TUTOR], text: both })).toEqual([]);
    const one = letter('Noah Patel is coming to the trials.', 'Noah has asthma, so an inhaler must go in the kit bag.');
    const v = await verdict({ to: [TUTOR], text: one });
    expect(v.rules).toEqual(['personal-data-in-body']);
    expect(v.findings[0].evidence).toBe('N*** P****');
  });

  it('siblings sharing a surname are not merged: the data is tied to the one named by forename', async () => {
    const v = await verdict({ to: [TUTOR], text: letter('Hope Adeyemi and Daniel Adeyemi both start on Monday.', 'Daniel has an EHCP for speech and language needs.') });
    expect(v.rules).toEqual(['personal-data-in-body']);
    expect(v.findings.map((f) => f.evidence)).toEqual(['D***** A******']);
    // Only Hope named in full: Daniel's forename alone refers to nobody.
    expect(await rules({ to: [TUTOR], text: letter('Hope Adeyemi starts on Monday.', 'Daniel has an EHCP for speech and language needs.') })).toEqual([]);
  });

  it('the same in a long letter with curly apostrophes (a body read from its bytes): 8bit, quoted-printable and base64', async () => {
    // Past PLAIN_BODY_BYTES the body is scanned from its UTF-8 bytes; each ’ is three bytes but one
    // UTF-16 unit, so the findings must be placed in the text, or the forename is lost.
    const long = ('We’ve talked about how the term’s gone, what’s working well and what we’ll try next. ').repeat(3500);
    const body = `Dear team,\r\n\r\nThank you for meeting us about Tyler Brennan (6M).\r\n\r\n${long}\r\n\r\nTyler has been referred for an ADHD assessment.\r\n`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(PLAIN_BODY_BYTES);
    const encoded: Record<string, string> = {
      '8bit': body,
      'quoted-printable': libqp.wrap(libqp.encode(Buffer.from(body)), 76),
      base64: Buffer.from(body).toString('base64').replace(/.{76}/g, '$&\r\n'),
    };
    // Examined without the body ever being made one string (V8 would hold it in twice its bytes).
    const built = vi.spyOn(Utf8Text.prototype, 'toString');
    for (const [cte, text] of Object.entries(encoded)) {
      const raw = Buffer.from(`From: ${TEACHER}\r\nTo: ${TUTOR}\r\nSubject: A note\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n${text}`);
      built.mockClear();
      const { verdict: v, inspection } = await examiner.examine(raw, { mailFrom: TEACHER, mailFromParams: {}, rcptTo: [{ address: TUTOR }] });
      expect(built, cte).not.toHaveBeenCalled();
      expect(inspection.texts.find((t) => t.where === 'body')?.utf8, cte).toBeDefined();
      expect(v.rules, cte).toEqual(['personal-data-in-body']);
      expect(v.findings[0].reason, cte).toMatch(/\(ADHD\) about T\*{4} B\*{6}/);
    }
    // To a personal address, every rule reads it too (the forwarding check, the greeting).
    built.mockClear();
    const raw = Buffer.from(`From: ${TEACHER}\r\nTo: tyler.family@gmail.com\r\nSubject: A note\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}`);
    const { verdict: toHome } = await examiner.examine(raw, { mailFrom: TEACHER, mailFromParams: {}, rcptTo: [{ address: 'tyler.family@gmail.com' }] });
    expect(built).not.toHaveBeenCalled();
    expect(toHome.action).not.toBe('deliver');
    built.mockRestore();
  });

  it("a surname that is also a pupil's forename (a governor, Mr Ellis) never anchors special-category data", async () => {
    const minutes = 'Present: Mr Gareth Ellis (Chair), Mrs Ruth Greaves.\n\nEllis asked about SEND provision: 41 pupils on SEN support and 7 with an EHCP. Safeguarding: 3 referrals to social care. Free school meals eligibility is 24%.';
    const governors = ['ruth.greaves.gov@gmail.com', 'gareth.ellis1958@btinternet.com'];
    expect(await rules({ to: governors, text: minutes })).toEqual([]);
    expect(await rules({ to: governors, text: 'Minutes attached.', attachments: [{ filename: 'minutes.txt', content: minutes }] })).toEqual([]);
  });
});

describe('who receives it, and are they entitled', () => {
  const senLetter = 'Dear colleague,\n\nOliver Wright (3K) has a diagnosis of autism and we have applied for an EHCP. He receives free school meals.\n\nKind regards';

  it.each([
    ['the school itself', `k.doyle@${SCHOOL}`, []],
    ['a partner (local authority)', PARTNER, []],
    ["the pupil's own parent (on the roster, Gmail)", contactOf('Oliver'), []],
    ["another pupil's parent", contactOf('Amelia'), ['misdirected-pupil-data']],
    ['a personal Gmail not on the roster', 'jen.speechtherapy@gmail.com', ['personal-data-in-body']],
    ['a personal address on a webmail subdomain', 'jen@mail.yahoo.com', ['personal-data-in-body']],
    ['any other outside address', TUTOR, ['personal-data-in-body']],
  ])('%s', async (_who, to, expected) => {
    expect(await rules({ to: [to], text: senLetter })).toEqual(expected);
  });

  it('says why the recipient is not entitled, in plain words', async () => {
    const gmail = await verdict({ to: ['jen.speechtherapy@gmail.com'], text: senLetter });
    expect(gmail.findings[0].reason).toMatch(/about O\*{5} W\*{5}, and it is addressed to j\*\*\*@gmail\.com: it is a personal email address that the roster does not list as a parent or carer of this pupil\./);
    const other = await verdict({ to: [contactOf('Amelia')], text: senLetter });
    expect(other.findings[0].reason).toMatch(/^Personal data about O\*{5} W\*{5} \(.+\) is addressed to j\*\*\*@hotmail\.co\.uk: the roster lists this address as a contact of another pupil only\.$/);
    for (const f of [...gmail.findings, ...other.findings]) expect(f.reason).not.toMatch(/score|threshold|special-send|pupil-name/);
  });
});

describe('a list or table of pupils in the body', () => {
  const rows = PUPILS.slice(9, 15).map(([s, f], i) => [`${f} ${s}`, DOB(i), ['', 'Asthma – inhaler', '', 'Nut allergy', '', 'Eczema'][i]]);

  it('plain text, tab separated, with dates of birth: held', async () => {
    const text = `Hi,\n\nThe group for Friday, with dates of birth for your insurer:\n\n${rows.map((r) => r.join('\t')).join('\n')}\n\nThanks`;
    const v = await verdict({ to: ['bookings@coaches.example'], text });
    expect(v.rules).toEqual(['personal-data-in-body']);
    expect(v.findings[0].reason).toMatch(/lists 6 pupils with their dates of birth/);
  });

  it('an HTML table only (no text part), comma-separated rows: held', async () => {
    const html = `<p>Our group:</p><table><tr><th>Name</th><th>Date of birth</th><th>Medical</th></tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</table>`;
    expect(await rules({ to: ['groups@activity.example'], html })).toEqual(['personal-data-in-body']);
    const csv = `Name,Date of birth\n${rows.map((r) => `${r[0]},${r[1]}`).join('\n')}`;
    expect(await rules({ to: ['groups@activity.example'], text: `Date of birth list:\n${csv}` })).toEqual(['personal-data-in-body']);
  });

  it('names with invisible characters inside them (a zero-width space after each letter, HTML soft hyphens): held the same', async () => {
    const mark = (t: string, ch: string) => t.replace(/\p{L}/gu, `$&${ch}`);
    const text = `Date of birth list:\n${rows.map((r) => `${mark(r[0], '\u200b')}\t${r[1]}`).join('\n')}`;
    expect(await rules({ to: ['groups@activity.example'], text })).toEqual(['personal-data-in-body']);
    // What a finding says of one pupil (the business manager's notice, the logs) shows initials only.
    const one = await verdict({ to: ['groups@activity.example'], text: `Just so you know, ${mark(rows[1][0], '\u200b')} uses an inhaler for her asthma.` });
    expect(one.rules).toEqual(['personal-data-in-body']);
    const said = JSON.stringify(one.findings).replace(/\\u200b|\u200b/g, '');
    expect(said).toContain(rows[1][0].replace(/\B\p{L}/gu, '*'));
    expect(said).not.toContain(rows[1][0]);
    const html = `<table><tr><th>Name</th><th>Date of birth</th></tr>${rows.map((r) => `<tr><td>${mark(r[0], '&shy;')}</td><td>${r[1]}</td></tr>`).join('')}</table>`;
    expect(await rules({ to: ['groups@activity.example'], html })).toEqual(['personal-data-in-body']);
  });

  it('two rows are not a list; names and classes alone are not personal fields', async () => {
    const two = `Date of birth list:\n${rows.slice(0, 2).map((r) => `${r[0]}\t${r[1]}`).join('\n')}`;
    expect(await rules({ to: ['groups@activity.example'], text: two })).toEqual([]);
    const names = `Groups:\n${rows.map((r) => `${r[0]}\t5S\tGroup 2`).join('\n')}`;
    expect(await rules({ to: ['groups@activity.example'], text: names })).toEqual([]);
  });
});

describe('a very large list in the body', () => {
  it('is examined and held, not lost to a stack overflow (160,000 findings in one text)', async () => {
    const rows: string[] = ['UPN\tDate of birth'];
    for (let i = 0; i < 80_000; i++) {
      const rest = `919${String(1000 + (i % 9000)).padStart(4, '0')}${String(10 + (i % 15))}${String(i % 1000).padStart(3, '0')}`.slice(0, 12);
      rows.push(`${upnCheckLetter(rest)}${rest}\t${String((i % 28) + 1).padStart(2, '0')}/0${(i % 9) + 1}/2015`);
    }
    const v = await verdict({ to: ['census@software.example'], text: rows.join('\n') });
    expect(v.action).toBe('quarantine');
    expect(v.rules).toContain('identifier-in-message');
    expect(v.findings.length).toBeLessThanOrEqual(40);
  }, 120_000);
});

describe('recipients-exposed: parents and personal addresses visible to each other', () => {
  const parents = PUPILS.slice(9, 16).map(([, , c]) => c); // 7 distinct parents
  const text = 'Dear parents,\n\nThe trip is on Friday; please send a packed lunch.\n\nThank you';

  it('in To, and in Cc: held, with the count and no full address', async () => {
    const v = await verdict({ to: parents, text });
    expect(v.rules).toEqual(['recipients-exposed']);
    expect(v.findings[0].reason).toMatch(/^The To and Cc lines show 7 parents' and carers' email addresses to everyone who receives it\./);
    expect(v.findings[0].evidence).not.toMatch(/green\.family|mia\.turner/);
    expect(await rules({ to: [TEACHER], cc: parents, text })).toEqual(['recipients-exposed']);
  });

  it('in Bcc, fewer than five, internal lists and business addresses: fine', async () => {
    expect(await rules({ to: [TEACHER], bcc: parents, text })).toEqual([]);
    expect(await rules({ to: parents.slice(0, 4), text })).toEqual([]);
    expect(await rules({ to: [`year5-parents@${SCHOOL}`, `a@${SCHOOL}`, `b@${SCHOOL}`, `c@${SCHOOL}`, `d@${SCHOOL}`, `e@${SCHOOL}`], text })).toEqual([]);
    expect(await rules({ to: ['a@coaches.example', 'b@travel.example', 'c@hire.example', 'd@bus.example', 'e@move.example', 'f@go.example'], text })).toEqual([]);
  });

  it('personal addresses not on the roster count too (governors on Gmail)', async () => {
    const personal = ['a.gov@gmail.com', 'b.gov@outlook.com', 'c.gov@btinternet.com', 'd.gov@icloud.com', 'e.gov@yahoo.co.uk'];
    const v = await verdict({ to: personal, text });
    expect(v.rules).toEqual(['recipients-exposed']);
    expect(v.findings[0].reason).toMatch(/5 personal email addresses/);
  });
});

describe('forward-to-personal-domain: the quoted header block of each client', () => {
  const quoted = (block: string) => `For home.\n\n${block}\n\nHere is the rota for parents' evening.\n\nClaire`;
  it.each([
    ['Outlook (no addresses)', 'From: Claire Morgan\nSent: 16 November 2026 12:02\nTo: Year 5 Team\nSubject: Rota'],
    ['Outlook with addresses', `From: Claire Morgan <office@${SCHOOL}>\nSent: Monday, November 16, 2026 12:02 PM\nTo: Year 5 Team <year5@${SCHOOL}>\nCc: Head <head@${SCHOOL}>\nSubject: Rota`],
    ['Gmail on a phone (no banner, block kept)', `From: Claire Morgan <office@${SCHOOL}>\nDate: Mon, 16 Nov 2026 at 12:02\nSubject: Rota\nTo: <year5@${SCHOOL}>`],
    ['Apple Mail (blank line after the banner removed)', `From: Claire Morgan <office@${SCHOOL}>\nSubject: Rota\nDate: 16 November 2026 at 12:02:11 GMT\nTo: year5@${SCHOOL}`],
    ['quoted with > and bold markers', `> *From:* Claire Morgan\n> *Sent:* 16 November 2026 12:02\n> *To:* Year 5 Team\n> *Subject:* Rota`],
    ['German Outlook', 'Von: Claire Morgan\nGesendet: Montag, 16. November 2026 12:02\nAn: Year 5 Team\nBetreff: Rota'],
    ['French Outlook', 'De : Claire Morgan\nEnvoyé : lundi 16 novembre 2026 12:02\nÀ : Year 5 Team\nObjet : Rota'],
    ['Spanish Outlook', 'De: Claire Morgan\nEnviado: lunes, 16 de noviembre de 2026 12:02\nPara: Year 5 Team\nAsunto: Rota'],
    ['Dutch Outlook', 'Van: Claire Morgan\nVerzonden: maandag 16 november 2026 12:02\nAan: Year 5 Team\nOnderwerp: Rota'],
    ['Polish Outlook', 'Od: Claire Morgan\nWysłano: poniedziałek, 16 listopada 2026 12:02\nDo: Year 5 Team\nTemat: Rota'],
    ['Welsh Outlook', 'Oddi wrth: Claire Morgan\nAnfonwyd: 16 Tachwedd 2026 12:02\nAt: Year 5 Team\nPwnc: Rota'],
  ])('%s, subject edited, to a personal Gmail: held', async (_client, block) => {
    const v = await verdict({ from: 's.whitfield@oakfield.sch.uk', to: ['sarahwhitfield82@gmail.com'], subject: 'rota', text: quoted(block) });
    expect(v.rules).toEqual(['forward-to-personal-domain']);
    expect(v.findings[0].reason).toMatch(/quotes the header of another email/);
  });

  it('a reply quoting the recipient’s own message is not a forward; nor is a forward to another school or to .gov.uk', async () => {
    const reply = 'Tuesday is fine.\n\nFrom: Joy Okoro <j.okoro.ta@gmail.com>\nSent: 22 November 2026 19:02\nTo: office@oakfield.sch.uk\nSubject: Interview';
    expect(await rules({ to: ['j.okoro.ta@gmail.com'], subject: 'RE: Interview', text: reply })).toEqual([]);
    const byName = 'Tuesday is fine.\n\nFrom: Joy Okoro\nSent: 22 November 2026 19:02\nTo: Office\nSubject: Interview';
    expect(await rules({ to: ['"Joy Okoro" <j.okoro.ta@gmail.com>'], subject: 'RE: Interview', text: byName })).toEqual([]);
    const block = quoted('From: Claire Morgan\nSent: 16 November 2026 12:02\nTo: Year 5 Team\nSubject: Rota');
    expect(await rules({ to: ['senco@riverside.sch.uk'], text: block })).toEqual([]);
    expect(await rules({ to: ['capital@education.gov.uk'], text: block })).toEqual([]);
  });

  it('staff sending their own school email on to their personal account under the same name, "FW:" removed: held', async () => {
    // Found by a fail-open review: the quoted sender's name is the recipient's, so it read as a reply.
    const own = `For home\n\n________________________________\nFrom: Sarah Whitfield <s.whitfield@${SCHOOL}>\nSent: 04 December 2026 16:12\nTo: Year 5 Team <year5@${SCHOOL}>\nSubject: Year 5 moderation\n\nNotes from today's moderation meeting.`;
    // The To header carries the name; the envelope, the address alone.
    const send = async (to: string, address: string, subject: string, text: string) => {
      const raw = await compose({ from: 's.whitfield@oakfield.sch.uk', to: [to], subject, text });
      return (await examiner.examine(raw, { mailFrom: 's.whitfield@oakfield.sch.uk', mailFromParams: {}, rcptTo: [{ address }] })).verdict.rules;
    };
    expect(await send('"Sarah Whitfield" <sarahwhitfield82@gmail.com>', 'sarahwhitfield82@gmail.com', 'Year 5 moderation', own)).toEqual(['forward-to-personal-domain']);
    // A message quoted back to its sender, by name and a personal address, is still a reply.
    const reply = 'Tuesday is fine.\n\nFrom: Joy Okoro <joy.home@gmail.com>\nSent: 22 November 2026 19:02\nTo: office@oakfield.sch.uk\nSubject: Interview';
    expect(await send('"Joy Okoro" <j.okoro.ta@gmail.com>', 'j.okoro.ta@gmail.com', 'RE: Interview', reply)).toEqual([]);
  });

  it('finds the block by line labels only (unit)', () => {
    expect(hasForwardedHeaderBlock('From: A\nSent: x\nTo: B\nSubject: y', [], [])).toBe(true);
    expect(hasForwardedHeaderBlock('From: A\nSubject: y', [], [])).toBe(false); // two labels are not a block
    expect(hasForwardedHeaderBlock('Subject: y\nFrom the office: notes\nTo: B', [], [])).toBe(false);
    expect(hasForwardedHeaderBlock('From: A\n\nSent: x\nTo: B\nSubject: y', [], [])).toBe(true); // blank lines inside
    expect(hasForwardedHeaderBlock('From: A <a@x.example>\nSent: x\nTo: B\nSubject: y', ['a@x.example'], [])).toBe(false);
    // By name: a reply, unless the quoted address is the school's.
    expect(hasForwardedHeaderBlock('From: Jo Taylor [mailto:jo@home.example]\nSent: x\nTo: B\nSubject: y', [], ['jo taylor'], ['oakfield.sch.uk'])).toBe(false);
    expect(hasForwardedHeaderBlock('From: Jo Taylor [mailto:j.taylor@oakfield.sch.uk]\nSent: x\nTo: B\nSubject: y', [], ['jo taylor'], ['oakfield.sch.uk'])).toBe(true);
  });
});

describe('a term is about a name after it only in its own sentence, or under a heading it ends with a colon', () => {
  // Found by a false-hold review: weekly newsletters to every parent were quarantined as one
  // pupil's attendance or health sent to other families.
  const parents = ['kayleigh.brennan@gmail.com', 'laura.wright.home@gmail.com', 'patel.home@gmail.com'];

  it('a newsletter: class attendance above the Star of the Week, a health reminder above a thank-you: delivered', async () => {
    expect(await rules({ bcc: parents, subject: 'Newsletter', text: 'Attendance this week: well done to 5S with 99.2%!\nStar of the Week: Amelia Hughes for her persuasive writing.' })).toEqual([]);
    expect(await rules({ bcc: parents, subject: 'Newsletter', text: 'If your child has asthma, please make sure the office has an inhaler for them.\n\nThank you to Amelia Hughes and her family for the raffle prizes.' })).toEqual([]);
  });

  it('the same words about her, in her sentence or in a list under a heading: held', async () => {
    expect(await rules({ to: [TUTOR], text: 'Amelia Hughes has asthma and keeps an inhaler in her bag.' })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'Asthma (inhaler in the red bag): Amelia Hughes.' })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'Pupils who need an inhaler on the trip:\n- Amelia Hughes\n- Theo Palmer' })).toEqual(['personal-data-in-body']);
    expect(await rules({ bcc: parents, text: 'Attendance concerns this week:\nAmelia Hughes' })).toEqual(['misdirected-pupil-data']);
  });
});

describe('what a review of the day\'s model changes found they let through, held again', () => {
  it('a line wrapped mid-sentence, a heading with no colon, abbreviations: the name after the term is still the same sentence', async () => {
    expect(await rules({ to: [TUTOR], text: 'We have updated the epilepsy care plan and medication for\nTyler Brennan before the residential trip.' })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'Pupils with asthma\nTyler Brennan\nAmelia Hughes' })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'The ADHD assessment (approx. six months wait) is now booked for Tyler Brennan.' })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'An asthma inhaler, e.g. Ventolin, is needed for Tyler Brennan.' })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'The autism diagnosis letter from Dr. Khan about Tyler Brennan is attached.' })).toEqual(['personal-data-in-body']);
  });

  it('a date of birth after a year group and a dash is not the end of a range', async () => {
    const v = await rules({ to: [TUTOR], text: 'Dates of birth for the coach company:\nTyler Brennan, Year 6 - 30/09/2015\nAmelia Hughes, Year 6 - 12/01/2016\nOliver Wright, Year 6 - 03/05/2016' });
    expect(v).toEqual(['personal-data-in-body']);
  });

  it('a number beside a forename alone, or two numbers: identifiers', async () => {
    expect(await rules({ to: [TUTOR], text: 'Tyler did well today. Tyler\'s number: 4010232137' })).toEqual(['identifier-in-message']);
    expect(await rules({ to: [TUTOR], text: 'Numbers for the coach list:\n1214960006\n1174960000' })).toEqual(['identifier-in-message']);
  });

  it('a subject naming a pupil over a photo, to another family: misdirected, which no override releases', async () => {
    const photo = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    expect(await rules({ to: [contactOf('Amelia')], subject: 'Tyler Brennan', text: 'Here you are.', attachments: [{ filename: 'photo.png', content: photo }] })).toContain('misdirected-pupil-data');
  });

  it('an attached newsletter praising a pupil beside a health word is not sensitive by itself; a record with a medical field is', async () => {
    const newsletter = 'Well done to Tyler Brennan, who ran 5k for Asthma UK last weekend.';
    expect(await rules({ to: ['patel.home@gmail.com'], text: 'Newsletter attached.', attachments: [{ filename: 'newsletter.txt', content: newsletter }] })).not.toContain('unencrypted-sensitive-attachment');
    expect(await rules({ to: [TUTOR], text: 'Details attached.', attachments: [{ filename: 'info.txt', content: 'Pupil: Tyler Brennan\nAllergies: nut allergy, EpiPen in the office' }] })).toEqual(['unencrypted-sensitive-attachment']);
  });

  it('to one outsider, a name in the next sentence, or under a blank line, is still who the term is about', async () => {
    // Found by a second review: a sentence rule for every message let these out. It now applies
    // only to mail for several people outside the school (a newsletter, a class update).
    expect(await rules({ to: [TUTOR], text: 'She had an asthma attack at lunch today. Tyler Brennan is fine now.' })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'Medical needs: asthma.\nTyler Brennan' })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'Asthma\n\nTyler Brennan\nAmelia Hughes' })).toEqual(['personal-data-in-body']);
    // To a class's parents, a list under a heading with a colon, blank line or not.
    const parents = ['kayleigh.brennan@gmail.com', 'patel.home@gmail.com', 'laura.wright.home@gmail.com'];
    expect(await rules({ bcc: parents, text: 'The following pupils have been referred to CAMHS:\n\n- Amelia Hughes\n- Theo Palmer' })).toContain('misdirected-pupil-data');
    // And to them, a list under a heading with a full stop, a field, a pronoun, one line: still held.
    expect(await rules({ bcc: parents, text: 'Pupils with asthma.\nAmelia Hughes\nTheo Palmer' })).toContain('misdirected-pupil-data');
    expect(await rules({ bcc: parents, text: 'Medical needs: asthma.\n\nAmelia Hughes' })).toContain('misdirected-pupil-data');
    expect(await rules({ bcc: parents, text: 'She had an asthma attack at lunch today. Amelia Hughes is fine now.' })).toContain('misdirected-pupil-data');
    // In Welsh, the person is in the preposition: "mae ganddi" (she has).
    expect(await rules({ bcc: parents, text: 'Bydd Amelia Hughes yn eich grŵp chi ddydd Gwener.\nMae ganddi alergedd difrifol i gnau.' })).toContain('misdirected-pupil-data');
    expect(await rules({ bcc: parents, text: 'Attendance this term: 78%, 12 unauthorised absences. Amelia Hughes.' })).toContain('misdirected-pupil-data');
  });

  it('a bare number as near a pupil\'s name as a term would be tied: an identifier', async () => {
    expect(await rules({ to: [TUTOR], text: `Tyler Brennan joined us in September from a school in Leeds. ${'He has settled in well and made friends quickly. '.repeat(3)}His number is 4010232137.` })).toEqual(['identifier-in-message']);
  });
});

describe('a pupil\'s name in an attachment\'s file name, however the words are joined', () => {
  const send = (filename: string) => rules({ to: [TUTOR], text: 'Photos from today attached.', attachments: [{ filename, content: 'The coach leaves at nine.' }] });

  it.each(['Tyler_Brennan.txt', 'TylerBrennan.txt', 'sports day - TylerBrennan2.txt', 'HUGHES.Amelia.txt', 'OliverWright-report.txt'])('%s: blocked', async (name) => {
    expect(await send(name)).toEqual(['pupil-name-in-attachment-name']);
  });

  it.each(['TripPhotos2026.txt', 'YearFive-Newsletter.txt', 'IMG_4032.txt'])('%s: delivered', async (name) => {
    expect(await send(name)).toEqual([]);
  });
});

describe('an attachment holding one pupil\'s health, SEN or safeguarding details', () => {
  it('is held as the same lines in the body are; a name alone is not', async () => {
    const record = 'Name: Tyler Brennan\nClass: 6M\nMedical: asthma';
    expect(await rules({ to: [TUTOR], text: record })).toEqual(['personal-data-in-body']);
    expect(await rules({ to: [TUTOR], text: 'Details attached.', attachments: [{ filename: 'info.txt', content: record }] })).toEqual(['unencrypted-sensitive-attachment']);
    expect(await rules({ to: [TUTOR], text: 'Details attached.', attachments: [{ filename: 'info.txt', content: 'Tyler Brennan: class assembly on Friday at 9am.' }] })).toEqual([]);
  });
});

describe('ten-digit numbers that fit a check digit by chance: order numbers, invoices, bookings', () => {
  // 1214960006 fits an NHS number's check digit, 1174960000 too, 4010232137 a ULN's or an NHS
  // number's; one number in eleven fits each. Found by a false-hold review: finance and office
  // mail to suppliers was quarantined.
  const SUPPLIER = 'orders@stationery.example';

  it('one such number, no word for NHS or ULN in the text: delivered (a purchase order, an invoice, a booking)', async () => {
    expect(await rules({ to: [SUPPLIER], subject: 'Order', text: 'Hello,\n\nOur purchase order number is 1214960006. Please deliver to the main office.\n\nThanks' })).toEqual([]);
    expect(await rules({ to: [SUPPLIER], subject: 'Invoice 4010232137', text: 'Please find the remittance for invoice 4010232137 attached.' })).toEqual([]);
    // A booking for safeguarding training: the topic words are not tied to the reference either.
    expect(await rules({ to: ['trainer@safeguarding-training.example'], subject: 'Booking', text: 'Our booking reference is 1174960000. Topics: child protection, neglect, county lines and online safety.' })).toEqual([]);
  });

  it('the same number with NHS in the text, or beside a pupil\'s name, or three in a column: held', async () => {
    expect(await rules({ to: [SUPPLIER], text: 'For the trip form (NHS details below)\n\n' + FILLER + '\n\nNumber: 1214960006' })).toEqual(['identifier-in-message']);
    expect(await rules({ to: [SUPPLIER], text: 'Tyler Brennan 1214960006 is coming on Thursday.' })).toContain('identifier-in-message');
    expect(await rules({ to: [SUPPLIER], text: 'Numbers for the coach list:\n1214960006\n1174960000\n4010232137\n' })).toEqual(['identifier-in-message']);
  });
});

describe('misdirected-pupil-data: the greeting names another family', () => {
  const note = (greeting: string, forename: string) =>
    `${greeting}\n\nJust a quick note: ${forename} had a difficult afternoon and was given a detention for fighting in the playground.\n\nKind regards`;

  it('"Dear Mrs Wright … Oliver" to Amelia Hughes’s parent: held; to Oliver’s own parent: delivered', async () => {
    const v = await verdict({ to: [contactOf('Amelia')], text: note('Dear Mrs Wright,', 'Oliver') });
    expect(v.rules).toEqual(['misdirected-pupil-data']);
    expect(v.findings[0].reason).toMatch(/greets the W\*{5} family/);
    expect(await rules({ to: [contactOf('Oliver')], text: note('Dear Mrs Wright,', 'Oliver') })).toEqual([]);
  });

  it('a Welsh school\u2019s "Annwyl Mrs Wright … Oliver yn absennol" to Amelia Hughes’s parent: held; to Oliver’s own: delivered', async () => {
    const welsh = 'Annwyl Mrs Wright,\n\nRoedd Oliver yn absennol ddydd Llun a dydd Mawrth heb reswm.\n\nCofion cynnes';
    expect(await rules({ to: [contactOf('Amelia')], text: welsh })).toEqual(['misdirected-pupil-data']);
    expect(await rules({ to: [contactOf('Oliver')], text: welsh })).toEqual([]);
  });

  it('a date of birth too old to be a pupil\u2019s is a namesake\u2019s (a Welsh school\u2019s Dylan Thomas Day), not the roster pupil\u2019s', async () => {
    expect(await rules({ to: [contactOf('Amelia')], text: 'For Dylan Thomas Day: Oliver Wright was born on 27 October 1914 in Swansea, and wrote about the sea.' })).toEqual([]);
    expect(await rules({ to: [contactOf('Amelia')], text: 'Oliver Wright was born on 27 October 2016 in Swansea.' })).toEqual(['misdirected-pupil-data']);
  });

  it('a name in apposition to a professional\u2019s role is that professional\u2019s, though a pupil shares it; a pupil\u2019s record beside a role is still the pupil\u2019s', async () => {
    const amelia = contactOf('Amelia');
    expect(await rules({ to: [amelia], text: 'Amelia Hughes\u2019s attendance this term is 88%. If you would like support, contact our Education Welfare Officer, Oliver Wright, on 01970 633000.' })).toEqual([]);
    // The pupil's own record: the role is not who the pupil is.
    expect(await rules({ to: [amelia], text: 'Pupil: Oliver Wright; Social worker: Jane Smith; on a child protection plan since May.' })).toEqual(['misdirected-pupil-data']);
    expect(await rules({ to: [amelia], text: 'Oliver Wright, social worker visit on Monday at 10.' })).toEqual(['misdirected-pupil-data']);
    // Found by a review of the first version, which took any name beside a role for an adult's:
    // headings and notes that name a role beside the pupil they are about.
    for (const note of [
      'DSL: Oliver Wright disclosed at break that he is being hit at home. Logged on CPOMS.',
      "Met with the SENCo: Oliver Wright's reading age is 6 and he has dyslexia.",
      'Oliver Wright (SENCo) - ADHD assessment still pending, he is on the SEN register.',
      'Name,Role,Note\nOliver Wright,SENCo,dyslexia assessment',
      'Meeting today with Oliver Wright - SENCo, mum and the EP about his EHCP.',
      // …and, found by a review of the second version: a sentence that opens with the role, and
      // list lines "Name, role".
      'Following advice from the educational psychologist, Oliver Wright will have extra time in his exams, as he has dyslexia and an EHCP.',
      'As agreed with the DSL, Oliver Wright will not go home with his stepdad tonight after what he disclosed at lunch.',
      'Oliver Wright, social worker, domestic abuse at home, CP plan continues.',
      'Referrals this week:\nOliver Wright, educational psychologist\n',
    ]) {
      expect(await rules({ to: [amelia], text: note }), note).toEqual(['misdirected-pupil-data']);
    }
  });

  it('a greeting with no pupil of that family in the letter, or the right family, is fine', async () => {
    expect(await rules({ to: [contactOf('Amelia')], text: note('Dear Ms Hughes,', 'Amelia') })).toEqual([]);
    expect(await rules({ to: [contactOf('Amelia')], text: note('Dear Mrs Wright,', 'your daughter') })).toEqual([]);
    expect(await rules({ to: [contactOf('Amelia')], text: note('Dear Parent/Carer,', 'Oliver') })).toEqual([]);
  });

  it("another pupil's sanction, named in full, to a parent: held", async () => {
    const text = "Dear Mrs O'Brien,\n\nLiam was upset at lunchtime. Another pupil, Tyler Brennan, pushed him over; Tyler has been given a detention.\n\nKind regards";
    expect(await rules({ to: [contactOf('Liam')], text })).toEqual(['misdirected-pupil-data']);
    expect(await rules({ to: [contactOf('Liam')], text: "Dear Mrs O'Brien,\n\nLiam and Tyler built a brilliant catapult in DT today." })).toEqual([]);
  });

  it('"Dear Mrs Smith-Jones … Mary-Jane" (a surname and a forename of two words) to another family: held; to her own: delivered', async () => {
    const text = 'Dear Mrs Smith-Jones,\n\nMary-Jane was very upset at lunchtime today after a falling out with friends and was sent home with a temperature.\n\nKind regards';
    const v = await verdict({ to: [contactOf('Amelia')], text });
    expect(v.rules).toEqual(['misdirected-pupil-data']);
    expect(v.findings[0].reason).toMatch(/greets the S\*{4}-J\*{4} family/);
    expect(await rules({ to: [contactOf('Mary-Jane')], text })).toEqual([]);
  });

  it('a pupil\'s name in the subject is personal data about them, to another family: misdirected, which no override releases', async () => {
    // Tried and taken back: counting it only when the message carried other data let a report
    // ("Isla Pemberton - end of year report", report.pdf) to the wrong family go on the sender's
    // own override. A place that is also a pupil's name in a subject to parents is held too.
    expect(await rules({ to: [contactOf('Amelia')], subject: 'Oliver Wright - end of year report', text: 'Please find the report attached.', attachments: [{ filename: 'report.txt', content: 'Oliver has made excellent progress this year.' }] })).toEqual(['misdirected-pupil-data', 'pupil-name-in-subject']);
    expect(await rules({ to: [contactOf('Amelia')], subject: 'Oliver Wright - detention', text: 'Dear parent,\n\nHe was given a detention for fighting in the playground today.' })).toEqual(['misdirected-pupil-data', 'pupil-name-in-subject']);
  });

  it('reads the greeting’s surname (unit)', () => {
    expect(greetingSurname('Dear Mrs Wright,\n\nThanks')).toBe('wright');
    expect(greetingSurname('\n\nDear Mr and Mrs Smith-Jones,')).toBe('smith');
    // A surname of two words or three is taken whole when the roster has it.
    expect(greetingSurname('\n\nDear Mr and Mrs Smith-Jones,', (k) => k === 'smith jones')).toBe('smith jones');
    expect(greetingSurname('Dear Mrs Van der Berg, thank you', (k) => k === 'van der berg' || k === 'van')).toBe('van der berg');
    expect(greetingSurname('Good morning Ms O’Brien')).toBe('obrien');
    expect(greetingSurname('Annwyl Mr a Mrs Wright,')).toBe('wright');
    expect(greetingSurname('Dear Parents and Carers,')).toBe('');
    expect(greetingSurname('Please find attached. Dear Mrs Wright')).toBe('');
  });
});

describe('password-in-same-email: every shape, never ordinary prose', () => {
  let lockedZip: Buffer;
  beforeAll(() => {
    const work = mkdtempSync(path.join(tmpdir(), 'hm-pw-'));
    writeFileSync(path.join(work, 'list.csv'), 'Name,Class\nA,5S\n');
    execFileSync('zip', ['-q', '-P', 'Falcon2291', 'list.zip', 'list.csv'], { cwd: work });
    lockedZip = readFileSync(path.join(work, 'list.zip'));
    rmSync(work, { recursive: true, force: true });
  });
  const send = (subject: string, text: string) => rules({ to: ['trips@museum.example'], subject, text, attachments: [{ filename: 'list.zip', content: lockedZip }] });

  it.each([
    ['subject', 'Year 4 groups (password Falcon2291)', 'List attached.'],
    ['plain space', 'Groups', 'List attached, password Falcon2291 – thanks.'],
    ['pwd', 'Groups', 'pwd Falcon2291'],
    ['passcode', 'Groups', 'Passcode: 482913'],
    ['PIN', 'Groups', 'PIN 4821 opens it.'],
    ['the code to open it is', 'Groups', 'The code to open it is Falcon-2291.'],
    ['code for the zip', 'Groups', 'Code for the zip: Falcon2291'],
    ['password is', 'Groups', 'The password is Falcon2291'],
    ['on the line under the word', 'Groups', 'List attached.\n\nPassword\nFalcon2291'],
    ['passwords, plural', 'Groups', 'Passwords: Falcon2291 for the list.'],
  ])('%s: blocked', async (_shape, subject, text) => {
    expect(await send(subject, text)).toEqual(['password-in-same-email']);
  });

  it.each([
    'Please reset your password on the portal before Thursday.',
    'I will text you the password this afternoon.',
    'Your new password must be 8+ characters long.',
    'Pin 100 posters to the board.',
    'The dress code for the disco is fancy dress.',
    'The password is sent separately by text.',
    'Please reset your password\nThe portal opens on 12 January 2027.',
  ])('"%s": delivered', async (text) => {
    expect(await send('Groups', text)).toEqual([]);
  });
});

describe('what an attachment holds is scored wherever it sits: an attached email, a zip of one, a document with something embedded', () => {
  const classList = PUPILS.slice(0, 8).map(([surname, forename], i) => `${forename} ${surname}, DOB ${DOB(i)}, SEN support, asthma`).join('\n');
  /** Zips `files` with the zip tool, as a member of staff's archiver would. */
  function zipOf(files: Record<string, Buffer | string>, extraArgs: string[] = []): Buffer {
    const work = mkdtempSync(path.join(tmpdir(), 'hm-zip-'));
    try {
      for (const [name, content] of Object.entries(files)) {
        execFileSync('mkdir', ['-p', path.dirname(path.join(work, name))]);
        writeFileSync(path.join(work, name), content);
      }
      execFileSync('zip', ['-q', '-X', '-r', ...extraArgs, 'out.zip', ...Object.keys(files)], { cwd: work });
      return readFileSync(path.join(work, 'out.zip'));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  /** A Word document whose own text is `text`, carrying `embedded` under word/embeddings/. */
  const docx = (text: string, embedded: Record<string, string>) =>
    zipOf({
      '[Content_Types].xml': '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
      'word/document.xml': `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${text.split('\n').map((l) => `<w:p><w:r><w:t>${l}</w:t></w:r></w:p>`).join('')}</w:body></w:document>`,
      ...Object.fromEntries(Object.entries(embedded).map(([name, content]) => [`word/embeddings/${name}`, content])),
    });

  it('a class list in the body of an attached email, sent outside: held', async () => {
    const forwarded = await compose({ to: ['office@oakfield.sch.uk'], subject: 'Trip list', text: classList });
    const v = await verdict({ to: [TUTOR], text: 'See the attached.', attachments: [{ filename: 'trip.eml', content: forwarded }] });
    expect(v.rules).toContain('unencrypted-sensitive-attachment');
    expect(v.action).toBe('quarantine');
    expect(v.findings.find((f) => f.detector === 'attachment-sensitivity')?.reason).toMatch(/^trip\.eml is not encrypted and holds personal data: a list of 8 pupils/);
    // The same email with nothing personal in it goes.
    const harmless = await compose({ to: ['office@oakfield.sch.uk'], subject: 'Trip', text: 'The coach leaves at nine.' });
    expect(await rules({ to: [TUTOR], text: 'See the attached.', attachments: [{ filename: 'trip.eml', content: harmless }] })).toEqual([]);
  });

  it('an attached email inside a zip: held; the same zip encrypted: delivered', async () => {
    const forwarded = await compose({ to: ['office@oakfield.sch.uk'], subject: 'Trip list', text: classList });
    expect(await rules({ to: [TUTOR], text: 'See the attached.', attachments: [{ filename: 'mail.zip', content: zipOf({ 'trip.eml': forwarded }) }] })).toContain('unencrypted-sensitive-attachment');
    expect(await rules({ to: [TUTOR], text: 'See the attached.', attachments: [{ filename: 'mail.zip', content: zipOf({ 'trip.eml': forwarded }, ['-P', 'a-long-passphrase']) }] })).not.toContain('unencrypted-sensitive-attachment');
  });

  it('a document whose own text is a class list, with a file embedded in it: held', async () => {
    const v = await verdict({ to: [TUTOR], text: 'See the attached.', attachments: [{ filename: 'report.docx', content: docx(classList, { 'note.txt': 'Coach at nine.' }) }] });
    expect(v.rules).toContain('unencrypted-sensitive-attachment');
    expect(v.findings.find((f) => f.detector === 'attachment-sensitivity')?.where).toBe('attachment:report.docx');
    expect(await rules({ to: [TUTOR], text: 'See the attached.', attachments: [{ filename: 'report.docx', content: docx('The coach leaves at nine.', { 'note.txt': 'Coach at nine.' }) }] })).toEqual([]);
  });
});

describe('a long letter as Outlook sends it: its text is scanned while a worker reads its HTML', () => {
  // The text names one pupil beside a health need, the HTML (past MAIN_THREAD_TEXT_BYTES, so read
  // by a worker) another: each text's findings must reach the verdict whichever was scanned first.
  const long = FILLER.repeat(600);
  const text = `Dear team,\r\n\r\nTyler Brennan has been referred for an ADHD assessment.\r\n\r\n${long}\r\n`;
  const html = `<html><body><p>Dear team,</p><p>${long}</p><p>Amelia Hughes uses her inhaler for asthma before PE.</p></body></html>`;
  const message = () => compose({ to: [TUTOR], text, html });
  const envelope = { mailFrom: TEACHER, mailFromParams: {}, rcptTo: [{ address: TUTOR }] };

  it('inspection hands over the body while the HTML is still being read', async () => {
    expect(Buffer.byteLength(html)).toBeGreaterThan(MAIN_THREAD_TEXT_BYTES);
    const seen: string[][] = [];
    const inspection = await inspect(await message(), {}, { whileWaiting: (texts) => seen.push(texts.map((t) => t.where)) });
    // Once, at the HTML (no attachments are being read): the body is there, the HTML's text is not yet.
    expect(seen).toEqual([['body']]);
    expect(inspection.texts.map((t) => t.where)).toEqual(['body', 'body:html']);
    // Both kept as bytes: the HTML moved to the worker and its text moved back, neither made a
    // string on this thread (Utf8Text builds one only when asked), and the text the same as read here.
    const [body, fromHtml] = inspection.texts;
    expect(body.utf8).toBeDefined();
    expect(fromHtml.utf8).toBeDefined();
    expect(fromHtml.utf8!.toString()).toBe(htmlToText(html.split('\r\n').join('\n'), defaultLimits.maxTextChars).text);
  });

  it('the verdict is the one from scanning every text after inspection, in order', async () => {
    const raw = await message();
    const built = vi.spyOn(Utf8Text.prototype, 'toString');
    const { verdict: v, inspection } = await examiner.examine(raw, envelope);
    expect(built).not.toHaveBeenCalled();
    built.mockRestore();
    expect(v.rules).toEqual(['personal-data-in-body']);
    expect(v.findings.map((f) => f.reason).join('\n')).toMatch(/\(ADHD\) about T\*{4} B\*{6}/);
    expect(v.findings.map((f) => f.reason).join('\n')).toMatch(/about A\*{5} H\*{5}/);
    // The same texts scanned one after another once inspection is over, as before the overlap.
    const policy = loadPolicy({ source: 'test', school: { domains: [SCHOOL], partner_domains: ['county.gov.uk'], roster: rosterFile }, policy: {} });
    const { roster } = await loadRoster(rosterFile);
    const set = compileDetectors({ roster, detectors: [...DETECTORS, ...policy.detectors] });
    const detections = [...set.scan(inspection.subject, 'subject')];
    for (const t of inspection.texts) detections.push(...(t.utf8 ? set.scan(t.utf8.bytes, t.where, { frozen: true, utf16: t.utf8.offsets }) : set.scan(t.text, t.where)));
    const after = decide({ envelope, inspection, detections, roster, webmailDomains: loadWebmailDomains(policy.extraWebmailDomains) }, policy);
    expect(v).toEqual(after);
  });
});

describe('the same model through `hallmonitor check` and through the running gateway', () => {
  const senLetter = 'Dear Jen,\n\nOliver Wright (3K) has a diagnosis of autism and we have applied for an EHCP.\n\nKind regards';

  it('check --json names the new rules and prints no pupil data', async () => {
    const files = {
      body: path.join(dir, 'body.eml'),
      exposed: path.join(dir, 'exposed.eml'),
      own: path.join(dir, 'own-parent.eml'),
    };
    writeFileSync(files.body, await compose({ to: ['jen.speechtherapy@gmail.com'], text: senLetter }));
    writeFileSync(files.exposed, await compose({ to: PUPILS.slice(9).map(([, , c]) => c), text: 'Trip on Friday.' }));
    writeFileSync(files.own, await compose({ to: [contactOf('Oliver')], text: senLetter }));
    const bin = path.resolve(import.meta.dirname, '../bin/hallmonitor.js');
    const r = spawnSync(process.execPath, [bin, 'check', '--json', '--roster', rosterFile, '--school-domain', SCHOOL, files.body, files.exposed, files.own], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; rules: string[] });
    expect(lines.map((l) => [l.action, l.rules])).toEqual([
      ['quarantine', ['personal-data-in-body']],
      ['quarantine', ['recipients-exposed']],
      ['deliver', []],
    ]);
    expect(r.stdout).not.toMatch(/Oliver|Wright|autism diagnosis/);
  });

  describe('through the relay', () => {
    let sink: Sink;
    let storage: TestStorage;
    let gw: ServeProcess;
    beforeAll(async () => {
      sink = await startSink();
      storage = await createStorage('sqlite');
      const configFile = path.join(storage.dataDir, 'hallmonitor.yaml');
      writeFileSync(configFile, stringify({
        hostname: 'hallmonitor.oakfield.sch.uk',
        listen: '127.0.0.1:0',
        data_dir: storage.dataDir,
        next_hop: { host: sink.host, port: sink.port, starttls: 'off', timeout_seconds: 5 },
        health: { listen: null },
        log: { level: 'info' },
        relay: { allow_networks: ['127.0.0.0/8'] },
        school: { name: 'Oakfield', domains: [SCHOOL], partner_domains: ['county.gov.uk'], business_manager: `bm@${SCHOOL}`, notifications_from: `hallmonitor@${SCHOOL}`, roster: rosterFile },
        store: storage.store,
      }));
      gw = await spawnServe(configFile);
    }, 120_000);
    afterAll(async () => {
      await gw?.stop();
      await sink?.close();
      await storage?.cleanup();
    });

    it('holds the SEN letter to a therapist’s Gmail, delivers it to the pupil’s parent, and the notice names neither the pupil nor the diagnosis', async () => {
      const held = await sendRaw(gw.port, TEACHER, ['jen.speechtherapy@gmail.com'], await compose({ to: ['jen.speechtherapy@gmail.com'], text: senLetter }));
      expect(held.code).toBe(250);
      expect(held.response).toMatch(/held for review as HM-/);
      const own = await sendRaw(gw.port, TEACHER, [contactOf('Oliver')], await compose({ to: [contactOf('Oliver')], text: senLetter }));
      expect(own.code).toBe(250);
      expect(own.response).not.toMatch(/held/);
      const notice = await waitFor('the business manager’s notice', () => sink.messages.find((m) => m.rcptTo.includes(`bm@${SCHOOL}`)));
      const body = notice.data.toString('utf8');
      expect(body).toMatch(/O\*{5} W\*{5}/);
      expect(body).not.toMatch(/Oliver|Wright/);
      expect(sink.messages.some((m) => m.rcptTo.includes(contactOf('Oliver')))).toBe(true);
      expect(sink.messages.some((m) => m.rcptTo.includes('jen.speechtherapy@gmail.com'))).toBe(false);
    });
  });
});
