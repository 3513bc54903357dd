// The school's rules: stable ids (they appear in logs, notifications, the console and the CLI),
// shipped defaults that follow the schools' own ICT and data-protection policies, and what each
// rule means in plain English.
import type { Action } from '../types.ts';

export const RULE_IDS = [
  'pupil-name-in-subject',
  'pupil-name-in-attachment-name',
  'unencrypted-sensitive-attachment',
  'password-in-same-email',
  'forward-to-personal-domain',
  'identifier-in-message',
  'uninspectable-attachment',
  'misdirected-pupil-data',
  'personal-data-in-body',
  'recipients-exposed',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

/** Former rule ids, still accepted in configuration files and shown for incidents recorded under them. */
export const RULE_ALIASES: Readonly<Record<string, RuleId>> = { 'uk-identifier-in-message': 'identifier-in-message' };

/** The rule an id names, former ids included; undefined for an unknown id. */
export function ruleDefinition(id: string): RuleDefinition | undefined {
  return (RULES as Record<string, RuleDefinition | undefined>)[id] ?? (RULE_ALIASES[id] ? RULES[RULE_ALIASES[id]] : undefined);
}

export type NotifyMode = 'immediate' | 'digest' | 'none';

export interface RuleSettings {
  action: Action;
  /** 1 (low) to 5 (serious), as the schools' monitoring triage uses. */
  severity: number;
  /** How the business manager hears about it. */
  notify: NotifyMode;
  /** The sender may send it anyway with a written reason, from the link in their notice (a
   *  judgement the sender can make: a pupil's name that is also an ordinary word). */
  sender_may_override?: boolean;
  /** Rule-specific settings (documented in config/hallmonitor.example.yaml). */
  [setting: string]: unknown;
}

export interface RuleDefinition {
  id: RuleId;
  title: string;
  /** What the rule protects, for the business manager. */
  explanation: string;
  /** The school policy it enforces. */
  policy: string;
  defaults: RuleSettings;
}

export const RULES: Record<RuleId, RuleDefinition> = {
  'pupil-name-in-subject': {
    id: 'pupil-name-in-subject',
    title: "A pupil's name in the subject line",
    explanation: "The subject line names a pupil. Subject lines are shown in inboxes, notifications and logs everywhere the email goes, so the school's policy is to use initials instead.",
    policy: 'Never send personal information (such as a pupil’s name) in the subject line; anonymise with initials.',
    defaults: { action: 'block', severity: 2, notify: 'digest', internal_too: false, sender_may_override: true },
  },
  'pupil-name-in-attachment-name': {
    id: 'pupil-name-in-attachment-name',
    title: "A pupil's name in an attachment's file name",
    explanation: "An attached file is named after a pupil. File names travel with the file and show in previews; photos in particular must never carry a pupil's name.",
    policy: 'Image files are named without using pupils’ names; no pupils’ names attached to images.',
    defaults: { action: 'block', severity: 2, notify: 'digest', internal_too: false, sender_may_override: true },
  },
  'unencrypted-sensitive-attachment': {
    id: 'unencrypted-sensitive-attachment',
    title: 'Personal data in an attachment that is not encrypted',
    explanation: 'An attachment going outside the school holds personal data (pupil names in a list, special-category information, identifiers or dates of birth) and is not password protected.',
    policy: 'Attachments containing sensitive or confidential information must be encrypted or password protected before they are sent to external recipients.',
    defaults: { action: 'quarantine', severity: 4, notify: 'immediate', threshold: 5, class_list_pupils: 5, trusted_partners_exempt: false, sender_may_override: false },
  },
  'password-in-same-email': {
    id: 'password-in-same-email',
    title: 'The password is in the same email as the encrypted file',
    explanation: 'The email carries an encrypted attachment and also the password that opens it, so anyone who receives or intercepts the email can read the file.',
    policy: 'The password must be supplied to the recipient by another method (phone, text message, a separate channel).',
    defaults: { action: 'block', severity: 3, notify: 'digest', sender_may_override: false },
  },
  'forward-to-personal-domain': {
    id: 'forward-to-personal-domain',
    title: 'School email forwarded to a personal email account',
    explanation: 'A school email is being forwarded to a personal webmail address (Gmail, Outlook.com, iCloud…), outside the school’s control.',
    policy: 'Do not forward school emails to private email accounts; conduct school business only with the school email address.',
    defaults: { action: 'quarantine', severity: 3, notify: 'immediate', sender_may_override: false },
  },
  'identifier-in-message': {
    id: 'identifier-in-message',
    title: "A pupil's or person's identifier in the email",
    explanation: "The email text contains an identifier (a UPN, ULN, NHS number or National Insurance number, or a reference the school's own detectors recognise) and is going outside the school unprotected.",
    policy: 'Confidential pupil data shared with external parties must be password protected.',
    // `categories`: the detector categories this rule counts; a school that adds a detector with a
    // category of its own (staff-number, case-reference) lists it here.
    defaults: { action: 'quarantine', severity: 4, notify: 'immediate', min_identifiers: 1, categories: ['identifier'], sender_may_override: false },
  },
  'uninspectable-attachment': {
    id: 'uninspectable-attachment',
    title: 'An attachment that could not be checked',
    explanation: 'Hallmonitor could not read an attachment (damaged, too large, too deeply nested, or protected in a way it does not recognise), so it cannot say the email is safe to send.',
    policy: 'A message that cannot be inspected is held, never waved through.',
    defaults: { action: 'quarantine', severity: 3, notify: 'digest', internal_too: true, sender_may_override: false },
  },
  'misdirected-pupil-data': {
    id: 'misdirected-pupil-data',
    title: "Information about a pupil sent to another child's parent",
    explanation: "The email is about a pupil and holds personal data, but it is addressed to a parent who, by the school's roster, is the contact of other pupils only.",
    policy: 'Personal data must only go to those entitled to it; sending one family’s information to another is a data breach.',
    defaults: { action: 'quarantine', severity: 5, notify: 'immediate', sender_may_override: false },
  },
  'personal-data-in-body': {
    id: 'personal-data-in-body',
    title: "A pupil's sensitive information in the email itself",
    explanation: "The email's own text (not an attachment) gives special-category information about a named pupil (SEN, health, safeguarding, free school meals and the like) or lists pupils with their personal details, and it is going to someone outside the school who is not a partner organisation and not the pupil's own parent or carer.",
    policy: 'Confidential pupil data shared with external parties must be protected; email is not a secure way to send it.',
    defaults: { action: 'quarantine', severity: 4, notify: 'immediate', list_min_pupils: 3, sender_may_override: false },
  },
  'recipients-exposed': {
    id: 'recipients-exposed',
    title: "Parents' email addresses visible to each other",
    explanation: "The email is addressed to many parents or personal email addresses in To or Cc, so every recipient sees everyone else's address. Parents' addresses are personal data: use Bcc or the school's messaging system.",
    policy: 'Personal data, including contact details, must only be shared with those entitled to it.',
    defaults: { action: 'quarantine', severity: 3, notify: 'immediate', min_recipients: 5, sender_may_override: false },
  },
};

const STRICTNESS: Record<Action, number> = { deliver: 0, quarantine: 1, block: 2 };

/** The strictest of several actions: block > quarantine > deliver. */
export function strictest(actions: Action[]): Action {
  return actions.reduce<Action>((a, b) => (STRICTNESS[b] > STRICTNESS[a] ? b : a), 'deliver');
}

export function compareActions(a: Action, b: Action): number {
  return STRICTNESS[a] - STRICTNESS[b];
}
