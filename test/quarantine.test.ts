// Quarantine round trips on loopback, on both storage back ends: a message the policy holds goes
// through the real relay, is stored with its incident before the upstream hears 250, nothing
// reaches its recipients, the notices arrive at the next hop with the right content and without
// the pupil's name, and the business manager's CLI actions (release, reject) do what they say.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import { stringify } from 'yaml';
import { RULES, RULE_IDS } from '../src/decide/rules.ts';
import { headerValue } from '../src/act/notify/plan.ts';
import { findIncident, heldMessage } from '../src/store/incidents.ts';
import type { Verdict } from '../src/types.ts';
import { startSink, splitTrace, type Sink, type SinkMessage } from './helpers/smtp.ts';
import {
  BACKENDS, blockVerdict, cli, configDoc, createStorage, mentions, OUTSIDER, PUPIL, quarantineVerdict, ROSTER_CSV, schoolMessage, SCHOOL, sendRaw,
  startHoldingGateway, TEACHER, waitFor, type Backend, type HoldingGateway, type TestStorage,
} from './quarantine-helpers.ts';

/** The test inspector: the verdict named in the X-Test-Verdict header (the real policy is tested elsewhere). */
const verdicts = new Map<string, Verdict>();
const inspector = async (m: { raw: Buffer }): Promise<Verdict> => {
  const key = headerValue(m.raw, 'x-test-verdict')?.trim() ?? 'deliver';
  return verdicts.get(key) ?? { action: 'deliver', rules: [], findings: [], severity: 0 };
};
verdicts.set('quarantine', quarantineVerdict());
verdicts.set('block', blockVerdict());
for (const id of RULE_IDS) {
  const d = RULES[id].defaults;
  verdicts.set(`rule:${id}`, {
    action: d.action === 'deliver' ? 'quarantine' : d.action,
    rules: [id],
    severity: d.severity,
    findings: [{ rule: id, detector: 'test', where: 'body', evidence: PUPIL.redacted, reason: `Found ${PUPIL.redacted} in the text of the email.` }],
  });
}

const withVerdict = (key: string, opts: Parameters<typeof schoolMessage>[0] = {}) => schoolMessage({ ...opts, extraHeaders: `X-Test-Verdict: ${key}` });

interface Notice { to: string; mailFrom: string; parsed: ParsedMail; raw: Buffer }

async function parse(m: SinkMessage): Promise<Notice> {
  return { to: m.rcptTo.join(','), mailFrom: m.mailFrom, parsed: await simpleParser(m.data), raw: m.data };
}

/** Everything a reader could see in a notice, decoded. */
function visible(n: Notice): string {
  return [n.parsed.subject ?? '', n.parsed.text ?? '', typeof n.parsed.html === 'string' ? n.parsed.html : '', n.raw.toString('utf8')].join('\n');
}

function expectNoPupilData(n: Notice): void {
  const all = visible(n);
  for (const word of [PUPIL.forename, PUPIL.surname, 'Pemberton', 'asthma', '2016-03-14', 'trip list']) {
    expect(mentions(all, word), `notice to ${n.to} (${n.parsed.subject}) contains "${word}"`).toBe(false);
  }
}

function expectAutomatic(n: Notice): void {
  expect(n.mailFrom).toBe(''); // null reverse-path: a bounce of a notice goes nowhere
  expect(n.parsed.headers.get('auto-submitted')).toBe('auto-generated');
  expect(String(n.parsed.headers.get('x-auto-response-suppress'))).toBe('All');
  expect(n.parsed.from?.value[0].address).toBe(SCHOOL.notifications_from);
  expect(n.parsed.text?.length).toBeGreaterThan(100);
  expect(typeof n.parsed.html === 'string' && n.parsed.html.includes('<html')).toBe(true);
  expect(n.parsed.messageId).toMatch(/^<HM-\d{4}-\d{6}\.[a-z-]+\.[0-9a-f]+@hallmonitor\.oakfield\.sch\.uk>$/);
}

describe.each(BACKENDS)('quarantine through the relay (%s)', (backend: Backend) => {
  let sink: Sink;
  let storage: TestStorage;
  let gw: HoldingGateway;
  let configFile: string;
  const ofSink = (to: string) => sink.messages.filter((m) => m.rcptTo.includes(to));

  beforeAll(async () => {
    sink = await startSink();
    storage = await createStorage(backend);
    // The school's roster, so that a reviewer's words can be redacted with the school's detectors.
    const roster = path.join(storage.dataDir, 'roster.csv');
    writeFileSync(roster, ROSTER_CSV);
    const parts = { storage, sink, console: { public_url: 'https://hallmonitor.oakfield.sch.uk/' }, school: { roster } };
    gw = await startHoldingGateway({ ...parts, inspector });
    configFile = path.join(storage.dataDir, 'hallmonitor.yaml');
    writeFileSync(configFile, stringify(configDoc(parts)));
  });
  afterAll(async () => {
    await gw?.stop();
    await sink?.close();
    await storage?.cleanup();
  });

  let heldRef = '';
  let heldRaw: Buffer;

  it('holds a quarantined message before answering 250, delivers nothing, and tells the business manager and the sender without naming the pupil', async () => {
    heldRaw = withVerdict('quarantine');
    const before = sink.messages.length;
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], heldRaw);
    expect(r.code).toBe(250);
    heldRef = /held for review as (HM-\d{4}-\d{6})/.exec(r.response)?.[1] ?? '';
    expect(heldRef).toMatch(/^HM-\d{4}-\d{6}$/);
    expect(r.response).not.toContain(PUPIL.surname);

    // The 250 came after the commit: the CLI (another process) sees the incident at once.
    const list = await cli(['quarantine', 'list', '--json', '--config', configFile]);
    expect(list.status, list.stderr).toBe(0);
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((x) => x.reference)).toContain(heldRef);
    const row = rows.find((x) => x.reference === heldRef)!;
    expect(row).toMatchObject({ status: 'open', kind: 'held', action: 'quarantine', sender: TEACHER, recipients: [OUTSIDER], rules: ['unencrypted-sensitive-attachment'], severity: 4 });

    await sink.waitForMessages(before + 2);
    await new Promise((res) => setTimeout(res, 600)); // nothing else is on its way
    const fresh = sink.messages.slice(before);
    expect(fresh.map((m) => m.rcptTo).sort()).toEqual([[SCHOOL.business_manager], [TEACHER]]);
    expect(ofSink(OUTSIDER)).toHaveLength(0);

    const bm = await parse(fresh.find((m) => m.rcptTo[0] === SCHOOL.business_manager)!);
    expectAutomatic(bm);
    expectNoPupilData(bm);
    expect(bm.parsed.subject).toBe(`[Hallmonitor] Email held for review: ${heldRef} – Personal information in an attachment that is not password protected`);
    const bmText = bm.parsed.text!;
    // A held email never left: no ICO deadline, and with a console there are links, not commands.
    expect(bmText).not.toMatch(/npx|ICO by|within 72 hours/);
    for (const s of [heldRef, TEACHER, OUTSIDER, 'It has NOT been sent', PUPIL.redacted, 'Severity:    4 of 5', 'Nothing has left the school, so this is not a data breach',
      `https://hallmonitor.oakfield.sch.uk/incidents/${heldRef}`, 'the attachment "A***** T******** t*** l***.csv"']) {
      expect(bmText).toContain(s);
    }
    expect(bm.parsed.headers.get('x-hallmonitor-reference')).toBe(heldRef);

    const sender = await parse(fresh.find((m) => m.rcptTo[0] === TEACHER)!);
    expectAutomatic(sender);
    expectNoPupilData(sender);
    expect(sender.parsed.subject).toBe(`Your email is being held for a quick check (${heldRef})`);
    const t = sender.parsed.text!;
    for (const s of ['has NOT been sent yet', 'Personal information in an attachment that is not password protected', 'Encrypt with Password',
      '7-Zip', 'AES-256', 'Export as PDF', 'by phone, by text message or in person', SCHOOL.business_manager, heldRef]) {
      expect(t).toContain(s);
    }
    expect(sender.parsed.html).toContain('<ol><li>Open the file in Word, Excel or PowerPoint');
    // The gateway's own log names neither the pupil nor the subject.
    expect(mentions(gw.logText(), PUPIL.surname)).toBe(false);
  });

  it('quarantine show prints the incident with redacted findings, its history and its notices', async () => {
    const r = await cli(['quarantine', 'show', heldRef, '--config', configFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Incident ${heldRef}`);
    expect(r.stdout).toContain('status:     open');
    expect(r.stdout).toContain(PUPIL.redacted);
    expect(r.stdout).toContain('held for review; rules: unencrypted-sensitive-attachment');
    expect(r.stdout).toMatch(/business-manager → business\.manager@oakfield\.sch\.uk \(immediate\): sent/);
    expect(r.stdout).not.toContain(PUPIL.surname);
  });

  it('release via the CLI delivers the original bytes unchanged to the original recipients, recorded with who and why', async () => {
    const r = await cli(['quarantine', 'release', heldRef, '--reason', 'Coach company needs the medical list; agreed with the head', '--as', 'Sarah Jones', '--config', configFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${heldRef} released by Sarah Jones.`);
    expect(r.stdout).toContain('Delivered to 1 recipient(s)');
    const delivered = ofSink(OUTSIDER);
    expect(delivered).toHaveLength(1);
    expect(delivered[0].mailFrom).toBe(TEACHER);
    expect(delivered[0].rcptTo).toEqual([OUTSIDER]);
    const { trace, rest } = splitTrace(delivered[0].data);
    expect(trace).toContain('by hallmonitor.oakfield.sch.uk (Hallmonitor)');
    expect(Buffer.compare(rest, heldRaw)).toBe(0);

    const show = await cli(['incidents', 'show', heldRef, '--json', '--config', configFile]);
    const inc = JSON.parse(show.stdout) as { status: string; history: Array<{ actor: string; action: string; detail: string | null }> };
    expect(inc.status).toBe('released');
    expect(inc.history.map((h) => h.action)).toEqual(expect.arrayContaining(['held', 'notified', 'released', 'delivered']));
    expect(inc.history.find((h) => h.action === 'released')).toMatchObject({ actor: 'Sarah Jones', detail: 'Coach company needs the medical list; agreed with the head' });

    // A second release is refused: it was delivered once and only once.
    const again = await cli(['quarantine', 'release', heldRef, '--reason', 'again', '--config', configFile]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('is released, not open');
    await new Promise((res) => setTimeout(res, 500));
    expect(ofSink(OUTSIDER)).toHaveLength(1);
  });

  it('reject via the CLI tells the sender it will not be sent, and delivers nothing', async () => {
    const raw = withVerdict('quarantine');
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], raw);
    const ref = /(HM-\d{4}-\d{6})/.exec(r.response)![1];
    await waitFor('the held notices', () => sink.messages.filter((m) => (m.data.toString('latin1').includes(ref))).length >= 2 || undefined);
    const before = sink.messages.length;
    // The reviewer names the pupil and her UPN: the sender is shown the reason redacted.
    // Her parent's address, a phone number and another address too (issue 15, finding 7).
    const reason = `Amelia Thornbury's medical details (UPN Q823456789012) must not go to the coach company unencrypted. Send it encrypted instead. Her mum (k.thornbury@gmail.com, 07700 900123) has the password; or ask trips@coachtravel.example.`;
    const rej = await cli(['quarantine', 'reject', ref, '--reason', reason, '--as', 'Sarah Jones', '--config', configFile]);
    expect(rej.status, rej.stderr).toBe(0);
    expect(rej.stdout).toContain('The sender will be told');
    await sink.waitForMessages(before + 1);
    const n = await parse(sink.messages[before]);
    expect(n.to).toBe(TEACHER);
    expectAutomatic(n);
    expectNoPupilData(n);
    expect(n.parsed.subject).toBe(`Your held email will not be sent (${ref})`);
    expect(n.parsed.text).toContain('reviewed and will NOT be sent');
    expect(n.parsed.text).toContain('Encrypt with Password');
    expect(n.parsed.text).toContain(`What the reviewer said:\n  ${PUPIL.redacted}'s medical details (UPN Q8234********) must not go to the coach company unencrypted. Send it encrypted instead. Her mum (k***@gmail.com, 077** ******) has the password; or ask t***@coachtravel.example.`);
    expect(n.parsed.html).toContain('What the reviewer said:');
    for (const secret of ['Q823456789012', 'k.thornbury', '900123', 'trips@']) expect(visible(n), secret).not.toContain(secret);
    // The history keeps the reviewer's own words and, separately, what the sender was shown.
    const history = JSON.parse((await cli(['incidents', 'show', ref, '--json', '--config', configFile])).stdout) as { history: Array<{ action: string; detail: string | null }> };
    expect(history.history.find((h) => h.action === 'rejected')?.detail).toBe(reason);
    expect(history.history.find((h) => h.action === 'note-to-sender')?.detail).toContain(PUPIL.redacted);
    expect(ofSink(OUTSIDER)).toHaveLength(1); // only the earlier release
    const show = JSON.parse((await cli(['incidents', 'show', ref, '--json', '--config', configFile])).stdout) as { status: string };
    expect(show.status).toBe('rejected');
  });

  it('a blocked message is kept as a near miss, answered 250, and the sender is told how to fix it (initials in the subject)', async () => {
    const before = sink.messages.length;
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], withVerdict('block'));
    expect(r.code).toBe(250);
    expect(r.response).toMatch(/not delivered, recorded as HM-\d{4}-\d{6}/);
    const ref = /(HM-\d{4}-\d{6})/.exec(r.response)![1];
    await sink.waitForMessages(before + 1);
    await new Promise((res) => setTimeout(res, 600));
    // pupil-name-in-subject tells the business manager in the daily digest (shipped default), not now.
    expect(sink.messages.slice(before).map((m) => m.rcptTo[0])).toEqual([TEACHER]);
    const n = await parse(sink.messages[before]);
    expectNoPupilData(n);
    expect(n.parsed.subject).toBe(`Your email was not sent: please fix it and send it again (${ref})`);
    expect(n.parsed.text).toContain('was NOT sent');
    expect(n.parsed.text).toContain("Change the subject to use the pupil's initials");
    const inc = JSON.parse((await cli(['incidents', 'show', ref, '--json', '--config', configFile])).stdout) as { kind: string; status: string };
    expect(inc).toMatchObject({ kind: 'near-miss', status: 'open' });
    const shown = (await cli(['quarantine', 'show', ref, '--config', configFile])).stdout;
    expect(shown).toMatch(/business-manager → business\.manager@oakfield\.sch\.uk \(digest\): pending/);
  });

  it.each(RULE_IDS.map((id) => [id]))('a message breaking %s is held with its incident and the notices carry that rule and its advice', async (id) => {
    const before = sink.messages.length;
    const r = await sendRaw(gw.port, TEACHER, [OUTSIDER], withVerdict(`rule:${id}`));
    expect(r.code).toBe(250);
    const ref = /(HM-\d{4}-\d{6})/.exec(r.response)![1];
    const d = RULES[id].defaults;
    const expected = [TEACHER, ...(d.notify === 'immediate' ? [SCHOOL.business_manager] : []), ...(d.severity >= 5 ? [SCHOOL.safeguarding_lead] : [])];
    await sink.waitForMessages(before + expected.length);
    await new Promise((res) => setTimeout(res, 400));
    const fresh = await Promise.all(sink.messages.slice(before).map(parse));
    expect(fresh.map((n) => n.to).sort()).toEqual(expected.sort());
    const inc = await findIncident(gw.gateway.store.db, ref);
    expect(inc).toMatchObject({ rules: [id], severity: d.severity, status: 'open', kind: d.action === 'block' ? 'near-miss' : 'held' });
    expect(inc!.findings[0].evidence).toBe(PUPIL.redacted);
    const held = await heldMessage(gw.gateway.store.db, ref);
    expect(held?.raw?.length).toBeGreaterThan(500);
    expect(held?.envelope.rcptTo.map((x) => x.address)).toEqual([OUTSIDER]);
    for (const n of fresh) {
      expectAutomatic(n);
      expectNoPupilData(n);
      expect(n.parsed.text).toContain(ref);
    }
    const sender = fresh.find((n) => n.to === TEACHER)!;
    expect(sender.parsed.subject).toContain(d.action === 'block' ? 'was not sent' : 'held for a quick check');
    const advice: Record<string, string> = {
      'pupil-name-in-subject': 'initials',
      'pupil-name-in-attachment-name': 'Rename the file',
      'unencrypted-sensitive-attachment': 'Encrypt with Password',
      'password-in-same-email': 'by phone, by text message or in person',
      'forward-to-personal-domain': 'Do not forward this email to a personal account',
      'identifier-in-message': 'Take the number out of the email text',
      'uninspectable-attachment': 'The business manager will look at the email',
      'misdirected-pupil-data': 'Check the recipient',
      'personal-data-in-body': 'put it in a password-protected document instead of the email text',
      'recipients-exposed': "Put the parents' addresses in Bcc",
    };
    expect(sender.parsed.text).toContain(advice[id]);
    const dsl = fresh.find((n) => n.to === SCHOOL.safeguarding_lead);
    if (dsl) expect(dsl.parsed.text).toContain('designated safeguarding lead');
  });
});
