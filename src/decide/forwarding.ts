// Is this message school mail being forwarded? The signs mail clients leave: a forwarding prefix
// in the subject, a banner ("---------- Forwarded message ---------", "Begin forwarded message:"),
// the quoted header block a client writes above the forwarded text (Outlook's "From: … Sent: …
// To: … Subject:", Gmail's, Apple Mail's, mobile clients', in the languages staff's clients use),
// an attached original message, and the headers a server adds when it resends or auto-forwards.
// A quoted block whose sender is the recipient is a reply to them, not a forward.
// Message text is read by character and by RE2, never by JavaScript RegExp.
import RE2 from 're2';
import type { AttachmentReport, Inspection } from '../inspect/index.ts';
import { domainIn, domainOf } from './policy.ts';

// Subject prefixes for forwarding in the languages staff's mail clients use.
const FORWARD_SUBJECT = new RE2('^\\s*(?:(?:re|aw|sv)\\s*:\\s*)*(?:fw|fwd|wg|tr|rv|doorst|vs|fs|enc|pd|i)\\s*:', 'i');
const FORWARD_BANNER = new RE2(
  '(?:-{3,}\\s*(?:Forwarded message|Original Message|Weitergeleitete Nachricht|Ursprüngliche Nachricht|Message transféré|Message d\'origine|Mensaje reenviado|Mensaje original|Doorgestuurd bericht|Oorspronkelijk bericht|Wiadomość przekazana dalej|Oryginalna wiadomość|Messaggio inoltrato|Messaggio originale|Mensagem encaminhada)\\s*-{3,}|Begin forwarded message:|Début du message réexpédié\\s*:|Anfang der weitergeleiteten Nachricht:)',
  'i',
);
const AUTO_FORWARD_HEADERS = ['resent-from', 'resent-to', 'resent-sender', 'resent-date', 'x-forwarded-to', 'x-forwarded-for', 'x-ms-exchange-inbox-rules-loop'];

type Label = 'from' | 'sent' | 'to' | 'subject' | 'cc' | 'other';

/** Header labels of quoted blocks, folded to lower case, by client language. */
const LABELS = new Map<string, Label>();
const addLabels = (kind: Label, words: string) => {
  for (const w of words.split('|')) LABELS.set(w, kind);
};
// English, German, French, Spanish, Portuguese, Italian, Dutch, Polish, Welsh, Danish/Norwegian, Swedish.
addLabels('from', 'from|von|de|da|van|od|oddi wrth|fra|från');
addLabels('sent', 'sent|date|gesendet|datum|envoyé|envoye|enviado|enviada|fecha|data|inviato|verzonden|wysłano|wyslano|anfonwyd|dyddiad|sendt|skickat');
addLabels('to', 'to|an|à|a|pour|para|aan|do|at|til|till');
addLabels('cc', 'cc|kopie|copie|dw');
addLabels('subject', 'subject|betreff|objet|sujet|asunto|assunto|oggetto|onderwerp|temat|pwnc|emne|ämne');

/** Lines of a header block: the label line must be among this many consecutive non-blank lines. */
const BLOCK_LINES = 7;
/**
 * How much of each body is searched for a banner or a quoted header block: a forward starts with
 * the few lines the sender typed above it; a 20 MB body is not read to its end for this.
 */
const MAX_SEARCH_CHARS = 1 << 20;

/** The plain-English signs that this message forwards school mail; empty when there are none. */
export function forwardingSigns(inspection: Inspection, attachments: AttachmentReport[], recipients: string[], schoolDomains: readonly string[] = []): string[] {
  const signs: string[] = [];
  if (FORWARD_SUBJECT.test(inspection.subject)) signs.push('the subject starts with a forwarding prefix');
  const bodies = inspection.texts.filter((t) => t.kind === 'body').map((t) => (t.utf8 ?? t.text).slice(0, MAX_SEARCH_CHARS));
  if (bodies.some((t) => FORWARD_BANNER.test(t))) signs.push('the body quotes a forwarded message');
  else {
    const names = [...inspection.to, ...inspection.cc].map((a) => a.name.toLowerCase()).filter((n) => n.length >= 3);
    const addresses = recipients.map((a) => a.toLowerCase());
    if (bodies.some((t) => hasForwardedHeaderBlock(t, addresses, names, schoolDomains))) signs.push('the body quotes the header of another email (From, Sent, To, Subject)');
  }
  if (attachments.some((a) => a.isMessage)) signs.push('an original email is attached');
  const headerKeys = new Set(inspection.headers.map((h) => h.key));
  const autoHeader = AUTO_FORWARD_HEADERS.find((k) => headerKeys.has(k));
  if (autoHeader) signs.push(`the mail server marked it as forwarded (${autoHeader})`);
  if (inspection.headers.some((h) => h.key === 'auto-submitted' && h.value.slice(0, 100).toLowerCase().includes('auto-forwarded'))) signs.push('the mail server marked it as auto-forwarded');
  return signs;
}

/**
 * Does the text hold a quoted header block: a "From" line with a "Subject" line and a "Sent"/"Date"
 * or "To" line among the next few lines? The first such block decides: when its sender is one of
 * the recipients (by address or display name), the text is a reply to them, not a forward. A
 * sender whose quoted address is the school's is not the recipient by name alone: that is staff
 * sending their own school mail on to a personal account under the same name (Jo Taylor
 * <j.taylor@school> quoted, Jo Taylor <jtaylor84@gmail.com> the recipient).
 */
export function hasForwardedHeaderBlock(text: string, recipientAddresses: string[], recipientNames: string[], schoolDomains: readonly string[] = []): boolean {
  const limit = Math.min(text.length, MAX_SEARCH_CHARS);
  const recent: Array<{ label: Label; value: string }> = [];
  let pos = 0;
  while (pos < limit) {
    let end = text.indexOf('\n', pos);
    if (end < 0 || end > limit) end = limit;
    const line = labelled(text, pos, end);
    pos = end + 1;
    if (line === null) continue; // a blank line does not break a block
    recent.push(line ?? { label: 'other', value: '' }); // a line of text (a wrapped address list) stays in the window
    if (recent.length > BLOCK_LINES) recent.shift();
    const fromAt = recent.findIndex((l) => l.label === 'from');
    if (fromAt < 0) continue;
    const kinds = new Set(recent.slice(fromAt).map((l) => l.label));
    if (!kinds.has('subject') || !(kinds.has('sent') || kinds.has('to'))) continue;
    const from = recent[fromAt].value.toLowerCase();
    const quoted = addressIn(from);
    const fromSchool = quoted !== '' && domainIn(domainOf(quoted), schoolDomains);
    const isReply = recipientAddresses.some((a) => from.includes(a)) || (!fromSchool && recipientNames.some((n) => from.includes(n)));
    return !isReply;
  }
  return false;
}

/** The first email address in a quoted From line ("jo taylor <j.taylor@school.example.org>", "[mailto:…]"), '' when none. */
function addressIn(value: string): string {
  const at = value.indexOf('@');
  if (at < 0) return '';
  let start = at;
  let end = at + 1;
  while (start > 0 && !ADDRESS_STOPS.includes(value[start - 1])) start--;
  while (end < value.length && !ADDRESS_STOPS.includes(value[end])) end++;
  return value.slice(start, end);
}
const ADDRESS_STOPS = ' \t<>"\'()[];,:\r\n';

/**
 * The label and value of a header-like line ("From: …", "> *Sent:* …", "De : …"), undefined for
 * a line with text but no label, null for a blank line.
 */
function labelled(text: string, start: number, end: number): { label: Label; value: string } | undefined | null {
  let i = start;
  while (i < end && isQuoteOrSpace(text.charCodeAt(i))) i++;
  if (i >= end || (end - i === 1 && text.charCodeAt(i) === 13)) return null;
  const colon = text.indexOf(':', i);
  if (colon < 0 || colon >= end || colon - i > 16) return undefined;
  let j = colon;
  while (j > i && isQuoteOrSpace(text.charCodeAt(j - 1))) j--;
  const label = LABELS.get(text.slice(i, j).toLowerCase());
  if (!label) return undefined;
  return { label, value: text.slice(colon + 1, Math.min(end, colon + 400)) };
}

/** Spaces, tabs, non-breaking spaces, the '>' of quoting and the '*' of bold in plain text. */
function isQuoteOrSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 0xa0 || c === 62 || c === 42 || c === 13;
}

/** Does a personal address look like the sender's own (jane.smith@school → janesmith84@gmail)? */
export function resemblesSender(personal: string, sender: string, senderName: string): boolean {
  const local = letters(personal.slice(0, personal.lastIndexOf('@')));
  // Addresses and display names are message text: split and filter by character, no RegExp.
  const words = [...splitOn(sender.slice(0, sender.lastIndexOf('@')), ADDRESS_SEPARATORS), ...splitOn(senderName, NAME_SEPARATORS)]
    .map(letters)
    .filter((w) => w.length >= 3);
  if (!local || !words.length) return false;
  return words.some((w) => local.includes(w));
}

const ADDRESS_SEPARATORS = '._-+';
const NAME_SEPARATORS = ",.'’-";

function splitOn(s: string, separators: string): string[] {
  const words: string[] = [];
  let word = '';
  for (const ch of s) {
    if (separators.includes(ch) || ch.trim() === '') {
      if (word) words.push(word);
      word = '';
    } else word += ch;
  }
  if (word) words.push(word);
  return words;
}

/** Only the ASCII letters a-z, after lower-casing and taking accents off. */
function letters(s: string): string {
  const folded = s.toLowerCase().normalize('NFKD');
  let out = '';
  for (let i = 0; i < folded.length; i++) {
    const c = folded.charCodeAt(i);
    if (c >= 97 && c <= 122) out += folded[i];
  }
  return out;
}
