// Who receives a message, and what each recipient is entitled to. Every recipient is one of:
// the school's own domains (internal); a configured partner (local authority, trust, NHS, social
// care: school.partner_domains); a parent or carer on the roster (and of which pupils); a personal
// webmail address (config/webmail-domains.txt plus policy.webmail_domains, subdomains included);
// any other outside address.
import { readFileSync } from 'node:fs';
import type { Roster } from '../roster/index.ts';
import { domainIn, domainOf } from './policy.ts';

export type RecipientKind = 'internal' | 'partner' | 'roster-contact' | 'webmail' | 'outside';

export interface Recipient {
  address: string;
  kind: RecipientKind;
  /** Roster ids of the pupils this address is a parent/carer contact of (any kind of address). */
  pupils: Set<string>;
  /** A personal webmail address (also true for a parent on the roster who uses Gmail). */
  webmail: boolean;
}

export interface RecipientSettings {
  /** The school's own domains (or, when none is configured, the sender's). */
  own: string[];
  partners: string[];
  webmailDomains: Set<string>;
  roster?: Roster;
}

export function classifyRecipient(address: string, s: RecipientSettings): Recipient {
  const domain = domainOf(address);
  const pupils = new Set((s.roster?.pupilsByContact(address) ?? []).map((p) => p.id));
  const webmail = isWebmailAddress(domain, s.webmailDomains);
  let kind: RecipientKind;
  if (domain && domainIn(domain, s.own)) kind = 'internal';
  else if (domain && domainIn(domain, s.partners)) kind = 'partner';
  else if (pupils.size) kind = 'roster-contact';
  else if (webmail) kind = 'webmail';
  else kind = 'outside';
  return { address, kind, pupils, webmail };
}

/** May this recipient receive personal data about every one of these pupils? */
export function entitled(r: Recipient, pupilIds: Iterable<string>): boolean {
  if (r.kind === 'internal' || r.kind === 'partner') return true;
  for (const id of pupilIds) if (!r.pupils.has(id)) return false;
  return r.kind === 'roster-contact';
}

/** Why a recipient may not receive the data, in plain words for a business manager. */
export function whyNotEntitled(r: Recipient): string {
  switch (r.kind) {
    case 'roster-contact':
      return 'the roster lists this address as a contact of another pupil only';
    case 'webmail':
      return 'it is a personal email address that the roster does not list as a parent or carer of this pupil';
    default:
      return 'it is outside the school, not a partner organisation, and not a parent or carer of this pupil on the roster';
  }
}

/** `jane.smith@gmail.com` → `j***@gmail.com`: enough for the business manager to recognise it. */
export function redactAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${address[0]}***${address.slice(at)}`;
}

const WEBMAIL_FILE = new URL('../../config/webmail-domains.txt', import.meta.url);

/** Personal webmail domains (config/webmail-domains.txt) plus the school's own additions. */
export function loadWebmailDomains(extra: string[] = []): Set<string> {
  const domains = new Set<string>();
  const add = (line: string) => {
    const hash = line.indexOf('#');
    let d = (hash >= 0 ? line.slice(0, hash) : line).trim().toLowerCase();
    if (d.startsWith('@')) d = d.slice(1);
    if (d.endsWith('.')) d = d.slice(0, -1);
    if (d) domains.add(d);
  };
  for (const line of readFileSync(WEBMAIL_FILE, 'utf8').split('\n')) add(line);
  for (const e of extra) add(e);
  return domains;
}

/** Is this address (or bare domain) at a personal webmail provider? Subdomains count. */
export function isWebmailAddress(addressOrDomain: string, domains: Set<string>): boolean {
  const at = addressOrDomain.lastIndexOf('@');
  let d = (at >= 0 ? addressOrDomain.slice(at + 1) : addressOrDomain).trim().toLowerCase();
  if (d.endsWith('.')) d = d.slice(0, -1);
  for (;;) {
    if (domains.has(d)) return true;
    const dot = d.indexOf('.');
    if (dot < 0) return false;
    d = d.slice(dot + 1);
  }
}
