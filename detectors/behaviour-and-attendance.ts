import { vocabularyDetector } from './vocabulary.ts';

// Not special-category data, but one family's business only: a behaviour incident or an
// attendance record about a pupil, sent to another pupil's parent, is a breach (the
// misdirected-pupil-data rule reads it). Like the special-category lists, a term is reported
// only near a pupil's name, an identifier or a date of birth.
export const behaviourAndAttendance = vocabularyDetector({
  id: 'behaviour-and-attendance',
  description: 'Behaviour incidents, sanctions, attendance and lateness records mentioned next to a pupil.',
  topic: 'behaviour or attendance records',
  category: 'pupil-record',
  terms: [
    'behaviour incident', 'behaviour incidents', 'behaviour log', 'behaviour report', 'behaviour points', 'behaviour plan',
    'incident report', 'serious incident', 'detention', 'detentions', 'sanction', 'sanctioned', 'on report', 'red card',
    'physical assault', 'assaulted', 'bullying', 'bullied', 'racist incident', 'racist comment', 'fight', 'fighting',
    'punched', 'kicked', 'swearing', 'verbal abuse', 'restraint', 'restrained', 'reasonable force', 'damage to property',
    'attendance', 'attendance record', 'absence', 'absences', 'absent', 'unauthorised absence', 'persistent absence',
    'persistently absent', 'late marks', 'lateness', 'truancy', 'truanting', 'penalty notice', 'holiday in term time',
    'sessions missed', 'education welfare officer', 'attendance officer', 'children missing education',
  ],
  acronyms: ['EWO', 'CME'],
  examples: {
    match: [
      { text: 'Jack Hill was given a detention after the incident at lunch.', strength: 'strong' },
      { text: "Zoë Okafor's attendance is 84% this term.", strength: 'strong' },
      { text: 'Hill, Jack, 4B, persistent absence', strength: 'strong' },
    ],
    noMatch: [
      'Attendance this term across the school is 96.1%, up on last year.',
      'Our behaviour policy explains when a detention is given.',
    ],
  },
});
