// Hallmonitor's own labelled test set: realistic emails from the staff of a fictional primary
// school (Oakfield, oakfield.sch.uk; local authority partner county.gov.uk), each labelled with
// exactly the policy rules that must fire ([] = must be delivered). Attachments are made by the
// real tools schools' files come from: LibreOffice (docx, xlsx, pdf, jpg, and Word/Excel's
// "Encrypt with Password"), Info-ZIP `zip -P`, 7-Zip (AES zip, 7z with encrypted names) and
// qpdf (user-password and owner-password-only PDFs). Synthetic data only: every pupil is in
// test/corpus/roster.csv (see roster.ts), every address is invented.
//
// The labels follow issue 6's rule definitions and the shipped defaults in src/decide/rules.ts.
// They are the specification: when a rule misfires, fix the detector, not the label.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer';
import { corpusPupils, featured, knownAs, STAFF, upnCheckLetter, type CorpusPupil } from './roster.ts';

export type CorpusRule =
  | 'pupil-name-in-subject'
  | 'pupil-name-in-attachment-name'
  | 'unencrypted-sensitive-attachment'
  | 'password-in-same-email'
  | 'forward-to-personal-domain'
  | 'identifier-in-message'
  | 'uninspectable-attachment'
  | 'misdirected-pupil-data'
  | 'personal-data-in-body'
  | 'recipients-exposed';

export interface CorpusLabel {
  file: string;
  /** Envelope sender. */
  from: string;
  /** Envelope recipients (To, Cc and Bcc). */
  to: string[];
  /** Rule ids that must fire; [] = must deliver. */
  expect: string[];
  note: string;
}

// ---------------------------------------------------------------------------------------------
// People and data

const pupils = corpusPupils();
const P = {
  zoe: featured('zoe', pupils),
  liam: featured('liam', pupils),
  grace: featured('grace', pupils),
  hope: featured('hope', pupils),
  daniel: featured('daniel', pupils),
  may: featured('may', pupils),
  will: featured('will', pupils),
  summer: featured('summer', pupils),
  rose: featured('rose', pupils),
  jack: featured('jack', pupils),
  ivy: featured('ivy', pupils),
  oliver: featured('oliver', pupils),
  amelia: featured('amelia', pupils),
  ellis: featured('ellis', pupils),
  tyler: featured('tyler', pupils),
  niamh: featured('niamh', pupils),
  sian: featured('sian', pupils),
  kacper: featured('kacper', pupils),
  isla: featured('isla', pupils),
};

type Staff = (typeof STAFF)[keyof typeof STAFF];
const S = STAFF;

const inYear = (year: string) => pupils.filter((p) => p.year === year);
const parentsOf = (list: CorpusPupil[]) => [...new Set(list.map((p) => p.primaryContactEmail))];
const allParents = parentsOf(pupils);

/** A valid NHS number (mod 11, weights 10..2) from nine digits; undefined if the check is 10. */
function nhsNumber(nine: string): string | undefined {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 10) return undefined;
  const full = nine + (check === 11 ? 0 : check);
  return `${full.slice(0, 3)} ${full.slice(3, 6)} ${full.slice(6)}`;
}
const IVY_NHS = (() => {
  for (let n = 485_777_300; ; n++) {
    const v = nhsNumber(String(n));
    if (v) return v;
  }
})();

/** A reference shaped like a UPN whose check letter is wrong: must not count as an identifier. */
const NOT_A_UPN = (() => {
  const rest = '919204126998';
  const right = upnCheckLetter(rest);
  return (right === 'K' ? 'M' : 'K') + rest;
})();

const SCHOOL_PHONE = '01632 960418';

function signature(s: Staff, signOff = 'Kind regards'): string {
  return `\n\n${signOff}\n\n${s.name}\n${s.title}\nOakfield Primary School\nTel: ${SCHOOL_PHONE}\n`;
}


// ---------------------------------------------------------------------------------------------
// Attachment sources: what LibreOffice and the archivers are asked to make

const html = (title: string, body: string) =>
  `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body>\n${body}\n</body></html>\n`;
const table = (rows: string[][], head?: string[]) =>
  `<table border="1" cellpadding="4">${head ? `<tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>` : ''}${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</table>`;
/** A web font as small as it can be and still be shaped as one (WOFF2 giving its own length). */
function woff2Font(n: number): Buffer {
  const b = Buffer.alloc(n);
  b.write('wOF2');
  b.writeUInt32BE(n, 8);
  return b;
}
const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const csv = (rows: string[][]) => rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';

const MEDICAL_NOTES = ['', '', '', '', 'Asthma – blue inhaler', '', 'Nut allergy – EpiPen x2', '', 'Vegetarian', '', '', 'Eczema – cream at bedtime', '', 'Travel sickness', ''];
const year6 = inYear('Year 6');
const year5 = inYear('Year 5');
const year4 = inYear('Year 4');
const year3 = inYear('Year 3');

const Y6_RESIDENTIAL_CSV = csv([
  ['Surname', 'Forename', 'Class', 'Medical / dietary'],
  ...year6.map((p, i) => [p.legalSurname, p.preferredForename || p.legalForename, p.regGroup, MEDICAL_NOTES[i % MEDICAL_NOTES.length]]),
]);
const Y4_GROUPS_CSV = csv([
  ['Group', 'Pupil name', 'Class', 'Adult leader'],
  ...year4.map((p, i) => [`Group ${(i % 4) + 1}`, knownAs(p), p.regGroup, ['Mrs Hart', 'Mr Dawes (TA)', 'Mrs Akhtar (parent helper)', 'Miss Lowe (TA)'][i % 4]]),
]);
const Y5_SWIMMING_CSV = csv([
  ['Pupil', 'Class', 'Ability group', '25m achieved'],
  ...year5.map((p, i) => [knownAs(p), p.regGroup, ['Dolphins', 'Seals', 'Starfish'][i % 3], i % 3 === 0 ? 'Yes' : 'No']),
]);
const Y3_YEAR_LIST_CSV = csv([['Surname', 'Forename', 'Class', 'Dinners'], ...year3.map((p, i) => [p.legalSurname, p.legalForename, p.regGroup, i % 3 ? 'School dinner' : 'Packed lunch'])]);
const LOW_ATTENDANCE = [P.tyler, ...year6.filter((p) => p !== P.tyler).slice(3, 5), ...year4.slice(7, 9), P.isla];
const ATTENDANCE_CSV = csv([
  ['Pupil', 'Year', 'Class', 'Attendance %', 'Sessions missed (unauthorised)'],
  ...LOW_ATTENDANCE.map((p, i) => [knownAs(p), p.year, p.regGroup, ['84.2', '87.5', '88.9', '86.1', '89.3', '81.7'][i], String([9, 6, 4, 7, 3, 12][i])]),
]);
const WORKSHOP_CSV = csv([['Badge name', 'Class'], ...year4.slice(20, 23).map((p) => [knownAs(p), p.regGroup])]);
const PE_KIT_CSV = csv([
  ['Item', 'Size', 'Quantity'],
  ['Oakfield PE T-shirt (gold)', '5-6', '12'],
  ['Oakfield PE T-shirt (gold)', '7-8', '18'],
  ['Oakfield PE T-shirt (gold)', '9-10', '15'],
  ['Navy shorts', '7-8', '10'],
  ['Navy hoodie', '9-10', '8'],
]);

const ehcpHtml = html(
  'EHCP annual review',
  `<h1>Education, Health and Care Plan – Annual Review</h1>
<p>Oakfield Primary School · Review meeting held 12 November 2026</p>
${table([
  ["Child's name", knownAs(P.ellis)],
  ['Date of birth', P.ellis.dob],
  ['UPN', P.ellis.upn],
  ['Year group', `${P.ellis.year} (${P.ellis.regGroup})`],
  ['Parent/carer', 'Mrs Marta Kowalczyk'],
  ['SENCo', 'Mrs Karen Doyle'],
])}
<h2>Section A: The views of the child and family</h2>
<p>Ellis enjoys computing club and says he finds the dinner hall too noisy. His mum feels he has made good progress with reading this year but is worried about the move to secondary school.</p>
<h2>Section B: Special educational needs</h2>
<p>${knownAs(P.ellis)} has a diagnosis of autism spectrum condition (ASC) and speech, language and communication needs. He has sensory processing difficulties and becomes anxious during unstructured times.</p>
<h2>Section F: Provision</h2>
<p>Speech and language therapy: 6 sessions per term from the NHS SALT service. 1:1 TA support for 20 hours per week. Access to the nurture room at lunchtime. Social stories before changes to routine.</p>
<h2>Recommendations</h2>
<p>The school requests an increase to 25 hours of 1:1 support and a transition plan beginning in the summer term of Year 5.</p>`,
);

const senSupportHtml = html(
  'SEN support plan',
  `<h1>SEN Support Plan</h1>
${table([
  ['Pupil', knownAs(P.kacper)],
  ['Date of birth', P.kacper.dob],
  ['Class', P.kacper.regGroup],
  ['Area of need', 'Cognition and learning – suspected dyslexia'],
])}
<p>Kacper receives small-group phonics intervention three times a week. We would welcome an educational psychology assessment to confirm whether dyslexia is the primary need and to advise on strategies for writing.</p>`,
);

const healthcarePlanHtml = html(
  'Individual healthcare plan',
  `<h1>Individual Healthcare Plan</h1>
${table([
  ['Name', knownAs(P.oliver)],
  ['Date of birth', P.oliver.dob],
  ['Class', P.oliver.regGroup],
  ['Medical condition', 'Asthma; severe peanut allergy'],
  ['Medication', 'Salbutamol inhaler (blue) kept in class; two EpiPens in the office'],
  ['GP', 'Northgate Medical Practice'],
])}
<h2>Daily care requirements</h2>
<p>Oliver should use his inhaler before PE. He must not eat food that has not been checked by an adult.</p>
<h2>What to do in an emergency</h2>
<p>If Oliver shows signs of anaphylaxis, administer the EpiPen, call 999 and then call his parents.</p>`,
);

const zoeReportHtml = html(
  'End of year report',
  `<h1>Oakfield Primary School – Interim Report</h1>
${table([
  ['Pupil', knownAs(P.zoe)],
  ['Class', P.zoe.regGroup],
  ['Teacher', 'Mrs S Whitfield'],
])}
<h2>Reading</h2><p>Working at the expected standard. Zoë reads widely and enjoys discussing characters' motives.</p>
<h2>Writing</h2><p>Working towards the expected standard. Next step: use paragraphs to organise ideas.</p>
<h2>Maths</h2><p>Working at the expected standard. Zoë is quick with times tables but needs to show her working in multi-step problems.</p>`,
);

const y6CoachListHtml = html(
  'Year 6 coach list',
  `<h1>Year 6 Residential – Coach Passenger List</h1><p>Kingswood Activity Centre, 9–11 March 2027</p>
${table(year6.map((p, i) => [String(i + 1), knownAs(p), p.regGroup]), ['#', 'Pupil', 'Class'])}
<p>Staff: Mr D Thompson (trip leader), Mrs L Akhtar, Mr B Okafor, Miss C Lowe, Mr P Dawes</p>`,
);

const y3TheatreListHtml = html(
  'Year 3 theatre visit',
  `<h1>Year 3 Theatre Visit – Pupil List</h1><p>Theatre Royal Northgate, matinee, Friday 4 December</p>
${table(year3.map((p) => [knownAs(p), p.regGroup]), ['Pupil', 'Class'])}
<p>Adults: Mrs R Nuttall, Mr J Kaur, Mrs F Lowe, two parent helpers.</p>`,
);

const tripLetterHtml = html(
  'Year 4 trip letter',
  `<p>Oakfield Primary School</p><p>16 November 2026</p>
<p>Dear Parents and Carers,</p>
<h2>Year 4 visit to Northgate Museum – Thursday 26 November</h2>
<p>As part of our Romans topic, Year 4 will be visiting Northgate Museum for a hands-on workshop. We will leave school at 9.15am by coach and return by 3.00pm.</p>
<p>The cost of the trip is £12.50, which covers the coach and the workshop. Please pay via ParentPay by Friday 20 November. No child will be left behind because of inability to pay; please speak to the office in confidence if you need support.</p>
<p>Please provide a packed lunch in a disposable bag (or order a school packed lunch via ParentPay). Children should wear school uniform and bring a coat.</p>
<p>If your child has any medical needs, including inhalers or allergies, please make sure these are up to date on the consent form so that we can take the right medication with us.</p>
<p>Yours sincerely,</p><p>Mrs L Hart<br/>Year 4 Teacher</p>`,
);

const residentialLetterHtml = html(
  'Year 6 residential',
  `<h1>Year 6 Residential – Kingswood, 9–11 March 2027</h1>
<p>Dear Parents and Carers,</p>
<p>We are delighted to confirm the arrangements for this year's residential. The remaining balance of £145 is due by 29 January. A kit list is attached to this letter.</p>
<p>Please complete the medical and dietary form on ParentPay by 15 January. Medication must be handed to Mr Thompson in its original packaging, labelled with your child's name.</p>
<p>There will be a parents' information evening on Tuesday 2 February at 6pm in the school hall.</p>
<p>Kind regards,<br/>Mr D Thompson<br/>Year 6 Team</p>`,
);

const newsletterHtmlBody = `<h1>Oakfield News – Friday 13 November 2026</h1>
<p>Dear Families,</p>
<p>What a busy fortnight! Thank you to everyone who came to our harvest festival: we collected 212 items for Northgate Foodbank.</p>
<h2>Stars of the week</h2>
<p>Well done to Grace (4W), Jack (2P), Ivy (RL), Will (6M), May (2B), Summer (1A) and Rose (4D) for outstanding effort this week, and to Hope and Daniel for representing the school so well at the county choir festival.</p>
<h2>Safeguarding</h2>
<p>Keeping children safe is everyone's responsibility. If you have a safeguarding concern about any child, please speak to our Designated Safeguarding Lead, Mr Ashworth, or one of our deputies. Our safeguarding policy is on the school website.</p>
<h2>SEN coffee morning</h2>
<p>Mrs Doyle, our SENCo, is holding a coffee morning for parents of children with SEN on Wednesday 25 November at 9am. Come along to find out more about SEN support, EHCPs and the local offer.</p>
<h2>Medical information</h2>
<p>Please let the office know about any changes to your child's medical needs or medication. Inhalers and EpiPens must be in date and clearly labelled.</p>
<h2>Dates for your diary</h2>
<p>Thursday 26 November: Year 4 museum visit. Friday 4 December: Year 3 theatre trip. Friday 18 December: Christmas jumper day, school closes at 2pm.</p>
<p>Mr M Holloway<br/>Headteacher</p>`;
const newsletterText = newsletterHtmlBody
  .replace(/<h[12]>/g, '\n')
  .replace(/<\/h[12]>/g, '\n')
  .replace(/<br\/>/g, '\n')
  .replace(/<\/p>/g, '\n')
  .replace(/<[^>]+>/g, '');

const invoiceHtml = html(
  'Invoice',
  `<h1>Oakfield Primary School – Lettings Invoice</h1>
${table([
  ['Invoice number', 'LET-2026-117'],
  ['Date', '16 November 2026'],
  ['Customer', 'Northgate Zumba Club'],
  ['Description', 'School hall hire, Tuesdays 6–7pm, 8 sessions (autumn 2) at £28.00'],
  ['Total due', '£224.00'],
])}
<p>Payment by bank transfer to Oakfield Primary School, sort code 20-45-77, account number 43917265, quoting LET-2026-117. Payment is due within 30 days.</p>`,
);

const agendaHtml = html(
  'FGB agenda',
  `<h1>Oakfield Primary School – Full Governing Body</h1><p>Tuesday 1 December 2026, 6pm, school library</p>
<ol><li>Apologies and declarations of interest</li><li>Minutes of the meeting on 22 September</li><li>Headteacher's report (including attendance, SEND and safeguarding updates)</li><li>Budget monitoring – period 7</li><li>Policies for approval: Charging and Remissions, Medical Conditions, Online Safety</li><li>Governor visits and training</li><li>AOB</li></ol>`,
);

const photoHtml = (caption: string) =>
  html('photo', `<div style="background:#7ab55c;height:600px"><p style="font-size:40pt;color:white">${caption}</p></div>`);

const summerFairPosterHtml = html(
  'Summer fair',
  `<h1>Oakfield Summer Fair</h1><p>Saturday 19 June, 12–3pm on the school field</p><p>Bouncy castle · tombola · cake stall · dog show · raffle</p><p>Organised by the Friends of Oakfield. All welcome!</p>`,
);
const gracePeriodPolicyHtml = html(
  'Homework policy',
  `<h1>Homework Policy – Update November 2026</h1><p>Homework is set on Fridays and is due the following Thursday. From this half-term, children may use a one-week grace period twice per term without a reminder letter. Children who need support with homework can attend Homework Club on Wednesdays.</p>`,
);
const provisionMapHtml = html(
  'Provision map',
  `<h1>Provision Map – Autumn Term 2026</h1>${table(
    [
      ['Phonics catch-up', 'Year 2', '3 x 20 min', '6 pupils'],
      ['Precision teaching', 'Year 4', '5 x 10 min', '4 pupils'],
      ['Talk Boost', 'Reception', '3 x 30 min', '8 pupils'],
      ['Nurture group', 'KS2', 'Daily lunchtime', '7 pupils'],
    ],
    ['Intervention', 'Year', 'Frequency', 'Group size'],
  )}<p>Costs are met from the notional SEN budget and pupil premium.</p>`.repeat(6),
);

// --- For the personal-data model (issue 13) ---------------------------------------------------
const ACTIVITY_CENTRE = 'groups@highpeakoutdoors.co.uk';
const THERAPIST = 'jen.speechtherapy@gmail.com';
/** Two pupils with the same forename (not an ordinary word), for the "could be either" case. */
const SAME_FORENAME = (() => {
  const ordinary = new Set(['Grace', 'Hope', 'May', 'Will', 'Summer', 'Rose', 'Jack', 'Ivy']);
  const byName = new Map<string, CorpusPupil[]>();
  for (const p of pupils) {
    if (p.preferredForename || ordinary.has(p.legalForename)) continue;
    byName.set(p.legalForename, [...(byName.get(p.legalForename) ?? []), p]);
  }
  const pair = [...byName.values()].find((l) => l.length >= 2 && l[0].legalSurname !== l[1].legalSurname);
  if (!pair) throw new Error('the roster has no two pupils sharing a forename');
  return [pair[0], pair[1]] as const;
})();
const Y5_MEDICAL = ['Asthma – blue inhaler', 'Nut allergy – EpiPen x2', 'Eczema', 'Type 1 diabetes – insulin pump', 'Epilepsy – buccal midazolam', 'Coeliac disease', 'Hay fever', 'Asthma', 'Dairy allergy', 'ADHD – medication at lunch', 'Migraines', 'Asthma – brown and blue inhalers', 'Peanut allergy', 'Hearing impairment'];
const activityTableRows = year5.slice(0, 14).map((p, i) => [knownAs(p), p.dob, p.regGroup, Y5_MEDICAL[i]]);
const activityTableHtml = `<p>Dear Sophie,</p><p>Ahead of our visit on 9 December, here are the details of the fourteen children in the climbing group, as your booking form asks:</p>
${table(activityTableRows, ['Name', 'Date of birth', 'Class', 'Medical conditions'])}
<p>Many thanks,<br/>Ben Okafor</p>`;
const activityTableText = `Dear Sophie,\n\nAhead of our visit on 9 December, here are the details of the fourteen children in the climbing group, as your booking form asks:\n\nName\tDate of birth\tClass\tMedical conditions\n${activityTableRows.map((r) => r.join('\t')).join('\n')}\n\nMany thanks,\nBen Okafor`;
const coachListText = `Hi Gary,\n\nHere are the six children travelling on Friday's swimming gala coach, with their dates of birth for your insurer:\n\n${year5
  .slice(20, 26)
  .map((p, i) => `${knownAs(p)}\t${p.dob}\t${['', 'Asthma – inhaler in bag', '', 'Nut allergy', '', 'Travel sickness'][i]}`)
  .join('\n')}\n\nThanks,\nBen`;
const filler =
  'We talked through how the first half of term has gone, what is working well in class and what we will try next. ' +
  'Homework is being handed in on time and the reading record is signed most weeks, which is lovely to see. ' +
  'We also agreed some small changes to the morning routine so that the start of the day feels calmer for everyone.';
/** A letter that names the pupil in full once, then only by forename beside special-category and behaviour details. */
const tylerLetter = (greeting: string) =>
  `${greeting}\n\nThank you for meeting us on Tuesday to talk about ${knownAs(P.tyler)} (6M).\n\n${filler}\n\n${filler}\n\nAs discussed, Tyler has been referred by the school nurse for an ADHD assessment. Tyler was also involved in a behaviour incident at lunchtime on Thursday, which we dealt with in school. We will hold Tyler's SEN support review on 3 December and will send you the notes afterwards.`;
const oliverBehaviourNote = `Dear Mrs Wright,\n\nJust a quick note to let you know that Oliver had a difficult afternoon. He was involved in a fight in the playground after lunch and has been given a detention on Friday. We will talk it through with him in class tomorrow.${signature(S.nuttall, 'Kind regards')}`;
const kacperTherapyText = `Dear Jen,\n\nThank you for agreeing to see ${knownAs(P.kacper)} privately in the new year. Some background before you meet the family: Kacper has a diagnosis of autism and significant speech and language needs, and we submitted his EHCP application in October. He receives free school meals, so his mum may ask about help with the cost of the sessions.\n\nDo call me if you need anything else.`;
const governorsMinutesHtml = html(
  'FGB minutes',
  `<h1>Full Governing Body – Minutes, 1 December 2026</h1>
<p>Present: Mrs Ruth Greaves (Chair), Mr Gareth Ellis, Mrs Rukhsana Abbasi, Mr David Lowther, Mr Mark Holloway (Headteacher). In attendance: Mrs Janet Price (School Business Manager).</p>
<h2>3. Headteacher's report</h2>
<p>Ellis asked about SEND provision. The Headteacher reported 41 pupils on SEN support and 7 with an EHCP; two new EHCP applications are with the local authority. Ellis asked whether the nurture group would continue next term: it will, funded from the notional SEN budget.</p>
<p>Safeguarding: 3 referrals to children's social care this term and 2 children looked after. Attendance is 95.8%; persistent absence has fallen to 11%. Ellis thanked staff for the work on attendance.</p>
<h2>4. Budget</h2><p>Mrs Price presented period 7 monitoring. Free school meals eligibility has risen to 24% of pupils; pupil premium income is in line with the budget.</p>`,
);
const governorsMinutesText = governorsMinutesHtml.replace(/<h[12]>/g, '\n').replace(/<\/(h[12]|p)>/g, '\n').replace(/<[^>]+>/g, '');

interface OfficeJob {
  src: string;
  content: string;
  kind: 'writer' | 'calc';
  outputs: Array<{ file: string; password?: string }>;
}

/** Every document LibreOffice makes, by output file name in the work directory. */
const OFFICE_JOBS: OfficeJob[] = [
  { src: 'ehcp-review.html', kind: 'writer', content: ehcpHtml, outputs: [{ file: 'ehcp-review.docx' }, { file: 'ehcp-review-encrypted.docx', password: 'Review-EK-1126' }, { file: 'ehcp-review.pdf' }] },
  { src: 'sen-support-plan.html', kind: 'writer', content: senSupportHtml, outputs: [{ file: 'sen-support-plan.docx' }] },
  { src: 'healthcare-plan.html', kind: 'writer', content: healthcarePlanHtml, outputs: [{ file: 'healthcare-plan.docx' }] },
  { src: 'zoe-report.html', kind: 'writer', content: zoeReportHtml, outputs: [{ file: 'zoe-report.docx' }] },
  { src: 'y6-coach-list.html', kind: 'writer', content: y6CoachListHtml, outputs: [{ file: 'y6-coach-list.pdf' }] },
  { src: 'y3-theatre-list.html', kind: 'writer', content: y3TheatreListHtml, outputs: [{ file: 'y3-theatre-list.pdf' }] },
  { src: 'trip-letter.html', kind: 'writer', content: tripLetterHtml, outputs: [{ file: 'trip-letter.docx' }] },
  { src: 'residential-letter.html', kind: 'writer', content: residentialLetterHtml, outputs: [{ file: 'residential-letter.pdf' }] },
  { src: 'newsletter.html', kind: 'writer', content: html('Oakfield News', newsletterHtmlBody), outputs: [{ file: 'newsletter.pdf' }] },
  { src: 'invoice.html', kind: 'writer', content: invoiceHtml, outputs: [{ file: 'invoice.pdf' }] },
  { src: 'agenda.html', kind: 'writer', content: agendaHtml, outputs: [{ file: 'agenda.docx' }] },
  { src: 'summer-fair.html', kind: 'writer', content: summerFairPosterHtml, outputs: [{ file: 'summer-fair.pdf' }] },
  { src: 'grace-period.html', kind: 'writer', content: gracePeriodPolicyHtml, outputs: [{ file: 'grace-period.pdf' }] },
  { src: 'provision-map.html', kind: 'writer', content: provisionMapHtml, outputs: [{ file: 'provision-map.docx' }] },
  { src: 'governors-minutes.html', kind: 'writer', content: governorsMinutesHtml, outputs: [{ file: 'governors-minutes.docx' }] },
  { src: 'photo-sports.html', kind: 'writer', content: photoHtml('Sports day 2026'), outputs: [{ file: 'photo-sports.jpg' }] },
  { src: 'photo-xc.html', kind: 'writer', content: photoHtml('County cross-country'), outputs: [{ file: 'photo-xc.jpg' }] },
  { src: 'photo-trip.html', kind: 'writer', content: photoHtml('Museum workshop'), outputs: [{ file: 'photo-trip.jpg' }] },
  { src: 'y4-groups.csv', kind: 'calc', content: Y4_GROUPS_CSV, outputs: [{ file: 'y4-groups.xlsx' }, { file: 'y4-groups-encrypted.xlsx', password: 'Romans-4W-2026' }] },
  { src: 'y5-swimming.csv', kind: 'calc', content: Y5_SWIMMING_CSV, outputs: [{ file: 'y5-swimming.xlsx' }] },
];

const FILTERS: Record<string, { writer?: string; calc?: string }> = {
  docx: { writer: 'MS Word 2007 XML' },
  xlsx: { calc: 'Calc MS Excel 2007 XML' },
  pdf: { writer: 'writer_pdf_Export', calc: 'calc_pdf_Export' },
  jpg: { writer: 'writer_jpg_Export' },
};

/** Files written directly (CSV/text), by work-directory name. */
const PLAIN_FILES: Record<string, string> = {
  'Year 6 residential passenger list.csv': Y6_RESIDENTIAL_CSV,
  'Year 3 dinner register.csv': Y3_YEAR_LIST_CSV,
  'Attendance below 90 percent.csv': ATTENDANCE_CSV,
  'Persistent absence autumn 1.csv': ATTENDANCE_CSV,
  'Workshop badge names.csv': WORKSHOP_CSV,
  'PE kit order.csv': PE_KIT_CSV,
};

/** Archives, protected PDFs and damaged files made from the documents above. */
type Derived =
  | { out: string; tool: 'zip'; inputs: Array<[string, string]> /* [work file, name in archive] */; password?: string }
  | { out: string; tool: '7z-aes-zip' | '7z-mhe'; inputs: Array<[string, string]>; password: string }
  | { out: string; tool: 'qpdf'; input: string; user: string; owner: string }
  | { out: string; tool: 'truncate'; input: string; fraction: number };

const DERIVED: Derived[] = [
  { out: 'y6-residential-zipcrypto.zip', tool: 'zip', inputs: [['Year 6 residential passenger list.csv', 'Year 6 residential passenger list.csv']], password: 'Kingswood-March26' },
  { out: 'y4-groups-aes.zip', tool: '7z-aes-zip', inputs: [['y4-groups.xlsx', 'Year 4 museum groups.xlsx']], password: 'Romans-4W-2026' },
  { out: 'y6-climbing.7z', tool: '7z-mhe', inputs: [['Year 6 residential passenger list.csv', 'Year 6 climbing groups.csv']], password: 'Ridge!Climb7' },
  { out: 'y5-swimming-plain.zip', tool: 'zip', inputs: [['y5-swimming.xlsx', 'Year 5 swimming groups.xlsx']] },
  { out: 'sen-support-zipcrypto.zip', tool: 'zip', inputs: [['sen-support-plan.docx', 'SEN support plan - Year 5.docx']], password: 'EP-referral-5S' },
  { out: 'attendance-zipcrypto.zip', tool: 'zip', inputs: [['Persistent absence autumn 1.csv', 'Persistent absence autumn 1.csv']], password: 'Lapwing-0311' },
  { out: 'sports-day-photos.zip', tool: 'zip', inputs: [['photo-sports.jpg', 'Niamh_Gallagher_100m.jpg'], ['photo-trip.jpg', 'IMG_3312.jpg']] },
  { out: 'ehcp-named-zipcrypto.zip', tool: 'zip', inputs: [['ehcp-review.docx', 'Ellis Kowalczyk EHCP review.docx']], password: 'Review-EK-1126' },
  { out: 'ehcp-named-mhe.7z', tool: '7z-mhe', inputs: [['ehcp-review.docx', 'Ellis Kowalczyk EHCP review.docx']], password: 'Review-EK-1126' },
  { out: 'ehcp-review-user.pdf', tool: 'qpdf', input: 'ehcp-review.pdf', user: 'EK-annual-26', owner: 'oakfield-sen-owner' },
  { out: 'ehcp-review-owner-only.pdf', tool: 'qpdf', input: 'ehcp-review.pdf', user: '', owner: 'oakfield-sen-owner' },
  { out: 'y6-coach-list-owner-only.pdf', tool: 'qpdf', input: 'y6-coach-list.pdf', user: '', owner: 'oakfield-office-owner' },
  { out: 'y3-theatre-list-user.pdf', tool: 'qpdf', input: 'y3-theatre-list.pdf', user: 'Gruffalo-3K', owner: 'oakfield-office-owner' },
  { out: 'provision-map-truncated.docx', tool: 'truncate', input: 'provision-map.docx', fraction: 0.45 },
  { out: 'y4-groups-truncated.xlsx', tool: 'truncate', input: 'y4-groups.xlsx', fraction: 0.5 },
];

// ---------------------------------------------------------------------------------------------
// The messages

type Attachment =
  /** Text written directly into the message (a CSV export, a .txt). */
  | { filename: string; text: string; contentType?: string }
  /** A file made in the work directory by the tools above. */
  | { filename: string; work: string }
  /** An original email attached to this one (message/rfc822). */
  | { filename: string; message: Omit<MessageSpec, 'file' | 'expect' | 'note'> };

interface MessageSpec {
  file: string;
  from: Staff | { name: string; email: string };
  /** Header From when it differs from the envelope sender (redirects, resends). */
  headerFrom?: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  /** Envelope recipients when they differ from To+Cc+Bcc (resends and redirects). */
  envelopeTo?: string[];
  subject: string;
  text: string;
  html?: string;
  attachments?: Attachment[];
  headers?: Record<string, string>;
  date: string;
  expect: CorpusRule[];
  note: string;
}

const COACH = 'bookings@castlecoaches.co.uk';
const MUSEUM = 'learning@northgatemuseum.org.uk';
const LA_SEN = 'sen.team@county.gov.uk';
const POOL = 'swimming@riversideleisure.co.uk';
const TUTOR = 'hello@brightsparkstuition.co.uk';
const d = (day: number, time: string) => `${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(Date.UTC(2026, 10, day)).getUTCDay()]}, ${day} Nov 2026 ${time}:00 +0000`;

const fwdBlock = (fromLine: string, date: string, subject: string, to: string, body: string) =>
  `---------- Forwarded message ---------\nFrom: ${fromLine}\nDate: ${date}\nSubject: ${subject}\nTo: ${to}\n\n${body}`;

const oliverLetter = `Dear Mrs Wright,

Thank you for coming in on Monday to go through Oliver's individual healthcare plan. I have updated it with the changes we discussed:

Name: ${knownAs(P.oliver)} (3K)
Date of birth: ${P.oliver.dob}
Condition: asthma and a severe peanut allergy
Medication: blue salbutamol inhaler kept in the classroom; two EpiPens in the school office

Could you check the details and let me know if anything is wrong? Once you're happy, please sign the copy in his book bag and send it back by Friday.`;

export const MESSAGES: MessageSpec[] = [
  // --- Class lists ----------------------------------------------------------------------------
  {
    file: 'cl-01-residential-list-csv-to-coach.eml',
    from: S.thompson,
    to: [COACH],
    subject: 'Year 6 residential – passenger list for 9 March',
    text: `Hi Gary,\n\nAs promised, please find attached the passenger list for our Year 6 residential to Kingswood (Mon 9 – Wed 11 March). There are ${year6.length} children and 5 staff travelling. I've included the medical and dietary notes so the driver is aware, particularly the two children with EpiPens.\n\nCould you confirm pick-up is still 8.15am from the school car park?${signature(S.thompson, 'Many thanks')}`,
    attachments: [{ filename: 'Year 6 residential passenger list.csv', text: Y6_RESIDENTIAL_CSV, contentType: 'text/csv' }],
    date: d(16, '08:42'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'Class list (CSV, whole year group, medical notes) to a coach company, not encrypted',
  },
  {
    file: 'cl-02-museum-groups-xlsx.eml',
    from: S.hart,
    to: [MUSEUM],
    subject: 'Oakfield Primary – Year 4 visit on 26 November: group lists',
    text: `Dear Learning Team,\n\nThank you for confirming our booking for the Romans workshop. As requested, I attach our group lists for the day (four groups, each with an adult leader). Please let me know if you need anything else before Thursday.${signature(S.hart, 'Best wishes')}`,
    attachments: [{ filename: 'Year 4 museum groups.xlsx', work: 'y4-groups.xlsx' }],
    date: d(17, '15:20'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'Class list (xlsx made by LibreOffice) to a museum, not encrypted',
  },
  {
    file: 'cl-03-residential-list-zip-password-by-phone.eml',
    from: S.thompson,
    to: [COACH],
    subject: 'Year 6 residential – updated passenger list (protected)',
    text: `Hi Gary,\n\nFollowing our call, here is the updated passenger list as a password-protected zip file. I'll ring you this afternoon with the password rather than putting it in the email.${signature(S.thompson, 'Thanks again')}`,
    attachments: [{ filename: 'Year 6 residential passenger list.zip', work: 'y6-residential-zipcrypto.zip' }],
    date: d(18, '10:05'),
    expect: [],
    note: 'Class list in a ZipCrypto zip (zip -P); password given by phone',
  },
  {
    file: 'cl-04-residential-list-zip-password-in-body.eml',
    from: S.thompson,
    to: [COACH],
    subject: 'Year 6 residential – updated passenger list',
    text: `Hi Gary,\n\nUpdated passenger list attached (zipped with a password as per our data protection policy).\n\nThe password is Kingswood-March26\n\nAny problems opening it, just give me a shout.${signature(S.thompson, 'Cheers')}`,
    attachments: [{ filename: 'Year 6 residential passenger list.zip', work: 'y6-residential-zipcrypto.zip' }],
    date: d(18, '10:07'),
    expect: ['password-in-same-email'],
    note: 'ZipCrypto zip with "The password is …" in the same email',
  },
  {
    file: 'cl-05-museum-groups-aes-zip-password-by-text.eml',
    from: S.hart,
    to: [MUSEUM],
    subject: 'Year 4 group lists (encrypted)',
    text: `Dear Learning Team,\n\nI have put the group lists for Thursday in an encrypted zip file. Our office will text the password to the mobile number on your booking form.${signature(S.hart, 'Best wishes')}`,
    attachments: [{ filename: 'Year 4 museum groups.zip', work: 'y4-groups-aes.zip' }],
    date: d(17, '15:31'),
    expect: [],
    note: 'Class list xlsx in a WinZip-AES zip (7z -mem=AES256); password by text message',
  },
  {
    file: 'cl-06-museum-groups-aes-zip-password-in-body.eml',
    from: S.hart,
    to: [MUSEUM],
    subject: 'Year 4 group lists – encrypted copy',
    text: `Dear Learning Team,\n\nApologies, I sent the wrong version earlier. Here is the encrypted copy of the group lists.\n\nPassword for the attachment: Romans-4W-2026\n\nMany thanks for your help.${signature(S.hart, 'Best wishes')}`,
    attachments: [{ filename: 'Year 4 museum groups.zip', work: 'y4-groups-aes.zip' }],
    date: d(17, '16:02'),
    expect: ['password-in-same-email'],
    note: 'AES zip with "Password for the attachment: …" in the body',
  },
  {
    file: 'cl-07-climbing-7z-encrypted-names.eml',
    from: S.okafor,
    to: ['bookings@highpeakoutdoors.co.uk'],
    subject: 'Oakfield Year 6 – climbing groups',
    text: `Hi Sophie,\n\nPlease find our climbing groups for the residential attached as a 7-Zip file (the file names are encrypted too). I'll send the password by text message to your mobile.${signature(S.okafor, 'Thanks')}`,
    attachments: [{ filename: 'Year 6 climbing groups.7z', work: 'y6-climbing.7z' }],
    date: d(19, '12:40'),
    expect: [],
    note: '7z with encrypted headers (-mhe=on); password sent separately',
  },
  {
    file: 'cl-08-climbing-7z-pw-in-body.eml',
    from: S.okafor,
    to: ['bookings@highpeakoutdoors.co.uk'],
    subject: 'Re: Oakfield Year 6 – climbing groups',
    text: `Hi Sophie,\n\nSorry, my phone has died so I can't text you. Here it is:\n\npw - Ridge!Climb7\n\nThanks for your patience.${signature(S.okafor, 'Cheers')}`,
    attachments: [{ filename: 'Year 6 climbing groups.7z', work: 'y6-climbing.7z' }],
    date: d(19, '13:15'),
    expect: ['password-in-same-email'],
    note: '7z with encrypted headers and "pw - …" in the same email',
  },
  {
    file: 'cl-09-swimming-groups-plain-zip.eml',
    from: S.whitfield,
    to: [POOL],
    subject: 'Year 5 swimming groups – spring term',
    text: `Hi Jo,\n\nAttached are the Year 5 swimming groups for the spring term, zipped up because our email kept bouncing it. Ability groups are based on last term's assessments.${signature(S.whitfield, 'Thanks')}`,
    attachments: [{ filename: 'Year 5 swimming groups.zip', work: 'y5-swimming-plain.zip' }],
    date: d(20, '09:12'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'Class list xlsx inside a zip WITHOUT a password',
  },
  {
    file: 'cl-10-theatre-list-pdf.eml',
    from: S.nuttall,
    to: ['boxoffice@theatreroyal-northgate.co.uk'],
    subject: 'Oakfield Primary – Year 3 matinee 4 December',
    text: `Dear Box Office,\n\nPlease find attached the list of pupils attending the matinee of The Gruffalo on Friday 4 December, as requested for your visitor register.${signature(S.nuttall)}`,
    attachments: [{ filename: 'Year 3 theatre list.pdf', work: 'y3-theatre-list.pdf' }],
    date: d(23, '11:00'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'Class list as an unprotected PDF to a theatre',
  },
  {
    file: 'cl-11-coach-list-owner-only-pdf.eml',
    from: S.thompson,
    to: [COACH],
    subject: 'Final passenger list – Kingswood',
    text: `Hi Gary,\n\nFinal list attached as a protected PDF. The drivers shouldn't be able to edit it.${signature(S.thompson, 'Cheers')}`,
    attachments: [{ filename: 'Year 6 coach list.pdf', work: 'y6-coach-list-owner-only.pdf' }],
    date: d(24, '14:22'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'Class list PDF with only an owner password (qpdf --encrypt "" OWNER): opens without a password, so not protected',
  },
  {
    file: 'cl-12-theatre-list-user-password-pdf.eml',
    from: S.nuttall,
    to: ['boxoffice@theatreroyal-northgate.co.uk'],
    subject: 'Oakfield Primary – Year 3 list (protected)',
    text: `Dear Box Office,\n\nThe attached PDF is password protected. I will phone the box office this afternoon with the password.${signature(S.nuttall)}`,
    attachments: [{ filename: 'Year 3 theatre list.pdf', work: 'y3-theatre-list-user.pdf' }],
    date: d(23, '11:30'),
    expect: [],
    note: 'Class list PDF with a user password (qpdf AES-256); password by phone',
  },
  {
    file: 'cl-13-dinner-register-internal.eml',
    from: S.nuttall,
    to: [S.office.email],
    subject: 'Year 3 dinner register – changes',
    text: `Hi Claire,\n\nHere's the updated Year 3 list for the dinner register. A few children have switched to packed lunches from Monday.${signature(S.nuttall, 'Thanks')}`,
    attachments: [{ filename: 'Year 3 dinner register.csv', text: Y3_YEAR_LIST_CSV, contentType: 'text/csv' }],
    date: d(13, '12:15'),
    expect: [],
    note: 'Class list sent inside the school only',
  },
  {
    file: 'cl-14-attendance-list-to-la.eml',
    from: S.ashworth,
    to: ['attendance@county.gov.uk'],
    subject: 'Pupils below 90% attendance – autumn 1',
    text: `Dear Attendance Team,\n\nAs discussed at our termly attendance meeting, please find attached the list of pupils whose attendance is below 90% for autumn 1. We have already sent first letters to these families.${signature(S.ashworth)}`,
    attachments: [{ filename: 'Attendance below 90 percent.csv', text: ATTENDANCE_CSV, contentType: 'text/csv' }],
    date: d(11, '16:45'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'Six pupils with attendance to the local authority (trusted partner, still outside the school), not encrypted',
  },
  {
    file: 'cl-15-three-badge-names.eml',
    from: S.hart,
    to: [MUSEUM],
    subject: 'Name badges for the Roman soldier workshop',
    text: `Hi,\n\nHere are the three children who will be taking part in the Roman soldier demonstration, for the name badges.${signature(S.hart, 'Thanks')}`,
    attachments: [{ filename: 'Workshop badge names.csv', text: WORKSHOP_CSV, contentType: 'text/csv' }],
    date: d(24, '09:10'),
    expect: [],
    note: 'Three names and classes, nothing else: below the class-list threshold (5 pupils) of the shipped policy',
  },
  {
    file: 'cl-16-museum-groups-encrypted-xlsx.eml',
    from: S.hart,
    to: [MUSEUM],
    subject: 'Year 4 group lists (password protected spreadsheet)',
    text: `Dear Learning Team,\n\nPlease find the group lists attached as a password-protected Excel file. The office will phone you with the password.${signature(S.hart, 'Best wishes')}`,
    attachments: [{ filename: 'Year 4 museum groups.xlsx', work: 'y4-groups-encrypted.xlsx' }],
    date: d(17, '15:45'),
    expect: [],
    note: 'Class list in an Excel file encrypted with a password (OOXML Standard encryption, LibreOffice over UNO)',
  },

  {
    file: 'cl-17-claims-protected-but-is-not.eml',
    from: S.thompson,
    to: [COACH],
    subject: 'Kingswood – passenger list (password protected)',
    text: `Hi Gary,\n\nList attached – I've password protected it. Password to follow by text.${signature(S.thompson, 'Cheers')}`,
    attachments: [{ filename: 'Year 6 passenger list.csv', text: Y6_RESIDENTIAL_CSV, contentType: 'text/csv' }],
    date: d(24, '14:30'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'The sender says the class list is password protected but it is a plain CSV',
  },
  // --- SEN and EHCP -----------------------------------------------------------------------------
  {
    file: 'sen-01-ehcp-review-docx-to-la.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'EHCP annual review paperwork – E.K., Year 5',
    text: `Dear Sam,\n\nPlease find attached the annual review paperwork for E.K. (Year 5), following the review meeting on 12 November. Parents' views are included in section A. We are requesting an increase in 1:1 support hours.${signature(S.doyle)}`,
    attachments: [{ filename: 'EHCP annual review - Year 5.docx', work: 'ehcp-review.docx' }],
    date: d(16, '13:05'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'EHCP review (name, DOB, UPN, diagnosis) as an unprotected docx to the local authority',
  },
  {
    file: 'sen-02-ehcp-review-encrypted-docx.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'EHCP annual review paperwork – E.K. (encrypted)',
    text: `Dear Sam,\n\nAttached is the annual review paperwork for E.K. as an encrypted Word document. I'll phone you with the password when you're back in the office.${signature(S.doyle)}`,
    attachments: [{ filename: 'EHCP annual review - Year 5.docx', work: 'ehcp-review-encrypted.docx' }],
    date: d(16, '13:10'),
    expect: [],
    note: 'EHCP review as a password-encrypted docx (Word "Encrypt with Password"); password by phone',
  },
  {
    file: 'sen-03-ehcp-encrypted-docx-password-in-body.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'Re: EHCP annual review paperwork – E.K.',
    text: `Hi Sam,\n\nSorry you couldn't get through this morning. To save time:\n\nPassword: Review-EK-1126\n\nLet me know if there are any problems opening it.${signature(S.doyle)}`,
    attachments: [{ filename: 'EHCP annual review - Year 5.docx', work: 'ehcp-review-encrypted.docx' }],
    date: d(17, '09:40'),
    expect: ['password-in-same-email'],
    note: 'Encrypted docx re-sent with "Password: …" in the body',
  },
  {
    file: 'sen-04-ehcp-review-user-password-pdf.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'EHCP annual review – PDF copy',
    text: `Dear Sam,\n\nAs requested, a PDF copy of the annual review paperwork for E.K. is attached. It is password protected and I will send the password in a separate text message.${signature(S.doyle)}`,
    attachments: [{ filename: 'EHCP annual review - Year 5.pdf', work: 'ehcp-review-user.pdf' }],
    date: d(17, '10:20'),
    expect: [],
    note: 'EHCP review PDF with a user password (qpdf AES-256); password by text',
  },
  {
    file: 'sen-05-ehcp-review-owner-only-pdf.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'EHCP annual review – locked PDF',
    text: `Dear Sam,\n\nI've attached a locked PDF of the annual review so it can't be edited.${signature(S.doyle)}`,
    attachments: [{ filename: 'EHCP annual review - Year 5.pdf', work: 'ehcp-review-owner-only.pdf' }],
    date: d(17, '10:25'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'EHCP review PDF with only an owner password: anyone can open it, so it counts as unencrypted',
  },
  {
    file: 'sen-06-support-plan-zip-to-ep.eml',
    from: S.doyle,
    to: ['dr.a.fraser@northgate-ep.co.uk'],
    subject: 'Referral for EP assessment – Year 5 pupil',
    text: `Dear Dr Fraser,\n\nThank you for agreeing to see one of our Year 5 pupils. The SEN support plan is attached in a password-protected zip file; the password will follow by phone.${signature(S.doyle)}`,
    attachments: [{ filename: 'SEN support plan.zip', work: 'sen-support-zipcrypto.zip' }],
    date: d(19, '16:00'),
    expect: [],
    note: 'SEN support plan docx inside a ZipCrypto zip to a private educational psychologist',
  },
  {
    file: 'sen-07-ehcp-review-internal.eml',
    from: S.doyle,
    to: [S.head.email],
    subject: 'EHCP review paperwork for you to sign',
    text: `Hi Mark,\n\nCould you read through and sign off the attached before I send it to the LA? Main change is the request for extra hours.${signature(S.doyle, 'Thanks')}`,
    attachments: [{ filename: 'EHCP annual review - Year 5.docx', work: 'ehcp-review.docx' }],
    date: d(16, '11:50'),
    expect: [],
    note: 'EHCP review docx sent to the headteacher inside the school',
  },
  {
    file: 'sen-08-funding-question-to-la.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'Query about top-up funding bands',
    text: `Dear SEN Team,\n\nCould you clarify how the new top-up funding bands apply to pupils with EHCPs who move between bands mid-year? We have several children with autism and SEMH needs whose provision is changing in January, and I want to make sure our SEN budget forecast is right.\n\nIs there an updated guidance document for schools?${signature(S.doyle)}`,
    date: d(20, '14:30'),
    expect: [],
    note: 'General SEN/EHCP question to the LA, no pupil named',
  },

  {
    file: 'sen-09-zipcrypto-entry-named-after-pupil.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'EHCP review – encrypted zip',
    text: `Dear Sam,\n\nThe review paperwork is attached in an encrypted zip. I'll phone with the password.${signature(S.doyle)}`,
    attachments: [{ filename: 'EHCP review.zip', work: 'ehcp-named-zipcrypto.zip' }],
    date: d(17, '11:05'),
    expect: ['pupil-name-in-attachment-name'],
    note: "ZipCrypto zip (password sent separately) whose entry is named after the pupil: zip -P encrypts contents, not names",
  },
  {
    file: 'sen-10-7z-mhe-entry-named-after-pupil.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'EHCP review – encrypted 7z',
    text: `Dear Sam,\n\nThe review paperwork is attached as a 7-Zip archive with encrypted file names. I'll phone with the password.${signature(S.doyle)}`,
    attachments: [{ filename: 'EHCP review.7z', work: 'ehcp-named-mhe.7z' }],
    date: d(17, '11:10'),
    expect: [],
    note: '7z with encrypted headers (-mhe=on): the entry named after the pupil is hidden with the contents',
  },

  // --- Safeguarding and identifiers ------------------------------------------------------------
  {
    file: 'id-01-safeguarding-referral-upn-to-mash.eml',
    from: S.ashworth,
    to: ['mash@county.gov.uk'],
    subject: 'Referral – Year 6 pupil (urgent)',
    text: `Dear MASH Team,\n\nI am making a referral following a disclosure this morning.\n\n${knownAs(P.tyler)} (Year 6, ${P.tyler.regGroup}, DOB ${P.tyler.dob}, UPN ${P.tyler.upn}) told his class teacher that he and his younger brother had been left at home alone overnight and that there was no food in the house. Tyler came to school hungry and wearing yesterday's uniform. He was previously supported under a child in need plan, which closed in June. The concern has been recorded on CPOMS.\n\nMum is aware that we are making this referral. Please call me on ${SCHOOL_PHONE} to discuss.${signature(S.ashworth)}`,
    date: d(12, '10:55'),
    expect: ['identifier-in-message'],
    note: 'Safeguarding referral naming a pupil with a valid UPN in the body, to the LA front door (outside the school, unprotected)',
  },
  {
    file: 'id-02-concern-upn-internal.eml',
    from: S.thompson,
    to: [S.ashworth.email],
    subject: 'Concern – T.B. (6M)',
    text: `Hi Tom,\n\nLogged on CPOMS but flagging directly: ${knownAs(P.tyler)} (UPN ${P.tyler.upn}) arrived hungry again this morning and said he'd been at home on his own last night. Can we talk at break?${signature(S.thompson, 'Thanks')}`,
    date: d(12, '08:59'),
    expect: [],
    note: 'Safeguarding concern with UPN to the DSL inside the school',
  },
  {
    file: 'id-03-nhs-number-to-school-nurse.eml',
    from: S.office,
    to: ['school.nursing@nhs.net'],
    subject: 'Reception health questionnaire – I.C.',
    text: `Dear School Nursing Team,\n\nPlease see below the details you asked for so that you can match the health questionnaire for one of our Reception children:\n\n${knownAs(P.ivy)}, class ${P.ivy.regGroup}\nNHS number: ${IVY_NHS}\n\nMum has mentioned concerns about Ivy's hearing and would welcome a screening appointment.${signature(S.office)}`,
    date: d(18, '11:25'),
    expect: ['identifier-in-message'],
    note: 'Valid NHS number (mod 11) in the body to an outside (nhs.net) address',
  },
  {
    file: 'id-04-ni-number-to-payroll.eml',
    from: S.price,
    to: ['newstarters@northgatepayroll.co.uk'],
    subject: 'New starter – teaching assistant from 4 January',
    text: `Hi Payroll Team,\n\nPlease set up the following new starter:\n\nName: Hannah Riley\nRole: Teaching Assistant, grade 3, point 5, 32.5 hours term time\nStart date: 4 January 2027\nNI number: JT 48 29 13 C\nDate of birth: 14/07/1994\n\nThe signed contract and new starter form will follow by post.${signature(S.price)}`,
    date: d(20, '15:10'),
    expect: ['identifier-in-message'],
    note: 'Staff National Insurance number in the body to an outside payroll provider',
  },
  {
    file: 'id-05-transfer-upn-to-secondary.eml',
    from: S.office,
    to: ['admissions@northgate-academy.org.uk'],
    subject: 'In-year transfer – Year 6 pupil',
    text: `Dear Admissions,\n\nFurther to your phone call, here are the details for the pupil transferring to you after Christmas:\n\n${knownAs(P.daniel)}\nDate of birth: ${P.daniel.dob}\nUPN: ${P.daniel.upn}\nCurrent class: ${P.daniel.regGroup}\n\nWe will send the CTF through S2S once the move is confirmed.${signature(S.office)}`,
    date: d(25, '10:00'),
    expect: ['identifier-in-message'],
    note: 'Pupil transfer details with a valid UPN in the body to another school',
  },
  {
    file: 'id-06-invalid-upn-shaped-account-ref.eml',
    from: S.price,
    to: ['accounts@brightstationery.co.uk'],
    subject: `Statement query – account ${NOT_A_UPN}`,
    text: `Hello,\n\nOur October statement shows invoice 55120 twice. Our account reference with you is ${NOT_A_UPN}. Could you send a corrected statement?${signature(S.price)}`,
    date: d(19, '09:30'),
    expect: [],
    note: 'A supplier account reference shaped like a UPN but with the wrong check letter',
  },
  {
    file: 'id-07-lettings-invoice-bank-details.eml',
    from: S.price,
    to: ['northgate.zumba@gmail.com'],
    subject: 'Hall hire invoice – autumn 2',
    text: `Hi Michelle,\n\nPlease find attached the invoice for your Tuesday hall bookings this half-term. Payment can be made by bank transfer to Oakfield Primary School, sort code 20-45-77, account number 43917265, quoting LET-2026-117.${signature(S.price)}`,
    attachments: [{ filename: 'Invoice LET-2026-117.pdf', work: 'invoice.pdf' }],
    date: d(16, '16:20'),
    expect: [],
    note: "The school's own bank details on a lettings invoice to a hirer's Gmail (not a forward)",
  },

  // --- Newsletters and letters to parents ------------------------------------------------------
  {
    file: 'nl-01-newsletter-html-to-all-parents.eml',
    from: S.office,
    to: [S.office.email],
    bcc: allParents,
    subject: 'Oakfield News – Friday 13 November',
    text: newsletterText,
    html: html('Oakfield News', newsletterHtmlBody),
    date: d(13, '15:30'),
    expect: [],
    note: 'Newsletter to every parent: mentions safeguarding, SEN, EHCPs and medical needs in general, praises pupils by first name only (Grace, Jack, Ivy, Will, May, Summer, Rose, Hope)',
  },
  {
    file: 'nl-02-newsletter-pdf-to-parents.eml',
    from: S.office,
    to: [S.office.email],
    bcc: allParents,
    subject: 'This half-term’s newsletter',
    text: `Dear Parents and Carers,\n\nPlease find attached this half-term's newsletter. Paper copies are available from the office.${signature(S.office)}`,
    attachments: [{ filename: 'Oakfield News - 13 November.pdf', work: 'newsletter.pdf' }],
    date: d(13, '15:35'),
    expect: [],
    note: 'Newsletter as a PDF attachment to every parent',
  },
  {
    file: 'nl-03-reading-award-full-name.eml',
    from: S.nuttall,
    to: [S.nuttall.email],
    bcc: parentsOf(year3),
    subject: 'Year 3 reading champions',
    text: `Dear Year 3 Families,\n\nA huge congratulations to ${knownAs(P.oliver)} in 3K, who has now read 100 books at home this year and receives our Reading Champion certificate in Friday's assembly. Everyone else, keep those reading records coming in!${signature(S.nuttall, 'Best wishes')}`,
    date: d(20, '15:40'),
    expect: [],
    note: 'A pupil named in full in a celebration to class parents, with no personal data beyond the name',
  },
  {
    file: 'nl-04-year2-update.eml',
    from: S.patel,
    to: [S.patel.email],
    bcc: parentsOf(inYear('Year 2')),
    subject: 'Year 2 autumn update',
    text: `Dear Year 2 Parents and Carers,\n\nA quick update from the Year 2 team. PE is now on Tuesdays and Thursdays, so please send your child in their PE kit on those days. Spellings go out on Mondays and are tested on Fridays.\n\nIf your child uses an inhaler, please make sure we have one in class that is in date. Any child with medical needs should have an up-to-date care plan with the office.${signature(S.patel, 'Many thanks')}`,
    date: d(9, '16:05'),
    expect: [],
    note: 'Class update to parents mentioning inhalers and medical needs in general',
  },

  // --- Trips -------------------------------------------------------------------------------------
  {
    file: 'tr-01-trip-letter-docx-to-parents.eml',
    from: S.hart,
    to: [S.hart.email],
    bcc: parentsOf(year4),
    subject: 'Year 4 trip to Northgate Museum – Thursday 26 November',
    text: `Dear Parents and Carers,\n\nPlease find attached a letter about our Year 4 museum visit. Payment and consent are due on ParentPay by Friday 20 November.${signature(S.hart, 'Best wishes')}`,
    attachments: [{ filename: 'Year 4 museum trip letter.docx', work: 'trip-letter.docx' }],
    date: d(16, '15:45'),
    expect: [],
    note: 'Trip letter (docx) to parents: cost, lunch, medical needs in general',
  },
  {
    file: 'tr-02-coach-booking-numbers-only.eml',
    from: S.hart,
    to: [COACH],
    subject: 'Coach booking – Thursday 26 November',
    text: `Hi Gary,\n\nCould we book a coach for Thursday 26 November for our Year 4 museum visit? We will have 58 passengers (52 pupils and 6 adults). Pick-up from school at 9.15am, returning from Northgate Museum at 2.15pm. Please could you confirm the price and that the coach has seat belts fitted?${signature(S.hart, 'Many thanks')}`,
    date: d(2, '10:10'),
    expect: [],
    note: 'Coach booking with numbers only',
  },
  {
    file: 'tr-03-residential-letter-pdf.eml',
    from: S.thompson,
    to: [S.thompson.email],
    bcc: parentsOf(year6),
    subject: 'Year 6 residential – final arrangements',
    text: `Dear Year 6 Parents and Carers,\n\nPlease see the attached letter about the Kingswood residential, including the medical form and the information evening.${signature(S.thompson)}`,
    attachments: [{ filename: 'Year 6 residential letter.pdf', work: 'residential-letter.pdf' }],
    date: d(24, '16:00'),
    expect: [],
    note: 'Residential letter PDF to parents',
  },

  // --- Inside the school ---------------------------------------------------------------------
  {
    file: 'in-01-staff-meeting-minutes.eml',
    from: S.head,
    to: ['staff@oakfield.sch.uk'],
    subject: 'Staff meeting minutes – 10 November',
    text: `Dear all,\n\nMinutes from Tuesday's meeting:\n\n1. SEN: KD reminded teachers to update SEN support plans by 27 November. ${knownAs(P.ellis)}'s annual review is booked for 12 November.\n2. Safeguarding: attendance concerns about ${knownAs(P.tyler)} to be passed to the DSL. Reminder that all concerns go on CPOMS the same day.\n3. Medical: ${knownAs(P.oliver)}'s healthcare plan has been updated (EpiPens in the office).\n4. Assessment: data drop 4 December.\n\nThanks everyone.${signature(S.head, 'Best wishes')}`,
    date: d(11, '17:20'),
    expect: [],
    note: 'Internal minutes naming pupils with SEN, safeguarding and medical details: internal mail is not held',
  },
  {
    file: 'in-02-name-in-subject-internal.eml',
    from: S.whitfield,
    to: [S.doyle.email],
    subject: `${knownAs(P.zoe)} – reading assessment`,
    text: `Hi Karen,\n\nI've finished the reading assessment for Zoë. Her reading age is 8y 2m, which is lower than I expected. Could we talk about whether she needs a place in the reading intervention group?${signature(S.whitfield, 'Thanks')}`,
    date: d(18, '15:50'),
    expect: [],
    note: "A pupil's name in the subject of an internal email (the rule applies outside the school by default)",
  },
  {
    file: 'in-03-named-photo-internal.eml',
    from: S.okafor,
    to: [S.head.email],
    subject: 'Netball photo for the website?',
    text: `Hi Mark,\n\nGreat photo from the netball tournament attached. Consent is on file, so OK to use on the website with first name only?${signature(S.okafor, 'Cheers')}`,
    attachments: [{ filename: 'Niamh Gallagher netball.jpg', work: 'photo-sports.jpg' }],
    date: d(21, '13:00'),
    expect: [],
    note: 'Photo named after a pupil sent inside the school',
  },

  // --- Forwards to personal accounts ---------------------------------------------------------------
  {
    file: 'fw-01-fwd-own-gmail.eml',
    from: S.whitfield,
    to: ['sarahwhitfield82@gmail.com'],
    subject: "Fwd: Year 5 parents' evening rota",
    text: `So I can look at this at home.\n\n${fwdBlock(`Claire Morgan <${S.office.email}>`, 'Mon, 16 Nov 2026 at 12:02', "Year 5 parents' evening rota", 'Year 5 Team <year5@oakfield.sch.uk>', "Hi both,\n\nHere is the rota for parents' evening on 24 and 25 November. Appointments are 10 minutes. Please let me know by Friday if you need any changes.\n\nClaire")}`,
    date: d(16, '18:40'),
    expect: ['forward-to-personal-domain'],
    note: "Fwd: with a Gmail forwarded-message block to the sender's own Gmail (its worst case)",
  },
  {
    file: 'fw-02-wg-german-client.eml',
    from: S.becker,
    to: ['katrin.becker.privat@gmail.com'],
    subject: 'WG: Elternbrief Austausch Hamburg',
    text: `---------- Weitergeleitete Nachricht ---------\nVon: Mark Holloway <${S.head.email}>\nDatum: Mo., 16. Nov. 2026 um 09:12\nBetreff: Elternbrief Austausch Hamburg\nAn: Katrin Becker <${S.becker.email}>\n\nHi Katrin,\n\nCould you draft the letter to parents about the Hamburg pen-pal exchange? Costs are in the attached spreadsheet on the shared drive.\n\nThanks, Mark`,
    date: d(16, '20:15'),
    expect: ['forward-to-personal-domain'],
    note: 'German mail client forward (WG:, "Weitergeleitete Nachricht") to personal Gmail',
  },
  {
    file: 'fw-03-tr-french-client.eml',
    from: S.dupont,
    to: ['elodie.dupont75@outlook.com'],
    subject: 'TR: Planning des ateliers de français',
    text: `-------- Message transféré --------\nSujet : Planning des ateliers de français\nDate : Tue, 17 Nov 2026 10:02\nDe : Katrin Becker <${S.becker.email}>\nPour : Élodie Dupont <${S.dupont.email}>\n\nHi Élodie,\n\nHere is the plan for the French club sessions after Christmas. Year 3 on Mondays, Year 4 on Wednesdays.\n\nKatrin`,
    date: d(17, '19:30'),
    expect: ['forward-to-personal-domain'],
    note: 'French mail client forward (TR:, "Message transféré") to personal Outlook.com',
  },
  {
    file: 'fw-04-attached-eml-to-partner.eml',
    from: S.nuttall,
    to: ['mike.h1979@gmail.com'],
    subject: 'Cover arrangements for next week',
    text: 'This is the one I was telling you about – can you believe it?',
    attachments: [
      {
        filename: 'Cover arrangements w-c 23 November.eml',
        message: {
          from: S.head,
          to: ['staff@oakfield.sch.uk'],
          subject: 'Cover arrangements w/c 23 November',
          text: `Dear all,\n\nWith three colleagues on courses next week, cover will be tight. PPA for Year 3 moves to Thursday afternoon and Mrs Nuttall will cover 3K on Wednesday morning.\n\nThanks for your flexibility.${signature(S.head, 'Best wishes')}`,
          date: d(20, '16:30'),
        },
      },
    ],
    date: d(20, '19:05'),
    expect: ['forward-to-personal-domain'],
    note: "School email attached as .eml (message/rfc822), no Fwd: prefix, to a family member's Gmail",
  },
  {
    file: 'fw-05-resent-headers-to-outlook.eml',
    from: S.ashworth,
    headerFrom: '"LA Safeguarding Training" <safeguarding.training@county.gov.uk>',
    to: [S.ashworth.email],
    envelopeTo: ['tom.ashworth77@outlook.com'],
    subject: 'DSL refresher training dates 2027',
    text: `Dear Designated Safeguarding Leads,\n\nBookings are now open for the 2027 DSL refresher training. Sessions run on 14 January, 11 March and 6 May at County Hall. Please book through the CPD portal.\n\nLA Safeguarding Training Team`,
    headers: {
      'Resent-From': `"${S.ashworth.name}" <${S.ashworth.email}>`,
      'Resent-To': 'tom.ashworth77@outlook.com',
      'Resent-Date': d(18, '21:02'),
      'Resent-Message-ID': '<resent-7781@oakfield.sch.uk>',
    },
    date: d(18, '14:00'),
    expect: ['forward-to-personal-domain'],
    note: "Message resent (Resent-* headers, original From kept) to the sender's own Outlook.com",
  },
  {
    file: 'fw-06-exchange-inbox-rule-to-icloud.eml',
    from: S.doyle,
    headerFrom: '"SEND Panel" <send.panel@county.gov.uk>',
    to: [S.doyle.email],
    envelopeTo: ['karendoyle@icloud.com'],
    subject: 'SEND panel dates – spring term',
    text: `Dear SENCos,\n\nThe SEND panel will meet on 13 January, 10 February and 10 March. Requests for statutory assessment must be submitted two weeks before the panel date.\n\nSEND Panel Administrator`,
    headers: { 'X-MS-Exchange-Inbox-Rules-Loop': S.doyle.email },
    date: d(19, '08:30'),
    expect: ['forward-to-personal-domain'],
    note: "Exchange inbox rule redirect (X-MS-Exchange-Inbox-Rules-Loop) to the SENCo's own iCloud",
  },
  {
    file: 'fw-07-fwd-newsletter-to-parent.eml',
    from: S.office,
    to: [P.zoe.primaryContactEmail],
    subject: 'Fwd: Oakfield News – Friday 13 November',
    text: `Hi Mrs Smith,\n\nAs requested, here's last week's newsletter again.\n\n${fwdBlock(`Claire Morgan <${S.office.email}>`, 'Fri, 13 Nov 2026 at 15:30', 'Oakfield News – Friday 13 November', `<${S.office.email}>`, newsletterText)}${signature(S.office)}`,
    date: d(19, '09:05'),
    expect: [],
    note: 'A forward of the newsletter to a parent listed in the roster (Gmail): not the forwarding rule',
  },
  {
    file: 'fw-08-fw-to-supplier.eml',
    from: S.price,
    to: ['accounts@brightstationery.co.uk'],
    subject: 'FW: Remittance advice 55120',
    text: `Hello,\n\nPlease see the remittance below; payment was made on 13 November.\n\n-----Original Message-----\nFrom: Northgate Schools Finance <schools.finance@county.gov.uk>\nSent: 13 November 2026 10:14\nTo: ${S.price.name} <${S.price.email}>\nSubject: Remittance advice 55120\n\nPayment of £412.60 to Bright Stationery Ltd has been released.${signature(S.price)}`,
    date: d(19, '09:35'),
    expect: [],
    note: 'A forward to a business address (not personal webmail)',
  },
  {
    file: 'fw-09-fwd-named-subject-own-hotmail.eml',
    from: S.whitfield,
    to: ['swhitfield.home@hotmail.co.uk'],
    subject: `Fwd: ${knownAs(P.zoe)} – reading assessment`,
    text: fwdBlock(`Karen Doyle <${S.doyle.email}>`, 'Wed, 18 Nov 2026 at 16:20', `${knownAs(P.zoe)} – reading assessment`, `Sarah Whitfield <${S.whitfield.email}>`, 'Hi Sarah,\n\nYes, let\'s add her to the reading intervention group from Monday. I\'ll put her on the SEN support register too.\n\nKaren'),
    date: d(18, '19:45'),
    expect: ['forward-to-personal-domain', 'pupil-name-in-subject', 'personal-data-in-body'],
    note: "Fwd: of a thread with a pupil's full name in the subject to the sender's own Hotmail; the quoted text puts her on the SEN support register",
  },
  {
    file: 'fw-10-reply-to-applicant-gmail.eml',
    from: S.office,
    to: ['j.okoro.ta@gmail.com'],
    subject: 'Re: Teaching Assistant vacancy – interview invitation',
    text: `Dear Joy,\n\nThank you for confirming. We look forward to seeing you on Tuesday 1 December at 10am. Please bring photo ID and proof of your right to work in the UK for our safer recruitment checks.${signature(S.office)}`,
    date: d(23, '12:30'),
    expect: [],
    note: "A reply to a job applicant's Gmail: personal webmail, but not a forward",
  },
  {
    file: 'fw-11-apple-mail-begin-forwarded.eml',
    from: S.lawson,
    to: ['emma.lawson.eyfs@icloud.com'],
    subject: 'EYFS moderation notes',
    text: `Begin forwarded message:\n\nFrom: Early Years Team <early.years@county.gov.uk>\nSubject: EYFS moderation notes\nDate: 17 November 2026 at 16:48:12 GMT\nTo: ${S.lawson.email}\n\nDear EYFS Leads,\n\nThank you for attending moderation. Notes and the updated exemplification materials are on the portal.\n\nEarly Years Team`,
    date: d(17, '21:10'),
    expect: ['forward-to-personal-domain'],
    note: 'Apple Mail "Begin forwarded message:" with the prefix removed from the subject, to own iCloud',
  },
  {
    file: 'fw-12-outlook-original-message.eml',
    from: S.price,
    to: ['janetprice64@outlook.com'],
    subject: 'FW: Budget monitoring – period 7',
    text: `\n\n-----Original Message-----\nFrom: Schools Finance <schools.finance@county.gov.uk>\nSent: 18 November 2026 09:30\nTo: ${S.price.name} <${S.price.email}>\nSubject: Budget monitoring – period 7\n\nPlease return your period 7 budget monitoring by 30 November.`,
    date: d(18, '22:05'),
    expect: ['forward-to-personal-domain'],
    note: "Outlook FW: with an -----Original Message----- block to the business manager's own Outlook.com",
  },
  {
    file: 'fw-13-rv-spanish-client.eml',
    from: S.garcia,
    to: ['lucia.garcia.profe@gmail.com'],
    subject: 'RV: Horario de clases de español',
    text: `---------- Mensaje reenviado ---------\nDe: Mark Holloway <${S.head.email}>\nDate: lun, 16 nov 2026 a las 11:03\nSubject: Horario de clases de español\nTo: Lucía García <${S.garcia.email}>\n\nHi Lucía,\n\nHere is the new timetable for Spanish from January.\n\nMark`,
    date: d(16, '20:40'),
    expect: ['forward-to-personal-domain'],
    note: 'Spanish mail client forward (RV:, "Mensaje reenviado") to own Gmail',
  },

  // --- Subjects ----------------------------------------------------------------------------------
  {
    file: 'su-01-full-name-subject-to-nhs.eml',
    from: S.doyle,
    to: ['slt.referrals@nhs.net'],
    subject: `${knownAs(P.liam)} – speech and language referral`,
    text: `Dear SALT Team,\n\nI am following up the referral we discussed for L.O. in Year 6. Parents have given consent. Please let me know if you need anything further from school.${signature(S.doyle)}`,
    date: d(19, '11:45'),
    expect: ['pupil-name-in-subject'],
    note: "Pupil's full name with an apostrophe (O'Brien) in the subject to the NHS",
  },
  {
    file: 'su-02-hyphenated-name-subject.eml',
    from: S.okafor,
    to: [POOL],
    subject: `${knownAs(P.grace)} - Year 4 swimming assessment`,
    text: `Hi Jo,\n\nCould Grace be moved up to the Dolphins group after Christmas? She swam 50m confidently last week.${signature(S.okafor, 'Thanks')}`,
    date: d(20, '10:30'),
    expect: ['pupil-name-in-subject'],
    note: 'Full name with a word forename and a hyphenated surname (Grace Smith-Jones) in the subject',
  },
  {
    file: 'su-03-surname-comma-forename-subject.eml',
    from: S.office,
    to: ['admissions@northgate-academy.org.uk'],
    subject: `${P.daniel.legalSurname.toUpperCase()}, ${P.daniel.legalForename} – transition to Year 7`,
    text: `Dear Admissions,\n\nThank you for your request. Daniel's records will be sent through S2S as a CTF once the allocation is confirmed.${signature(S.office)}`,
    date: d(24, '10:10'),
    expect: ['pupil-name-in-subject'],
    note: '"SURNAME, Forename" form in the subject to another school',
  },
  {
    file: 'su-12-legal-forename-to-partner.eml',
    from: S.thompson,
    to: ['sats.admin@county.gov.uk'],
    subject: `${P.will.legalForename} ${P.will.legalSurname} – KS2 access arrangements`,
    text: `Dear SATs Team,\n\nPlease could you confirm that the application for extra time for one of our Year 6 pupils has been received? The evidence is held in school.${signature(S.thompson)}`,
    date: d(25, '09:20'),
    expect: ['pupil-name-in-subject'],
    note: 'Legal forename (William; known as Will) and surname in the subject, to the local authority (a partner, still outside the school)',
  },
  {
    file: 'su-04-grace-period-homework.eml',
    from: S.whitfield,
    to: [S.whitfield.email],
    bcc: parentsOf(year5),
    subject: 'Grace period for homework',
    text: `Dear Parents and Carers,\n\nBecause of the problems with the homework website this week, we are giving a grace period until Monday for the maths homework. Children who haven't been able to log in can hand in a paper copy instead.${signature(S.whitfield, 'Many thanks')}`,
    date: d(20, '16:10'),
    expect: [],
    note: '"Grace" as an ordinary word in the subject',
  },
  {
    file: 'su-05-will-you-come.eml',
    from: S.office,
    to: [S.office.email],
    bcc: allParents,
    subject: 'Will you come? Summer fair volunteers needed',
    text: `Dear Families,\n\nWill you come and help at the summer fair? The Friends of Oakfield need volunteers for the cake stall, tombola and car parking. Even an hour makes a difference!${signature(S.office)}`,
    date: d(23, '15:00'),
    expect: [],
    note: '"Will" and "Summer" as ordinary words in the subject',
  },
  {
    file: 'su-06-may-half-term.eml',
    from: S.office,
    to: [S.office.email],
    bcc: allParents,
    subject: 'May half-term dates and INSET days',
    text: `Dear Parents and Carers,\n\nPlease note that May half-term runs from Monday 31 May to Friday 4 June. There will be INSET days on Friday 28 May and Monday 7 June, when school is closed to pupils.${signature(S.office)}`,
    date: d(24, '15:20'),
    expect: [],
    note: '"May" as a month in the subject',
  },
  {
    file: 'su-07-thompson-will-cover.eml',
    from: S.head,
    to: ['bookings@northgatesupply.co.uk'],
    subject: 'Mr Thompson will cover 6M on Friday – supply needed for 2B',
    text: `Hi Dean,\n\nMr Thompson will cover his own class on Friday after all, so we now only need a supply teacher for Year 2 (2B). Same times as usual, 8.30am to 3.30pm.${signature(S.head)}`,
    date: d(25, '07:45'),
    expect: [],
    note: '"Thompson will" (staff surname + the verb "will"; a pupil is called Will Thompson) in the subject',
  },
  {
    file: 'su-08-two-word-name-subject.eml',
    from: S.okafor,
    to: [POOL],
    subject: `${knownAs(P.jack)} – swimming kit left at the pool`,
    text: `Hi Jo,\n\nOne of our Year 2 boys left his swimming bag in the changing rooms on Tuesday. Could you keep it aside for us?${signature(S.okafor, 'Thanks')}`,
    date: d(19, '14:05'),
    expect: ['pupil-name-in-subject'],
    note: 'A pupil whose forename and surname are both ordinary words (Jack Hill), capitalised, in the subject',
  },
  {
    file: 'su-09-patel-may-be-late.eml',
    from: S.head,
    to: ['school.improvement@county.gov.uk'],
    subject: 'Moderation on Thursday – Mrs Patel may be late',
    text: `Hi Andrew,\n\nJust to let you know that Mrs Patel may be a little late to the KS1 moderation on Thursday as she has a hospital appointment in the morning.${signature(S.head)}`,
    date: d(23, '08:15'),
    expect: [],
    note: '"Patel may" (staff surname + the verb "may"; a pupil is called May Patel) in the subject',
  },
  {
    file: 'su-10-hope-rose-class.eml',
    from: S.office,
    to: [S.office.email],
    bcc: parentsOf(year4),
    subject: 'Hope you can make it – Rose Class assembly on Friday',
    text: `Dear Parents and Carers,\n\nRose Class will be leading our celebration assembly on Friday at 9am. We hope you can make it!${signature(S.office)}`,
    date: d(24, '12:00'),
    expect: [],
    note: '"Hope" and "Rose" as ordinary words in the subject',
  },
  {
    file: 'su-11-name-without-diacritic.eml',
    from: S.whitfield,
    to: [TUTOR],
    subject: 'Zoe Smith - maths tuition notes',
    text: `Hi Ruth,\n\nAs agreed with her parents, here are the areas we'd like the tutoring to focus on: fractions, long multiplication and reasoning problems.${signature(S.whitfield, 'Best wishes')}`,
    date: d(23, '16:45'),
    expect: ['pupil-name-in-subject'],
    note: 'Full name written without the diacritic (roster: Zoë) in the subject to a tutoring company',
  },

  // --- Attachment file names ----------------------------------------------------------------------
  {
    file: 'fn-01-named-photo-to-newspaper.eml',
    from: S.okafor,
    to: ['newsdesk@northgateecho.co.uk'],
    subject: 'Sports day photo for Friday’s paper',
    text: `Hi,\n\nAs discussed, here's a photo from our sports day of the Year 6 100m winner. Parental consent for publication is on file.${signature(S.okafor, 'Thanks')}`,
    attachments: [{ filename: 'Niamh_Gallagher_sports_day.jpg', work: 'photo-sports.jpg' }],
    date: d(20, '11:15'),
    expect: ['pupil-name-in-attachment-name'],
    note: "A photo file named after a pupil to a newspaper",
  },
  {
    file: 'fn-02-named-report-docx-to-tutor.eml',
    from: S.whitfield,
    to: [TUTOR],
    subject: 'Interim report for tuition',
    text: `Hi Ruth,\n\nAs agreed with her parents, I attach the interim report so that you can see where she is at.${signature(S.whitfield, 'Best wishes')}`,
    attachments: [{ filename: 'Zoe_Smith_report.docx', work: 'zoe-report.docx' }],
    date: d(23, '16:50'),
    expect: ['pupil-name-in-attachment-name'],
    note: 'A report docx named after the pupil (Zoe_Smith_report.docx); content names one pupil only, below the sensitivity threshold',
  },
  {
    file: 'fn-03-trip-photos-img-names.eml',
    from: S.hart,
    to: [S.hart.email],
    bcc: parentsOf(year4),
    subject: 'Photos from our museum trip',
    text: `Dear Parents and Carers,\n\nWe had a fantastic day at Northgate Museum! Here are a couple of photos of the Roman soldier workshop.${signature(S.hart, 'Best wishes')}`,
    attachments: [
      { filename: 'IMG_2041.jpg', work: 'photo-trip.jpg' },
      { filename: 'IMG_2044.jpg', work: 'photo-trip.jpg' },
    ],
    date: d(26, '15:50'),
    expect: [],
    note: 'Trip photos with camera file names to parents',
  },
  {
    file: 'fn-04-apostrophe-name-photo-to-county.eml',
    from: S.okafor,
    to: ['sports.partnership@county.gov.uk'],
    subject: 'Cross-country photos',
    text: `Hi Lou,\n\nPhoto from Saturday's county cross-country for the partnership newsletter. Consent is on file.${signature(S.okafor, 'Cheers')}`,
    attachments: [{ filename: `${knownAs(P.liam)} cross country.jpg`, work: 'photo-xc.jpg' }],
    date: d(16, '12:25'),
    expect: ['pupil-name-in-attachment-name'],
    note: "Photo named with a pupil's name containing an apostrophe, to the county sports partnership",
  },
  {
    file: 'fn-05-grace-period-policy-pdf.eml',
    from: S.office,
    to: [S.office.email],
    bcc: parentsOf(year5),
    subject: 'Homework policy update',
    text: `Dear Parents and Carers,\n\nPlease find attached our updated homework policy.${signature(S.office)}`,
    attachments: [{ filename: 'Grace_period_homework_policy.pdf', work: 'grace-period.pdf' }],
    date: d(24, '12:40'),
    expect: [],
    note: '"Grace" as an ordinary word in an attachment name',
  },
  {
    file: 'fn-06-summer-fair-poster.eml',
    from: S.office,
    to: ['info@northgate-community-radio.co.uk'],
    subject: 'Oakfield summer fair – poster',
    text: `Hello,\n\nCould you mention our summer fair on air? Poster attached.${signature(S.office)}`,
    attachments: [{ filename: 'Summer_Fair_poster.pdf', work: 'summer-fair.pdf' }],
    date: d(25, '11:30'),
    expect: [],
    note: '"Summer" as an ordinary word in an attachment name',
  },

  {
    file: 'fn-07-named-photo-inside-zip.eml',
    from: S.okafor,
    to: ['newsdesk@northgateecho.co.uk'],
    subject: 'Sports day – more photos',
    text: `Hi,\n\nA couple more from sports day, zipped up to get under your size limit.${signature(S.okafor, 'Thanks')}`,
    attachments: [{ filename: 'Sports day photos.zip', work: 'sports-day-photos.zip' }],
    date: d(20, '11:40'),
    expect: ['pupil-name-in-attachment-name'],
    note: 'A photo named after a pupil inside an unencrypted zip',
  },

  // --- Passwords without an encrypted attachment, or in the subject ----------------------------------
  {
    file: 'pw-01-parent-portal-password.eml',
    from: S.office,
    to: [P.rose.primaryContactEmail],
    subject: 'Your ParentPay account',
    text: `Dear Mrs Nowak,\n\nYour ParentPay account has been reset. Your temporary password is Oak7-Lamp-22; you will be asked to change it when you first log in.${signature(S.office)}`,
    date: d(17, '09:15'),
    expect: [],
    note: 'A password in an email with no encrypted attachment',
  },
  {
    file: 'pw-02-password-in-subject.eml',
    from: S.ashworth,
    to: ['attendance@county.gov.uk'],
    subject: 'Persistent absence data (password: Lapwing-0311)',
    text: `Dear Attendance Team,\n\nOur persistent absence data for autumn 1 is attached as an encrypted zip file.${signature(S.ashworth)}`,
    attachments: [{ filename: 'Persistent absence autumn 1.zip', work: 'attendance-zipcrypto.zip' }],
    date: d(12, '15:05'),
    expect: ['password-in-same-email'],
    note: 'Encrypted zip with its password in the subject line',
  },

  // --- Misdirected pupil data -----------------------------------------------------------------------
  {
    file: 'md-01-healthcare-letter-to-wrong-parent.eml',
    from: S.nuttall,
    to: [P.amelia.primaryContactEmail],
    subject: 'Individual healthcare plan – please check',
    text: `${oliverLetter}${signature(S.nuttall)}`,
    date: d(18, '16:30'),
    expect: ['misdirected-pupil-data'],
    note: "Letter about Oliver Wright (DOB, asthma, allergy) sent to Amelia Hughes's parent (roster: parent of Amelia only)",
  },
  {
    file: 'md-02-healthcare-letter-to-own-parent.eml',
    from: S.nuttall,
    to: [P.oliver.primaryContactEmail],
    subject: 'Individual healthcare plan – please check',
    text: `${oliverLetter}${signature(S.nuttall)}`,
    date: d(18, '16:31'),
    expect: [],
    note: "The same letter to Oliver's own parent",
  },
  {
    file: 'md-03-healthcare-plan-docx-to-wrong-parent.eml',
    from: S.nuttall,
    to: [P.amelia.primaryContactEmail],
    subject: 'Updated care plan',
    text: `Dear Mrs Wright,\n\nPlease find attached the updated healthcare plan. Please check it and let me know of any changes.${signature(S.nuttall)}`,
    attachments: [{ filename: 'Individual healthcare plan.docx', work: 'healthcare-plan.docx' }],
    date: d(18, '16:40'),
    expect: ['unencrypted-sensitive-attachment', 'misdirected-pupil-data'],
    note: "Unprotected healthcare plan docx about Oliver Wright to Amelia Hughes's parent",
  },
  {
    file: 'md-04-healthcare-plan-docx-to-own-parent.eml',
    from: S.nuttall,
    to: [P.oliver.primaryContactEmail],
    subject: 'Updated care plan',
    text: `Dear Mrs Wright,\n\nPlease find attached the updated healthcare plan. Please check it and let me know of any changes.${signature(S.nuttall)}`,
    attachments: [{ filename: 'Individual healthcare plan.docx', work: 'healthcare-plan.docx' }],
    date: d(18, '16:41'),
    expect: ['unencrypted-sensitive-attachment'],
    note: "Unprotected healthcare plan (special-category + DOB) to the pupil's own parent: still outside the school, so the schools' policy wants it encrypted",
  },
  {
    file: 'md-05-sibling-letter-shared-contact.eml',
    from: S.office,
    to: [P.daniel.primaryContactEmail],
    subject: 'Medication consent form',
    text: `Dear Mrs Adeyemi,\n\nThank you for dropping off Daniel's new medication. Before we can give it in school we need a signed consent form:\n\nPupil: ${knownAs(P.daniel)} (${P.daniel.regGroup})\nDate of birth: ${P.daniel.dob}\nMedication: methylphenidate 10mg at lunchtime (ADHD)\n\nHope's permission slip for the choir festival is also still outstanding.${signature(S.office)}`,
    date: d(17, '13:50'),
    expect: [],
    note: "Medical letter about Daniel Adeyemi to the contact he shares with his sister Hope (parent of both)",
  },
  {
    file: 'md-06-healthcare-letter-cc-wrong-parent.eml',
    from: S.nuttall,
    to: [P.oliver.primaryContactEmail],
    cc: [P.amelia.primaryContactEmail],
    subject: 'Individual healthcare plan – please check',
    text: `${oliverLetter}${signature(S.nuttall)}`,
    date: d(18, '16:35'),
    expect: ['misdirected-pupil-data'],
    note: "The healthcare letter to Oliver's parent with Amelia Hughes's parent wrongly in Cc",
  },

  {
    file: 'md-07-form-style-letter-to-other-family.eml',
    from: S.office,
    to: [P.zoe.contact2Email],
    subject: 'Allergy information form',
    text: `Dear Parent/Carer,\n\nPlease could you check the details we hold and reply to confirm?\n\nChild: ${P.oliver.legalSurname.toUpperCase()}, ${P.oliver.legalForename}\nD.O.B. ${P.oliver.dob.replace(/\//g, '.')}\nClass: ${P.oliver.regGroup}\nAllergy: peanuts (anaphylaxis – EpiPen)\n\nThank you.${signature(S.office)}`,
    date: d(19, '10:15'),
    expect: ['misdirected-pupil-data'],
    note: "Form-style letter about Oliver Wright (SURNAME, Forename; D.O.B. with dots; allergy) sent to a contact the roster lists for Zoë Smith only",
  },

  // --- Uninspectable -------------------------------------------------------------------------------------
  {
    file: 'un-01-truncated-docx.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'Provision map – autumn term',
    text: `Dear Sam,\n\nOur provision map for the autumn term is attached, as requested for the SEN audit.${signature(S.doyle)}`,
    attachments: [{ filename: 'Provision map autumn 2026.docx', work: 'provision-map-truncated.docx' }],
    date: d(25, '13:30'),
    expect: ['uninspectable-attachment'],
    note: 'A docx cut off part-way (corrupt: no central directory)',
  },
  {
    file: 'un-02-truncated-xlsx.eml',
    from: S.hart,
    to: [COACH],
    subject: 'Numbers for Thursday',
    text: `Hi Gary,\n\nUpdated numbers attached.${signature(S.hart, 'Thanks')}`,
    attachments: [{ filename: 'Coach numbers.xlsx', work: 'y4-groups-truncated.xlsx' }],
    date: d(24, '17:00'),
    expect: ['uninspectable-attachment'],
    note: 'An xlsx cut off part-way (corrupt)',
  },

  // --- Ordinary business ------------------------------------------------------------------------------
  {
    file: 'bz-01-stationery-quote.eml',
    from: S.price,
    to: ['sales@brightstationery.co.uk'],
    subject: 'Quote request – exercise books',
    text: `Hello,\n\nCould you quote for the following, delivered to school before 4 January?\n\n200 x A4 exercise books, 8mm ruled, blue\n150 x A4 maths books, 10mm squared\n30 x A3 sugar paper packs, assorted\n\nOur account number is OAK114.${signature(S.price)}`,
    date: d(10, '10:40'),
    expect: [],
    note: 'Supplier quote request',
  },
  {
    file: 'bz-02-catering-invoice-query.eml',
    from: S.price,
    to: ['accounts@northgatecatering.co.uk'],
    subject: 'Invoice 2026-117 query',
    text: `Hi,\n\nInvoice 2026-117 charges for 1,240 meals in October but our records show 1,198 (two days of the Year 6 trip). Could you check and reissue?${signature(S.price)}`,
    date: d(11, '11:20'),
    expect: [],
    note: 'Invoice query to the caterer',
  },
  {
    file: 'bz-03-job-reference.eml',
    from: S.head,
    to: ['hr@westfield-primary.org.uk'],
    subject: 'Reference for Ms Hannah Riley',
    text: `Dear Mrs Osei,\n\nI am pleased to provide a reference for Hannah Riley, who has worked at Oakfield as a teaching assistant since September 2022.\n\nHannah supports pupils with SEN in Year 3 and runs our lunchtime nurture group. She is reliable, warm and builds excellent relationships with children and families. Her attendance has been excellent and there are no disciplinary or safeguarding concerns.\n\nI recommend her without hesitation.${signature(S.head, 'Yours sincerely')}`,
    date: d(12, '14:00'),
    expect: [],
    note: 'Job reference for a member of staff: no pupil data, general SEN/safeguarding wording',
  },
  {
    file: 'bz-04-meal-numbers.eml',
    from: S.office,
    to: ['orders@northgatecatering.co.uk'],
    subject: 'Meal numbers w/c 23 November',
    text: `Hi,\n\nMeal numbers for next week: Monday 236, Tuesday 241, Wednesday 238, Thursday 190 (Year 4 trip – 52 packed lunches instead), Friday 244.\n\nWe also need 4 dairy-free and 2 halal options daily as usual.${signature(S.office)}`,
    date: d(19, '13:20'),
    expect: [],
    note: 'Meal numbers to the caterer',
  },
  {
    file: 'bz-05-it-support.eml',
    from: S.price,
    to: ['support@edutech-it.co.uk'],
    subject: 'Ticket 48213 – Year 5 printer not connecting',
    text: `Hi,\n\nThe printer in the Year 5 classroom (HP M479, asset OAK-PR-07) still can't be seen from the staff laptops after the update on Monday. Could someone look at it remotely today?${signature(S.price)}`,
    date: d(17, '08:20'),
    expect: [],
    note: 'IT support ticket',
  },
  {
    file: 'bz-06-boiler-service.eml',
    from: S.price,
    to: ['service@northgate-heating.co.uk'],
    subject: 'Boiler service and radiator in the hall',
    text: `Hello,\n\nCould you book in our annual boiler service during the Christmas holidays? Also the radiator at the back of the hall is cold at the top, so it may need bleeding.${signature(S.price)}`,
    date: d(18, '09:00'),
    expect: [],
    note: 'Building maintenance',
  },
  {
    file: 'bz-07-census-query.eml',
    from: S.office,
    to: ['census@county.gov.uk'],
    subject: 'Autumn census query – DfE 919/2041',
    text: `Dear Census Team,\n\nOur autumn census return (DfE 919/2041) shows 314 pupils on roll but the validation report says 313. We think one pupil who joined on census day was counted twice in the error report. Could you advise?${signature(S.office)}`,
    date: d(5, '14:15'),
    expect: [],
    note: 'School census query with numbers and the DfE establishment number only',
  },
  {
    file: 'bz-08-pe-kit-order-csv.eml',
    from: S.okafor,
    to: ['orders@kitroom-sports.co.uk'],
    subject: 'Order – PE kit for spring term',
    text: `Hi,\n\nPlease find our order attached. Delivery to the school office please.${signature(S.okafor, 'Thanks')}`,
    attachments: [{ filename: 'PE kit order.csv', text: PE_KIT_CSV, contentType: 'text/csv' }],
    date: d(20, '12:05'),
    expect: [],
    note: 'Kit order CSV with sizes and quantities, no names',
  },
  {
    file: 'bz-09-governors-agenda-to-personal.eml',
    from: S.head,
    to: ['pat.greaves.gov@gmail.com', 'r.abbasi1960@btinternet.com', 'david.lowther@outlook.com'],
    subject: 'Full governing body – agenda for 1 December',
    text: `Dear Governors,\n\nPlease find attached the agenda for our meeting on Tuesday 1 December at 6pm. Papers will follow by the end of the week.${signature(S.head, 'Best wishes')}`,
    attachments: [{ filename: 'FGB agenda 1 December.docx', work: 'agenda.docx' }],
    date: d(24, '18:10'),
    expect: [],
    note: "A new email (not a forward) to governors' personal addresses",
  },
  {
    file: 'bz-10-lost-property-to-parent.eml',
    from: S.office,
    to: [P.isla.primaryContactEmail],
    subject: 'Lost property',
    text: `Dear Parent/Carer,\n\nWe have a named water bottle and a navy cardigan in lost property that belong to your daughter. They will be at the office until Friday.${signature(S.office)}`,
    date: d(25, '14:40'),
    expect: [],
    note: 'Ordinary note to a parent',
  },

  // --- Personal data in the email's own text (issue 13) ------------------------------------------------
  {
    file: 'bd-01-autism-ehcp-fsm-to-therapist-gmail.eml',
    from: S.doyle,
    to: [THERAPIST],
    subject: 'Referral – speech and language',
    text: `${kacperTherapyText}${signature(S.doyle)}`,
    date: d(24, '12:10'),
    expect: ['personal-data-in-body'],
    note: "A pupil's autism diagnosis, EHCP application and free school meals in the body, to a private therapist's Gmail (not on the roster)",
  },
  {
    file: 'bd-02-medical-table-html-to-activity-centre.eml',
    from: S.okafor,
    to: [ACTIVITY_CENTRE],
    subject: 'Climbing group – medical information',
    text: activityTableText,
    html: html('Climbing group', activityTableHtml),
    date: d(25, '09:30'),
    expect: ['personal-data-in-body'],
    note: 'An HTML table of fourteen pupils with dates of birth and medical conditions pasted into the body, to an activity centre',
  },
  {
    file: 'bd-03-plain-list-dobs-to-coach.eml',
    from: S.okafor,
    to: [COACH],
    subject: 'Swimming gala coach – passengers',
    text: coachListText,
    date: d(25, '09:45'),
    expect: ['personal-data-in-body'],
    note: 'A tab-separated list of six pupils with dates of birth and medical notes in a plain-text body, to a coach company',
  },
  {
    file: 'bd-04-forename-after-full-name-to-tutor.eml',
    from: S.thompson,
    to: [TUTOR],
    subject: 'Tutoring referral',
    text: `${tylerLetter('Dear Bright Sparks team,')}${signature(S.thompson)}`,
    date: d(25, '16:20'),
    expect: ['personal-data-in-body'],
    note: 'Pupil named in full once, then by forename only beside an ADHD assessment and a SEN support review (over 300 characters from the full name), to a tutoring company',
  },
  {
    file: 'bd-05-same-letter-to-own-parent.eml',
    from: S.thompson,
    to: [P.tyler.primaryContactEmail],
    subject: 'Our meeting on Tuesday',
    text: `${tylerLetter('Dear Ms Brennan,')}${signature(S.thompson)}`,
    date: d(25, '16:25'),
    expect: [],
    note: "The same letter to the pupil's own parent (Gmail, on the roster): entitled",
  },
  {
    file: 'bd-06-medical-table-internal.eml',
    from: S.okafor,
    to: [S.doyle.email, S.office.email],
    subject: 'Climbing group – medical information',
    text: activityTableText,
    html: html('Climbing group', activityTableHtml),
    date: d(25, '09:20'),
    expect: [],
    note: 'The same medical table to the SENCo and the office: internal',
  },
  {
    file: 'bd-07-autism-ehcp-to-la-partner.eml',
    from: S.doyle,
    to: [LA_SEN],
    subject: 'EHCP application – Year 5',
    text: `${kacperTherapyText.replace('Dear Jen', 'Dear Sam').replace('Thank you for agreeing to see', 'Further to our call about')}${signature(S.doyle)}`,
    date: d(24, '12:30'),
    expect: [],
    note: 'The same SEN details to the local authority SEN team (a configured partner)',
  },
  {
    file: 'bd-08-class-update-forenames-and-inhalers.eml',
    from: S.nuttall,
    to: [S.nuttall.email],
    bcc: parentsOf(year3),
    subject: 'Year 3 – this week',
    text: `Dear Year 3 Families,\n\nWhat a week! Well done to Oliver and Amelia for their brilliant Romans presentation, and thank you to everyone who sent in junk modelling.\n\nA reminder that every child with asthma needs an in-date inhaler in class, and please tell the office about any new allergies or medication.${signature(S.nuttall, 'Best wishes')}`,
    date: d(27, '15:30'),
    expect: [],
    note: 'Class update by Bcc naming pupils by forename only, with asthma, inhalers and allergies in general nearby',
  },
  {
    file: 'bd-09-governors-minutes-staff-surname-is-pupil-forename.eml',
    from: S.head,
    to: ['ruth.greaves.gov@gmail.com', 'gareth.ellis1958@btinternet.com', 'r.abbasi1960@btinternet.com', 'david.lowther@outlook.com'],
    subject: 'Draft minutes – FGB 1 December',
    text: `Dear Governors,\n\nThe draft minutes are below and attached.\n\n${governorsMinutesText}${signature(S.head, 'Best wishes')}`,
    attachments: [{ filename: 'FGB minutes 1 December.docx', work: 'governors-minutes.docx' }],
    date: d(30, '19:00'),
    expect: [],
    note: "Governors' minutes naming only staff and governors (a governor's surname, Ellis, is also a pupil's forename) with aggregate SEND, safeguarding and FSM figures, to governors' personal addresses",
  },
  {
    file: 'bd-10-two-pupils-share-a-forename.eml',
    from: S.okafor,
    to: ['coaching@northgatecricket.co.uk'],
    subject: 'County trials',
    text: `Hi Martin,\n\nGood news: both ${knownAs(SAME_FORENAME[0])} and ${knownAs(SAME_FORENAME[1])} would love to come to the county trials on Saturday.\n\n${filler}\n\n${filler}\n\nOne thing to know: ${SAME_FORENAME[0].legalForename} has asthma, so please make sure an inhaler goes with the kit bag.${signature(S.okafor, 'Cheers')}`,
    date: d(26, '11:00'),
    expect: [],
    note: 'Two pupils sharing a forename named in full, then the forename alone beside asthma far below: it could be either, so it is tied to neither',
  },

  // --- Misdirected: coreference, behaviour and attendance, greetings --------------------------------------
  {
    file: 'md-08-forename-only-details-to-other-parent.eml',
    from: S.thompson,
    to: [P.liam.primaryContactEmail],
    subject: 'Our meeting on Tuesday',
    text: `${tylerLetter('Dear Parent/Carer,')}${signature(S.thompson)}`,
    date: d(25, '16:30'),
    expect: ['misdirected-pupil-data'],
    note: "The Tyler Brennan letter (full name once, then forename beside ADHD, a behaviour incident and a SEN review) sent to Liam O'Brien's parent",
  },
  {
    file: 'md-09-greeting-names-another-family.eml',
    from: S.nuttall,
    to: [P.amelia.primaryContactEmail],
    subject: 'This afternoon',
    text: oliverBehaviourNote,
    date: d(26, '15:40'),
    expect: ['misdirected-pupil-data'],
    note: "\"Dear Mrs Wright … Oliver … detention\" (Oliver Wright named only by forename) sent to Amelia Hughes's parent",
  },
  {
    file: 'md-10-other-childs-sanction-to-parent.eml',
    from: S.thompson,
    to: [P.liam.primaryContactEmail],
    subject: 'Lunchtime today',
    text: `Dear Mrs O'Brien,\n\nI'm sorry to tell you that Liam was upset at lunchtime today. Another pupil, ${knownAs(P.tyler)}, pushed him over on the field. Tyler has been given a detention and his parents have been told. Liam is fine and played happily for the rest of the afternoon.${signature(S.thompson)}`,
    date: d(26, '15:50'),
    expect: ['misdirected-pupil-data'],
    note: "Another pupil's sanction (Tyler Brennan, detention) in a letter to Liam O'Brien's parent",
  },
  {
    file: 'md-11-behaviour-note-to-own-parent.eml',
    from: S.nuttall,
    to: [P.oliver.primaryContactEmail],
    subject: 'This afternoon',
    text: oliverBehaviourNote,
    date: d(26, '15:41'),
    expect: [],
    note: "The same behaviour note to Oliver's own parent",
  },
  {
    file: 'md-12-attendance-to-own-parent.eml',
    from: S.office,
    to: [P.amelia.primaryContactEmail],
    subject: 'Attendance',
    text: `Dear Ms Hughes,\n\nAmelia's attendance this term is 91%, just below our 96% target, mostly from the week she had chickenpox. Nothing to worry about: we send this note to every family below 96%.${signature(S.office)}`,
    date: d(26, '10:00'),
    expect: [],
    note: "Attendance note about Amelia to Amelia's own parent, greeting by the family's surname",
  },
  {
    file: 'md-13-classmate-forename-to-parent.eml',
    from: S.thompson,
    to: [P.liam.primaryContactEmail],
    subject: 'DT project',
    text: `Dear Mrs O'Brien,\n\nLiam and Tyler built a fantastic working model of a Roman catapult in DT today. Liam explained how the counterweight works to the whole class. Please ask him about it!${signature(S.thompson)}`,
    date: d(27, '15:10'),
    expect: [],
    note: "A classmate named by forename only, nothing personal about them, to Liam's parent",
  },

  // --- Recipients exposed --------------------------------------------------------------------------------
  {
    file: 'rx-01-year3-parents-in-to.eml',
    from: S.nuttall,
    to: parentsOf(year3).slice(0, 14),
    subject: 'Year 3 theatre trip – Friday',
    text: `Dear Year 3 Parents and Carers,\n\nA reminder that our theatre trip is this Friday. Children need a packed lunch and a coat. We will be back by 3.15pm.${signature(S.nuttall, 'Best wishes')}`,
    date: d(30, '15:30'),
    expect: ['recipients-exposed'],
    note: 'A letter to fourteen Year 3 parents with every address visible in To',
  },
  {
    file: 'rx-02-football-parents-in-cc.eml',
    from: S.okafor,
    to: [S.okafor.email],
    cc: parentsOf(year6.slice(0, 7)),
    subject: 'Football tournament – Saturday',
    text: `Dear Parents,\n\nYour child has been picked for Saturday's tournament at Riverside. Kick-off is at 10am; please have them there by 9.30am in school kit.${signature(S.okafor, 'Cheers')}`,
    date: d(30, '16:00'),
    expect: ['recipients-exposed'],
    note: "Seven parents' addresses visible in Cc",
  },
  {
    file: 'rx-03-same-letter-bcc.eml',
    from: S.nuttall,
    to: [S.nuttall.email],
    bcc: parentsOf(year3).slice(0, 14),
    subject: 'Year 3 theatre trip – Friday',
    text: `Dear Year 3 Parents and Carers,\n\nA reminder that our theatre trip is this Friday. Children need a packed lunch and a coat. We will be back by 3.15pm.${signature(S.nuttall, 'Best wishes')}`,
    date: d(30, '15:31'),
    expect: [],
    note: 'The same letter with the parents in Bcc',
  },
  {
    file: 'rx-04-internal-list-and-staff.eml',
    from: S.head,
    to: ['year3-parents@oakfield.sch.uk', S.nuttall.email, S.hart.email, S.patel.email, S.okafor.email, S.doyle.email, S.office.email],
    subject: 'Theatre trip – Friday',
    text: `Dear all,\n\nA reminder that Year 3 go to the theatre this Friday; adults on the trip please meet in the hall at 9am.${signature(S.head)}`,
    date: d(30, '08:10'),
    expect: [],
    note: 'An internal distribution list and staff in To',
  },
  {
    file: 'rx-05-three-parents-in-to.eml',
    from: S.office,
    to: parentsOf([P.rose, P.jack, P.ivy]),
    subject: 'Lift share for the choir festival',
    text: `Dear all,\n\nAs you kindly offered, here is everyone's email so you can arrange the lift share for Saturday's choir festival between you.${signature(S.office)}`,
    date: d(30, '11:00'),
    expect: [],
    note: 'Three parents introduced to each other in To (below the five-address threshold)',
  },
  {
    file: 'rx-06-six-suppliers-in-to.eml',
    from: S.price,
    to: ['sales@castlecoaches.co.uk', 'hire@northgatetravel.co.uk', 'bookings@riversidecoaches.co.uk', 'info@countycoachhire.co.uk', 'quotes@valleytravel.co.uk', 'office@kingsroadcoaches.co.uk'],
    subject: 'Quote request – coach hire, 11 March',
    text: `Hello,\n\nPlease could you quote for a 57-seat coach on Thursday 11 March, Oakfield Primary to Kingswood and back? Seat belts required.${signature(S.price)}`,
    date: d(30, '12:00'),
    expect: [],
    note: 'Six business addresses visible to each other: not personal addresses',
  },

  // --- Forwards recognised by the quoted header block -------------------------------------------------------
  {
    file: 'fw-14-outlook-block-edited-subject.eml',
    from: S.whitfield,
    to: ['sarahwhitfield82@gmail.com'],
    subject: "parents' evening",
    text: `\n\nFrom: Claire Morgan\nSent: 16 November 2026 12:02\nTo: Year 5 Team\nSubject: Year 5 parents' evening rota\n\nHi both,\n\nHere is the rota for parents' evening on 24 and 25 November. Appointments are 10 minutes.\n\nClaire`,
    date: d(16, '18:45'),
    expect: ['forward-to-personal-domain'],
    note: "Outlook forward with the subject edited (no FW:) and only Outlook's From/Sent/To/Subject block, to the sender's own Gmail",
  },
  {
    file: 'fw-15-german-outlook-block.eml',
    from: S.becker,
    to: ['katrin.becker.privat@gmail.com'],
    subject: 'Hamburg',
    text: `Zum Lesen zu Hause.\n\nVon: Mark Holloway <${S.head.email}>\nGesendet: Montag, 16. November 2026 09:12\nAn: Katrin Becker <${S.becker.email}>\nBetreff: Elternbrief Austausch Hamburg\n\nHi Katrin,\n\nCould you draft the letter to parents about the Hamburg exchange?\n\nMark`,
    date: d(16, '20:20'),
    expect: ['forward-to-personal-domain'],
    note: 'German Outlook header block (Von/Gesendet/An/Betreff), subject edited, to own Gmail',
  },
  {
    file: 'fw-16-polish-outlook-block-googlemail.eml',
    from: S.office,
    to: ['claire.morgan.home@googlemail.com'],
    subject: 'rota',
    text: `\nOd: Mark Holloway <${S.head.email}>\nWysłano: poniedziałek, 16 listopada 2026 12:02\nDo: Claire Morgan <${S.office.email}>\nTemat: Lunch rota\n\nClaire, the lunch rota for next week is below.\n\nMark`,
    date: d(16, '19:05'),
    expect: ['forward-to-personal-domain'],
    note: 'Polish Outlook header block (Od/Wysłano/Do/Temat) to a googlemail.com address',
  },
  {
    file: 'fw-17-forward-to-another-school.eml',
    from: S.doyle,
    to: ['senco@riversideprimary.sch.uk'],
    subject: 'FW: SEND panel dates – spring term',
    text: `Hi Alison, in case you did not get this.\n\nFrom: SEND Panel <send.panel@county.gov.uk>\nSent: 19 November 2026 08:30\nTo: Karen Doyle <${S.doyle.email}>\nSubject: SEND panel dates – spring term\n\nThe SEND panel will meet on 13 January, 10 February and 10 March.`,
    date: d(19, '09:00'),
    expect: [],
    note: 'A forward to a colleague at another school (.sch.uk): not personal webmail',
  },
  {
    file: 'fw-18-forward-to-gov-uk.eml',
    from: S.price,
    to: ['schools.capital@education.gov.uk'],
    subject: 'FW: Boiler replacement bid',
    text: `Please see below.\n\nFrom: Mark Holloway <${S.head.email}>\nSent: 12 November 2026 16:40\nTo: Janet Price <${S.price.email}>\nSubject: Boiler replacement bid\n\nJanet, can you send our bid to the capital team?`,
    date: d(19, '10:00'),
    expect: [],
    note: 'A forward to a .gov.uk address that is not a configured partner: not personal webmail',
  },
  {
    file: 'fw-19-outlook-reply-to-applicant.eml',
    from: S.office,
    to: ['j.okoro.ta@gmail.com'],
    subject: 'RE: Teaching Assistant vacancy',
    text: `Dear Joy,\n\nThank you, Tuesday at 10am is fine.${signature(S.office)}\n\nFrom: Joy Okoro <j.okoro.ta@gmail.com>\nSent: 22 November 2026 19:02\nTo: ${S.office.email}\nSubject: Teaching Assistant vacancy\n\nCould I come on Tuesday instead of Monday?`,
    date: d(23, '12:35'),
    expect: [],
    note: "An Outlook reply quoting the applicant's own message (the block's sender is the recipient): not a forward",
  },

  // --- Passwords written without a colon -----------------------------------------------------------------------
  {
    file: 'pw-03-password-in-subject-with-space.eml',
    from: S.hart,
    to: [MUSEUM],
    subject: 'Year 4 groups (password Falcon2291)',
    text: `Dear Learning Team,\n\nThe group lists are attached as a protected spreadsheet.${signature(S.hart, 'Best wishes')}`,
    attachments: [{ filename: 'Year 4 museum groups.xlsx', work: 'y4-groups-encrypted.xlsx' }],
    date: d(17, '16:10'),
    expect: ['password-in-same-email'],
    note: '"(password Falcon2291)" in the subject beside an encrypted workbook',
  },
  {
    file: 'pw-04-code-to-open-it.eml',
    from: S.ashworth,
    to: ['ewo.team@northgate-education.co.uk'],
    subject: 'Attendance list',
    text: `Hi Pam,\n\nThe persistent absence list is attached. The code to open it is Lapwing-0311.${signature(S.ashworth)}`,
    attachments: [{ filename: 'Persistent absence autumn 1.zip', work: 'attendance-zipcrypto.zip' }],
    date: d(20, '11:00'),
    expect: ['password-in-same-email'],
    note: '"The code to open it is …" beside a ZipCrypto zip',
  },
  {
    file: 'pw-05-pwd-plain-space.eml',
    from: S.okafor,
    to: ['bookings@highpeakoutdoors.co.uk'],
    subject: 'Climbing groups',
    text: `Hi Sophie,\n\nClimbing groups attached (7z). pwd Ridge!Climb7\n\nThanks!${signature(S.okafor, 'Cheers')}`,
    attachments: [{ filename: 'Year 6 climbing groups.7z', work: 'y6-climbing.7z' }],
    date: d(19, '12:50'),
    expect: ['password-in-same-email'],
    note: '"pwd Ridge!Climb7" beside a 7z with encrypted names',
  },
  {
    file: 'pw-06-password-prose-beside-encrypted-zip.eml',
    from: S.hart,
    to: [MUSEUM],
    subject: 'Year 4 group lists (encrypted)',
    text: `Dear Learning Team,\n\nThe group lists are in the encrypted zip. Our office will text you the password this afternoon. If your booking portal account asks, please reset your password on the portal before Thursday.${signature(S.hart, 'Best wishes')}`,
    attachments: [{ filename: 'Year 4 museum groups.zip', work: 'y4-groups-aes.zip' }],
    date: d(17, '15:40'),
    expect: [],
    note: 'Encrypted zip with ordinary prose about passwords ("text you the password", "reset your password on the portal")',
  },

  // --- Found by the false-hold and fail-open reviews of 2026-12-07 ------------------------------
  {
    file: 'hn-01-signature-phone-for-callers-abroad.eml',
    from: S.office,
    to: [COACH],
    subject: 'Coach for Thursday',
    text: `Hi,\n\nPlease could you confirm the coach for Thursday's trip? We leave at 9:15 and are back by 3pm.\n\nKind regards\n\n${S.office.name}\n${S.office.title}\nOakfield Primary School\nTel: +44 117 496 0000\n`,
    date: d(23, '09:10'),
    expect: [],
    note: 'A signature with the school\'s number for callers abroad (+44 117 496 0000: 1174960000 fits an NHS check digit)',
  },
  {
    file: 'hn-02-purchase-order-number.eml',
    from: S.price,
    to: ['orders@officesupplies.example.co.uk'],
    subject: 'Order for the office',
    text: `Hello,\n\nOur purchase order number is 1214960006. Please deliver to the main office before 3pm.${signature(S.price, 'Many thanks')}`,
    date: d(23, '10:05'),
    expect: [],
    note: 'A purchase order number that happens to fit an NHS number\'s check digit, no NHS word in the text',
  },
  {
    file: 'hn-03-admissions-born-between.eml',
    from: S.office,
    to: ['prospective.family@gmail.com'],
    subject: 'Reception places for September 2027',
    text: `Dear parent,\n\nThank you for your enquiry. Children born between 01/09/2022 and 31/08/2023 start Reception in September 2027. If your child has an EHCP, please contact our SENCo before you apply.${signature(S.office)}`,
    date: d(23, '11:20'),
    expect: [],
    note: 'An admissions reply: a year group\'s range of birth dates beside general SEN wording',
  },
  {
    file: 'hn-04-newsletter-attendance-above-star-of-the-week.eml',
    from: S.office,
    to: [S.office.email],
    bcc: allParents,
    subject: 'Friday round-up',
    text: `Dear Parents and Carers,\n\nAttendance this week: well done to 5W with 99.2%!\nStar of the Week: ${knownAs(P.isla)} for her persuasive writing.\n\nHave a lovely weekend.${signature(S.office)}`,
    date: d(27, '15:30'),
    expect: [],
    note: 'Class attendance above a pupil named in full as Star of the Week, to every parent',
  },
  {
    file: 'hn-05-newsletter-asthma-then-thanks.eml',
    from: S.office,
    to: [S.office.email],
    bcc: allParents,
    subject: 'Reminders',
    text: `Dear Parents and Carers,\n\nIf your child has asthma, please make sure the office has an in-date inhaler for them.\n\nThank you to ${knownAs(P.oliver)} and his family for the raffle prizes.${signature(S.office)}`,
    date: d(27, '15:40'),
    expect: [],
    note: 'A general health reminder two lines above a thank-you naming a pupil in full',
  },
  {
    file: 'ps-01-password-on-the-line-below.eml',
    from: S.thompson,
    to: [COACH],
    subject: 'Passenger list',
    text: `Hi,\n\nThe passenger list is attached (zipped).\n\nPassword\nKingswood-March26${signature(S.thompson, 'Thanks')}`,
    attachments: [{ filename: 'Year 6 residential passenger list.zip', work: 'y6-residential-zipcrypto.zip' }],
    date: d(24, '14:00'),
    expect: ['password-in-same-email'],
    note: 'The password on the line under the word, beside the ZipCrypto zip it opens',
  },
  {
    file: 'ps-02-photo-named-words-run-together.eml',
    from: S.okafor,
    to: ['newsdesk@northgateecho.co.uk'],
    subject: 'Cross-country photo',
    text: `Hi,\n\nHere's the photo of our cross-country winner for Friday. Parental consent for publication is on file.${signature(S.okafor, 'Thanks')}`,
    attachments: [{ filename: `${knownAs(P.niamh).replace(/[^A-Za-z]/g, '')}2.jpg`, work: 'photo-sports.jpg' }],
    date: d(24, '11:15'),
    expect: ['pupil-name-in-attachment-name'],
    note: 'A photo named after a pupil with the words run together (NiamhGallagher2.jpg)',
  },
  {
    file: 'ps-03-greeting-two-word-surname-other-family.eml',
    from: S.hart,
    to: [P.liam.primaryContactEmail],
    subject: 'This afternoon',
    text: `Dear Mrs ${P.grace.legalSurname},\n\nGrace was very upset at lunchtime today after a falling out with friends and was sent home with a temperature.${signature(S.hart)}`,
    date: d(24, '15:50'),
    expect: ['misdirected-pupil-data'],
    note: 'A letter greeting the Smith-Jones family (a two-word surname) sent to another family',
  },

  // --- Scottish Candidate Numbers (2026-12-07): a positive, and the hard negatives a review found --
  {
    file: 'id-08-scn-list-to-exam-board.eml',
    from: S.office,
    to: ['entries@examboard.example'],
    subject: 'Late entries',
    text: `Hello,\n\nThree pupils who joined us from Scotland still need entering. Their SCNs are below.\n\n219876548\n140000019\n051234561${signature(S.office)}`,
    date: d(24, '16:10'),
    expect: ['identifier-in-message'],
    note: 'Three Scottish Candidate Numbers under the word SCN, no names (the SQA number a Scottish pupil carries)',
  },
  {
    file: 'hn-06-scottish-charity-and-vat-numbers.eml',
    from: S.price,
    to: ['accounts@scottishsupplier.example.co.uk'],
    subject: 'Invoice query',
    text: `Hello,\n\nCould you resend invoice 200023757 from Scottish Water? Our SQA invoice number 200023757 is a different matter.${signature(S.price)}\nScottish Charity No SC012345 | VAT No 200023757\n`,
    date: d(24, '16:20'),
    expect: [],
    note: 'Nine-digit VAT and invoice numbers that fit an SCN check digit beside "Scottish" and "SQA", never "SCN"',
  },
  {
    file: 'hn-07-scn-word-and-a-locker-code.eml',
    from: S.hart,
    to: ['exams@tutors.example'],
    subject: 'Thursday',
    text: `Hi,\n\nPlease remind the candidates to bring their SCN to the exam on Thursday morning.\n\nThe spare room has been booked and the code for its key safe this week is 200023757 if you arrive early.${signature(S.hart)}`,
    date: d(24, '16:30'),
    expect: [],
    note: 'The word SCN, and one nine-digit number that fits its check digit two sentences away: not a pupil\'s number',
  },

  // --- Found by the false-hold review of 2026-12-07 (evening) ------------------------------------
  {
    file: 'hn-08-book-order-isbns-health-week.eml',
    from: S.price,
    to: ['orders@bookshop.example.co.uk'],
    subject: 'Book order for PSHE health week',
    text: `Hello,\n\nPlease could we order:\n\n15 x Matilda, ISBN 0140328726\n15 x Harry Potter and the Philosopher's Stone, ISBN 0747532699\n\nThey are for our PSHE health week in January.${signature(S.price)}`,
    date: d(24, '17:00'),
    expect: [],
    note: 'ISBN-10s (each fits the NHS number check digit: the same mod-11 sum) in a text that says "health"',
  },
  {
    file: 'hn-09-meeting-id-and-toll-free-number.eml',
    from: S.hart,
    to: ['trainer@cpdprovider.example.com'],
    subject: 'Re: Training on Tuesday',
    text: `Thanks, we will join from the staff room.\n\n> Join Zoom Meeting ID: 841 234 5673\n> Or dial in, toll free: 800-555-0103, or (+44) 117 496 0000${signature(S.hart)}`,
    date: d(24, '17:10'),
    expect: [],
    note: 'A meeting id and telephone numbers written 3-3-4 that fit the NHS number check digit',
  },
  {
    file: 'hn-10-newsletter-attendance-praise.eml',
    from: S.office,
    to: [S.office.email],
    bcc: allParents,
    subject: 'Friday celebrations',
    text: `Dear parents and carers,\n\nWell done to ${knownAs(P.niamh)}, who has had 100% attendance for the whole of Year 6! Class 6H had the best attendance this week at 99.2%.\n\nHave a lovely weekend.${signature(S.office)}`,
    date: d(24, '17:20'),
    expect: [],
    note: 'A newsletter praising a pupil\'s full attendance, to every parent (praise, not an attendance record)',
  },

  // --- Invisible characters (the hostile-input review of 2026-12-07) ------------------------------
  {
    file: 'bd-11-list-with-zero-width-spaces-to-coach.eml',
    from: S.okafor,
    to: [COACH],
    subject: 'Gala coach – passengers again',
    text: `Hi Gary,\n\nThe six children on Friday's coach, with their dates of birth for your insurer:\n\n${year5
      .slice(20, 26)
      .map((p) => `${[...knownAs(p)].join('\u200b')}\t${p.dob}`)
      .join('\n')}\n\nThanks,\nBen`,
    date: d(25, '10:05'),
    expect: ['personal-data-in-body'],
    note: 'Six pupils with their dates of birth, a zero-width space after every letter of their names (the reader sees the names)',
  },
  {
    file: 'hn-11-pasted-notice-with-zero-width-spaces.eml',
    from: S.office,
    to: ['events@leisurecentre.example.co.uk'],
    subject: 'Booking for the swimming gala',
    text: `Hello,\n\nPasted from our website:\n\nThe\u200b Year\u200b 5\u200b swimming\u200b gala\u200b is\u200b on\u200b Friday\u00ad afternoon.\u200b Well done to ${knownAs(P.niamh).replace(' ', '\u200b ')} for organising the raffle!\n\nCould we book the viewing gallery from 1.30?${signature(S.office)}`,
    date: d(25, '10:15'),
    expect: [],
    note: 'Text pasted from a web page, zero-width spaces and a soft hyphen between its words, naming one pupil with no personal details',
  },

  // --- Files written into the HTML itself (data: links; the review of 2026-12-08) ----------------
  {
    file: 'bd-12-residential-list-as-data-link-to-centre.eml',
    from: S.okafor,
    to: ['bookings@highpeakcentre.example.co.uk'],
    subject: 'Year 6 residential – our group',
    text: 'Hi,\n\nOur list is linked below (click to download).\n\nThanks,\nBen',
    html: html(
      'Year 6 residential',
      `<p>Hi,</p><p>Our list is linked below (click to download).</p><p><a href="data:text/csv;base64,${Buffer.from(Y6_RESIDENTIAL_CSV).toString('base64')}" download="residential.csv">residential.csv</a></p><p>Thanks,<br>Ben</p>`,
    ),
    date: d(25, '11:05'),
    expect: ['unencrypted-sensitive-attachment'],
    note: 'The Year 6 residential list with medical notes, as a CSV written into the HTML body as a data: link (no MIME attachment)',
  },
  {
    file: 'hn-12-newsletter-with-inline-logo-and-font.eml',
    from: S.office,
    to: [S.office.email],
    bcc: allParents,
    subject: 'Attendance this week',
    text: 'Dear parents and carers,\n\nAttendance data: 96.4% this week, our best this term. Thank you!',
    html: html(
      'Attendance this week',
      `<style>@font-face { font-family: Oakfield; src: url(data:font/woff2;base64,${woff2Font(48).toString('base64')}) format('woff2'); }</style>` +
        '<p><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==" alt="Oakfield Primary" width="120"></p>' +
        '<p>Dear parents and carers,</p><p>Attendance data: 96.4% this week, our best this term. Thank you!</p>',
    ),
    date: d(25, '11:15'),
    expect: [],
    note: 'A newsletter whose logo and web font are written into its HTML as data: links, and says "Attendance data:" in its text',
  },
];

// ---------------------------------------------------------------------------------------------
// Building

function envelopeTo(m: MessageSpec): string[] {
  return [...new Set((m.envelopeTo ?? [...m.to, ...(m.cc ?? []), ...(m.bcc ?? [])]).map((a) => a.toLowerCase()))];
}

/** The labels, without building anything (the same list buildCorpus returns). */
export const CORPUS_LABELS: CorpusLabel[] = MESSAGES.map((m) => ({ file: m.file, from: m.from.email, to: envelopeTo(m), expect: [...m.expect], note: m.note }));

function run(cmd: string, args: string[], cwd: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr?.toString() ?? ''}${e.stdout?.toString() ?? ''}`);
  }
}

function makeAttachments(work: string): void {
  for (const [name, content] of Object.entries(PLAIN_FILES)) writeFileSync(path.join(work, name), content);
  const jobs = OFFICE_JOBS.map((j) => {
    writeFileSync(path.join(work, j.src), j.content);
    return {
      src: path.join(work, j.src),
      inFilter: j.kind === 'writer' ? 'HTML (StarWriter)' : 'Text - txt - csv (StarCalc)',
      // comma, double quote, UTF-8, from line 1, default formats, en-GB, quoted as text, no special numbers
      inOptions: j.kind === 'calc' ? '44,34,76,1,,2057,true,false' : undefined,
      outputs: j.outputs.map((o) => {
        const ext = o.file.slice(o.file.lastIndexOf('.') + 1);
        const filter = FILTERS[ext]?.[j.kind];
        if (!filter) throw new Error(`no LibreOffice filter for ${j.kind} → ${ext}`);
        return { path: path.join(work, o.file), filter, password: o.password };
      }),
    };
  });
  writeFileSync(path.join(work, 'office-jobs.json'), JSON.stringify(jobs));
  // One LibreOffice start for every document (python3-uno must be the system Python's).
  run('/usr/bin/python3', [OFFICE_SCRIPT, path.join(work, 'office-jobs.json'), path.join(work, 'lo-profile')], work);

  for (const job of DERIVED) {
    const out = path.join(work, job.out);
    if (job.tool === 'qpdf') {
      run('qpdf', ['--encrypt', job.user, job.owner, '256', '--', path.join(work, job.input), out], work);
    } else if (job.tool === 'truncate') {
      const bytes = readFileSync(path.join(work, job.input));
      writeFileSync(out, bytes.subarray(0, Math.floor(bytes.length * job.fraction)));
    } else {
      // Stage entries under the names they have inside the archive.
      const stage = mkdtempSync(path.join(work, 'stage-'));
      for (const [src, name] of job.inputs) copyFileSync(path.join(work, src), path.join(stage, name));
      const names = job.inputs.map(([, n]) => n);
      if (job.tool === 'zip') run('zip', ['-q', '-X', ...(job.password ? ['-P', job.password] : []), out, ...names], stage);
      else if (job.tool === '7z-aes-zip') run('7z', ['a', '-bd', '-y', '-tzip', '-mem=AES256', `-p${job.password}`, out, ...names], stage);
      else run('7z', ['a', '-bd', '-y', '-t7z', '-mhe=on', `-p${job.password}`, out, ...names], stage);
      rmSync(stage, { recursive: true, force: true });
    }
    if (!statSync(out).size) throw new Error(`${job.tool} made an empty ${job.out}`);
  }
}

const OFFICE_SCRIPT = fileURLToPath(new URL('./office.py', import.meta.url));

type ComposeSpec = Omit<MessageSpec, 'file' | 'expect' | 'note'>;

async function compose(m: ComposeSpec, work: string, id: string): Promise<Buffer> {
  const attachments = [];
  for (const a of m.attachments ?? []) {
    if ('text' in a) attachments.push({ filename: a.filename, content: a.text, contentType: a.contentType });
    else if ('work' in a) attachments.push({ filename: a.filename, content: readFileSync(path.join(work, a.work)) });
    else attachments.push({ filename: a.filename, content: await compose(a.message, work, `${id}.inner`), contentType: 'message/rfc822' });
  }
  const composer = new MailComposer({
    from: m.headerFrom ?? (m.from.email === m.from.name ? m.from.email : { name: m.from.name, address: m.from.email }),
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    subject: m.subject,
    text: m.text,
    html: m.html,
    date: m.date,
    messageId: `<${id}@oakfield.sch.uk>`,
    // As a mail server writes them: raw, not RFC 2047-encoded.
    headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, { prepared: true, value: v }])),
    attachments,
  });
  return composer.compile().build();
}

/**
 * Write every corpus message as an .eml file into `dir` (created if missing) and return the
 * labels. Needs LibreOffice with python3-uno, zip, 7z (p7zip-full) and qpdf on this machine.
 */
export async function buildCorpus(dir: string): Promise<CorpusLabel[]> {
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(path.join(tmpdir(), 'hallmonitor-corpus-work-'));
  try {
    makeAttachments(work);
    for (const m of MESSAGES) {
      const raw = await compose(m, work, m.file.replace(/\.eml$/, ''));
      writeFileSync(path.join(dir, m.file), raw);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return CORPUS_LABELS.map((l) => ({ ...l, to: [...l.to], expect: [...l.expect] }));
}

/** The pupils the corpus is written about, for tests that check the roster matches. */
export { pupils as CORPUS_PUPILS };
