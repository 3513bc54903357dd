// Many schools, one service: each school is checked against its own roster and policy; a sender
// domain no school owns is refused before any content is taken.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig, type Config } from '../src/config/index.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';
import { loadTenants, TenantDirectory } from '../src/tenants.ts';
import { startSink, type Sink } from './helpers/smtp.ts';
import { sendRaw } from './quarantine-helpers.ts';

const OAKFIELD_ROSTER = 'UPN,Legal Surname,Legal Forename,Primary Contact Email\nQ823456789012,Thornbury,Amelia,k.thornbury@gmail.com\n';
// One export for the rest of the trust, with a school column.
const TRUST_ROSTER = 'School,UPN,Surname,Forename,Contact 1 Email\nElmwood Academy,E823456789013,Okonkwo,Chidi,okonkwo.family@hotmail.co.uk\nBirch Primary,U823456789014,Fairweather,Grace,fairweather.home@outlook.com\n';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hm-tenants-'));
  writeFileSync(path.join(dir, 'oakfield.csv'), OAKFIELD_ROSTER);
  writeFileSync(path.join(dir, 'trust.csv'), TRUST_ROSTER);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trustConfig(extra: Record<string, unknown> = {}, nextHop?: { host: string; port: number }): Config {
  return validateConfig({
    hostname: 'hallmonitor.trust.test',
    listen: '127.0.0.1:0',
    data_dir: path.join(dir, `data-${Math.random().toString(36).slice(2)}`),
    health: { listen: null },
    log: { level: 'silent' },
    ...(nextHop ? { next_hop: { host: nextHop.host, port: nextHop.port, starttls: 'off', timeout_seconds: 5 } } : {}),
    school: { partner_domains: ['county.gov.uk'], business_manager: 'dpo@trust.example.org' },
    policy: { rules: { 'pupil-name-in-subject': { action: 'block', notify: 'immediate' } } },
    trust: { name: 'Example Academy Trust', roster: path.join(dir, 'trust.csv') },
    tenants: [
      { id: 'oakfield', name: 'Oakfield Primary', domains: ['oakfield.sch.uk'], school: { roster: path.join(dir, 'oakfield.csv'), business_manager: 'bm@oakfield.sch.uk' } },
      { id: 'elmwood', name: 'Elmwood Academy', domains: ['elmwood.sch.uk'], policy: { rules: { 'pupil-name-in-subject': { action: 'quarantine' } } } },
      { id: 'birch', name: 'Birch Primary', domains: ['birch.sch.uk'], policy: { block_mode: 'reject' } },
    ],
    ...extra,
  }, '(test)', {}, {}, dir);
}

describe('tenants: configuration', () => {
  it('each school inherits the trust defaults and overrides its own', () => {
    const tenants = loadTenants(trustConfig());
    expect(tenants.map((t) => t.id)).toEqual(['oakfield', 'elmwood', 'birch']);
    const [oak, elm] = tenants;
    expect(oak.config.school).toMatchObject({ name: 'Oakfield Primary', domains: ['oakfield.sch.uk'], partner_domains: ['county.gov.uk'], business_manager: 'bm@oakfield.sch.uk' });
    expect(elm.config.school).toMatchObject({ business_manager: 'dpo@trust.example.org' });
    expect((elm.config.policy.rules as Record<string, { action: string }>)['pupil-name-in-subject'].action).toBe('quarantine');
    expect((oak.config.policy.rules as Record<string, { action: string }>)['pupil-name-in-subject'].action).toBe('block');
    expect(elm.trustRoster).toEqual({ path: path.join(dir, 'trust.csv'), school: 'elmwood' });
    expect(oak.trustRoster).toBeUndefined();
  });

  it('refuses overlapping domains, unknown relay users and schools without a roster, naming the key', () => {
    const bad = () => loadTenants(trustConfig({
      trust: {},
      tenants: [
        { id: 'a', name: 'A', domains: ['a.sch.uk'], relay_users: ['ghost'] },
        { id: 'a', name: 'B', domains: ['a.sch.uk'], school: { roster: 'x.csv' } },
      ],
    }));
    expect(bad).toThrow(/tenants\[0\]\.relay_users\[0\]: "ghost" is not one of relay\.users/);
    expect(bad).toThrow(/tenants\[1\]\.id: "a" is used by another tenant/);
    expect(bad).toThrow(/tenants\[1\]\.domains\[0\]: a\.sch\.uk already belongs to tenant a/);
    expect(bad).toThrow(/tenants\[0\]: no roster/);
  });

  it('resolves the school by sender domain (subdomains too), unknown domains to none', () => {
    const d = new TenantDirectory(loadTenants(trustConfig()));
    expect(d.resolve('head@oakfield.sch.uk')?.id).toBe('oakfield');
    expect(d.resolve('office@mail.elmwood.sch.uk')?.id).toBe('elmwood');
    expect(d.resolve('someone@evil.example')).toBeUndefined();
    expect(d.resolve('')).toBeUndefined();
  });
});

describe('a single school', () => {
  const single = (school: Record<string, unknown>) => new TenantDirectory(loadTenants(validateConfig({ school }, '(test)', {}, {}, dir)));
  it('with its domains listed, mail from other domains is refused; without, any sender is its own', () => {
    const listed = single({ domains: ['oakfield.sch.uk'] });
    expect(listed.checksSenders).toBe(true);
    expect(listed.resolve('head@oakfield.sch.uk')?.id).toBe('school');
    expect(listed.resolve('someone@other-tenant.onmicrosoft.com')).toBeUndefined();
    const open = single({});
    expect(open.checksSenders).toBe(false);
    expect(open.resolve('anyone@anywhere.example')?.id).toBe('school');
  });
});

describe('tenants: through the relay', () => {
  let sink: Sink;
  let gateway: Gateway;
  let port: number;
  const subjectMail = (from: string, subject: string) => Buffer.from(`From: ${from}\r\nTo: tutor@learning.example\r\nSubject: ${subject}\r\nMessage-ID: <${Math.random()}@t>\r\n\r\nNotes to follow.\r\n`);

  beforeAll(async () => {
    sink = await startSink();
    gateway = await startGateway(trustConfig({}, { host: '127.0.0.1', port: sink.port }), { logger: pino({ level: 'silent' }) });
    port = gateway.receiver.address().port;
  });
  afterAll(async () => {
    await gateway?.stop();
    await sink?.close();
  });

  it("each school's mail is checked against its own roster only", async () => {
    const before = sink.messages.length;
    // Amelia Thornbury is Oakfield's pupil: Oakfield's mail naming her is blocked...
    const oak = await sendRaw(port, 'teacher@oakfield.sch.uk', ['tutor@learning.example'], subjectMail('teacher@oakfield.sch.uk', 'Notes for Amelia Thornbury'));
    expect(oak.code).toBe(250);
    // ...but the same subject from Elmwood names nobody Elmwood knows: delivered.
    const elm = await sendRaw(port, 'teacher@elmwood.sch.uk', ['tutor@learning.example'], subjectMail('teacher@elmwood.sch.uk', 'Notes for Amelia Thornbury'));
    expect(elm.code).toBe(250);
    // Chidi Okonkwo is Elmwood's (from the trust-wide export): held, by Elmwood's own action.
    const elm2 = await sendRaw(port, 'teacher@elmwood.sch.uk', ['tutor@learning.example'], subjectMail('teacher@elmwood.sch.uk', 'Notes for Chidi Okonkwo'));
    expect(elm2.code).toBe(250);
    // ...and not Birch's pupil, though Birch shares the trust export.
    const birch = await sendRaw(port, 'teacher@birch.sch.uk', ['tutor@learning.example'], subjectMail('teacher@birch.sch.uk', 'Notes for Chidi Okonkwo'));
    expect(birch.code).toBe(250);
    await sink.waitForMessages(before + 2);
    const delivered = sink.messages.slice(before).map((m) => m.mailFrom).filter(Boolean); // notices come from <>
    expect(delivered.sort()).toEqual(['teacher@birch.sch.uk', 'teacher@elmwood.sch.uk']);
    // Each school's business manager hears about its own held mail (Elmwood inherits the trust's).
    const notices = await waitForNotices(before, 2);
    expect(notices.map((n) => n.rcpt).sort()).toEqual(['bm@oakfield.sch.uk', 'dpo@trust.example.org']);
    const incidents = await gateway.store.db.selectFrom('incidents').select(['sender', 'action', 'rules']).orderBy('detected_at').execute();
    expect(incidents.map((i) => [i.sender, i.action, JSON.parse(i.rules)])).toEqual([
      ['teacher@oakfield.sch.uk', 'block', ['pupil-name-in-subject']],
      ['teacher@elmwood.sch.uk', 'quarantine', ['pupil-name-in-subject']],
    ]);
  });

  async function waitForNotices(before: number, n: number) {
    // Notices to the business managers (the senders' own notices go to the teachers).
    const notices = () => sink.messages.slice(before)
      .filter((m) => m.mailFrom === '' && !m.rcptTo[0].startsWith('teacher@'))
      .map((m) => ({ rcpt: m.rcptTo[0] }));
    const until = Date.now() + 15_000;
    while (notices().length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    return notices();
  }

  it("a school's own block mode: Birch rejects blocked mail at SMTP, Oakfield keeps the trust's hold", async () => {
    const birch = await sendRaw(port, 'teacher@birch.sch.uk', ['tutor@learning.example'], subjectMail('teacher@birch.sch.uk', 'Notes for Grace Fairweather'));
    expect(birch.code).toBe(550);
    expect(birch.response).toMatch(/5\.7\.1 Not sent: it breaks the school's rule pupil-name-in-subject \(ref HM-\d{4}-\d{6}\)/);
    const oak = await sendRaw(port, 'teacher@oakfield.sch.uk', ['tutor@learning.example'], subjectMail('teacher@oakfield.sch.uk', 'Notes for Amelia Thornbury'));
    expect(oak.code).toBe(250);
  });

  it('a sender domain that no school owns is refused with 5.7.1 before any content', async () => {
    const r = await sendRaw(port, 'someone@evil.example', ['x@y.example'], subjectMail('someone@evil.example', 'hello'));
    expect(r.code).toBe(550);
    expect(r.response).toMatch(/5\.7\.1 Sender domain is not a school served by this gateway/);
  });

  it("a bounce (null sender) belongs to the school in its From header, or is refused", async () => {
    const before = sink.messages.length;
    const ok = await sendRaw(port, '', ['parent@home.example'], subjectMail('MAILER-DAEMON@mail.birch.sch.uk', 'Undeliverable: trip'));
    expect(ok.code).toBe(250);
    await sink.waitForMessages(before + 1);
    const nobody = await sendRaw(port, '', ['parent@home.example'], subjectMail('MAILER-DAEMON@evil.example', 'Undeliverable'));
    expect(nobody.code).toBe(550);
  });
});
