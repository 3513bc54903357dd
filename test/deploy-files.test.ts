// The deployment artefacts in deploy/, checked as far as this machine allows without a Docker
// engine: the compose file is parsed by the Docker Compose tool itself and its topology is
// checked against the gateway configurations it mounts; HAProxy checks its own configuration and
// then runs that configuration's backend in front of two real gateways on loopback (PROXY protocol,
// health checks, failover when one stops); Postfix checks the demo school server's main.cf;
// systemd checks the unit; the Dockerfile's stages, user and copied paths are checked against
// what the sources actually import.
import { generateKeyPairSync } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import net from 'node:net';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig, validateConfig, type Config } from '../src/config/index.ts';
import { inNetworks, parseCidr } from '../src/config/net.ts';
import { loadPolicy } from '../src/decide/policy.ts';
import { RULE_IDS } from '../src/decide/rules.ts';
import { loadRoster } from '../src/roster/index.ts';
import { isValidUpn } from '../detectors/library/checksums.ts';
import { startGateway, type Gateway } from '../src/gateway.ts';
import { CHECKED_HEADER, checkedValue } from '../src/act/checked.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEPLOY = path.join(ROOT, 'deploy');
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');

// ---------------------------------------------------------------------------------------------
// Small parsers for the files under test
// ---------------------------------------------------------------------------------------------

interface HaproxySection { kind: string; name: string; lines: string[] }

/** HAProxy's format: a section starts on an unindented line; its settings are indented. */
function parseHaproxy(text: string): HaproxySection[] {
  const sections: HaproxySection[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      const [kind, name = ''] = line.trim().split(/\s+/);
      sections.push({ kind, name, lines: [] });
    } else {
      sections.at(-1)!.lines.push(line.trim());
    }
  }
  return sections;
}

interface DockerStage { from: string; name?: string; instructions: Array<{ op: string; args: string }> }

/** Dockerfile instructions, with continuation lines joined, grouped by stage. */
function parseDockerfile(text: string): DockerStage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw) || (!raw.trim() && !current)) continue;
    if (raw.trimEnd().endsWith('\\')) {
      current += raw.trimEnd().slice(0, -1) + ' ';
      continue;
    }
    current += raw;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const stages: DockerStage[] = [];
  for (const l of logical) {
    const [op, ...rest] = l.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: m?.[1] ?? args, name: m?.[2], instructions: [] });
    } else if (stages.length) {
      stages.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

function systemdDirectives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('[')) continue;
    const i = line.indexOf('=');
    const key = line.slice(0, i);
    out.set(key, [...(out.get(key) ?? []), line.slice(i + 1)]);
  }
  return out;
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`${cmd} could not be run (${(r.error as NodeJS.ErrnoException).code}): it is a required test tool: npm test installs it (test/prepare.sh)`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `docker compose` (the v2 plugin) where it exists, else Debian's `docker-compose`. */
function composeCommand(): { cmd: string; pre: string[] } {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return { cmd: 'docker', pre: ['compose'] };
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return { cmd: 'docker-compose', pre: [] };
  throw new Error('neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose; npm test installs it, test/prepare.sh)');
}

// ---------------------------------------------------------------------------------------------
// compose.yaml: parsed by Compose itself, and its topology consistent with the configs it mounts
// ---------------------------------------------------------------------------------------------

type Service = {
  build?: { context: string; dockerfile?: string };
  image?: string;
  volumes?: Array<string | { source: string; target: string; type: string }>;
  networks?: Record<string, { ipv4_address?: string } | null>;
  healthcheck?: { test: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
  environment?: Record<string, string> | string[];
  stop_grace_period?: string;
  ports?: Array<string | { target: number; published: string | number; host_ip?: string }>;
};

describe('deploy/compose.yaml', () => {
  let compose: { services: Record<string, Service>; networks: Record<string, { ipam?: { config?: Array<{ subnet: string }> } }> };
  let gateways: Array<{ name: string; service: Service; configFile: string; config: Config }>;

  beforeAll(() => {
    const { cmd, pre } = composeCommand();
    const r = run(cmd, [...pre, '-f', 'deploy/compose.yaml', 'config']);
    expect(r.stderr.replace(/^.*(version|obsolete).*$/gim, '').trim(), r.stderr).toBe('');
    expect(r.code).toBe(0);
    compose = parseYaml(r.stdout);
    gateways = Object.entries(compose.services)
      .filter(([, s]) => s.build?.dockerfile === 'deploy/Dockerfile')
      .map(([name, service]) => {
        const mount = mounts(service).find((m) => m.target === '/etc/hallmonitor/hallmonitor.yaml');
        expect(mount, `${name} mounts its configuration at /etc/hallmonitor/hallmonitor.yaml`).toBeDefined();
        return { name, service, configFile: mount!.source, config: loadConfig(mount!.source, {}, {}) };
      });
  });

  const mounts = (s: Service) =>
    (s.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : { source: v.source, target: v.target }));
  const address = (service: string) => Object.values(compose.services[service].networks ?? {}).map((n) => n?.ipv4_address).find(Boolean);

  it('has the whole topology: two gateways built from deploy/Dockerfile, PostgreSQL, the load balancer, Postfix and a sink', () => {
    expect(gateways.map((g) => g.name).sort()).toEqual(['gateway-1', 'gateway-2']);
    expect(Object.keys(compose.services).sort()).toEqual(['gateway-1', 'gateway-2', 'loadbalancer', 'mail-sink', 'postgres', 'school-mail']);
    expect(compose.services.postgres.image).toMatch(/^postgres:/);
    expect(compose.services.loadbalancer.image).toMatch(/^haproxy:/);
    expect(mounts(compose.services.loadbalancer)).toContainEqual({ source: path.join(DEPLOY, 'haproxy.cfg'), target: '/usr/local/etc/haproxy/haproxy.cfg' });
    expect(compose.services['school-mail'].build?.context).toBe(path.join(DEPLOY, 'compose/school-mail'));
  });

  it('health-checks the gateways with `hallmonitor health` and PostgreSQL with pg_isready, and starts gateways only on a healthy database', () => {
    for (const g of gateways) {
      const test = g.service.healthcheck?.test as string[];
      expect(test.join(' ')).toContain('bin/hallmonitor.js health');
      // The health check asks the port the gateway's config actually listens on.
      expect(test.join(' ')).toContain(`:${g.config.health.listen?.port}/health`);
      expect(g.service.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' } });
    }
    expect((compose.services.postgres.healthcheck?.test as string[]).join(' ')).toContain('pg_isready');
    expect((compose.services['school-mail'].healthcheck?.test as string[]).join(' ')).toContain('postfix status');
  });

  it('gives each gateway a configuration Hallmonitor accepts, with its own name, the shared PostgreSQL and a next hop inside the demo', () => {
    const hostnames = new Set(gateways.map((g) => g.config.hostname));
    expect(hostnames.size).toBe(gateways.length);
    for (const g of gateways) {
      const c = g.config;
      expect(c.listen.host).toBe('0.0.0.0');
      expect(c.health.listen?.host).toBe('0.0.0.0');
      expect(c.nextHop && Object.keys(compose.services)).toContain(c.nextHop!.host);
      const url = new URL(String(c.store.database_url));
      expect(url.protocol).toBe('postgres:');
      expect(url.hostname).toBe('postgres');
      expect(url.pathname).toBe(`/${(compose.services.postgres.environment as Record<string, string>).POSTGRES_DB}`);
      // The password travels in the environment, not in the mounted file, and the URL there
      // points at the same database.
      expect(url.password).toBe('');
      const envUrl = new URL((g.service.environment as Record<string, string>).HALLMONITOR_DATABASE_URL);
      expect(envUrl.hostname).toBe('postgres');
      expect(envUrl.password).toBe((compose.services.postgres.environment as Record<string, string>).POSTGRES_PASSWORD);
      const envConfig = loadConfig(g.configFile, {}, { HALLMONITOR_DATABASE_URL: envUrl.toString() });
      expect(envConfig.store.database_url).toBe(envUrl.toString());
    }
  });

  it('lets only the load balancer send PROXY headers, and only the school server relay', () => {
    const lb = address('loadbalancer');
    const school = address('school-mail');
    expect(lb).toBeDefined();
    expect(school).toBeDefined();
    const subnet = parseCidr(compose.networks.mailnet.ipam!.config![0].subnet);
    expect(inNetworks(lb!, [subnet]) && inNetworks(school!, [subnet])).toBe(true);
    for (const g of gateways) {
      const r = g.config.relay;
      expect(inNetworks(lb!, r.proxyProtocolFrom), `${g.name}: proxy_protocol_from names the load balancer`).toBe(true);
      expect(inNetworks(school!, r.allowNetworks), `${g.name}: allow_networks names the school server`).toBe(true);
      // The load balancer itself must not be a permitted relay client: with the PROXY header the
      // gateway judges the real client, and a connection without one must not pass as trusted.
      expect(inNetworks(lb!, r.allowNetworks), `${g.name}: the load balancer is not in allow_networks`).toBe(false);
      // Nothing else on the demo network may relay.
      for (const other of ['postgres', 'mail-sink', 'gateway-1', 'gateway-2']) {
        const a = address(other);
        if (a) expect(inNetworks(a, r.allowNetworks)).toBe(false);
      }
    }
  });

  it('gives a stopping gateway longer than its data timeout to finish messages in flight', () => {
    for (const g of gateways) {
      const m = /^(\d+)([ms])$/.exec(String(g.service.stop_grace_period));
      expect(m, `${g.name} stop_grace_period`).not.toBeNull();
      const seconds = Number(m![1]) * (m![2] === 'm' ? 60 : 1);
      expect(seconds).toBeGreaterThan(g.config.relay.dataTimeoutSeconds);
    }
  });

  it('points the load balancer at every gateway, with PROXY protocol and checks on each gateway\'s health port', () => {
    const cfg = parseHaproxy(read('deploy/haproxy.cfg'));
    const frontend = cfg.find((s) => s.kind === 'frontend' && s.lines.some((l) => l.startsWith('default_backend')))!;
    const backendName = frontend.lines.find((l) => l.startsWith('default_backend'))!.split(/\s+/)[1];
    const backend = cfg.find((s) => s.kind === 'backend' && s.name === backendName)!;
    const defaults = (backend.lines.find((l) => l.startsWith('default-server')) ?? '').split(/\s+/);
    const servers = backend.lines.filter((l) => l.startsWith('server ')).map((l) => l.split(/\s+/));
    expect(servers.map((s) => s[2].split(':')[0]).sort()).toEqual(gateways.map((g) => g.name).sort());
    for (const s of servers) {
      const g = gateways.find((x) => x.name === s[2].split(':')[0])!;
      const opts = [...defaults, ...s.slice(3)];
      expect(Number(s[2].split(':')[1])).toBe(g.config.listen.port);
      expect(opts).toContain('send-proxy');
      expect(opts).toContain('check');
      expect(opts[opts.indexOf('port') + 1]).toBe(String(g.config.health.listen?.port));
    }
    // The school server relays to the load balancer's SMTP frontend.
    const bindPort = frontend.lines.find((l) => l.startsWith('bind'))!.split(/\s+/)[1].split(':').at(-1);
    const mainCf = read('deploy/compose/school-mail/main.cf');
    expect(mainCf).toMatch(new RegExp(`^relayhost = \\[loadbalancer\\]:${bindPort}$`, 'm'));
  });
});

// ---------------------------------------------------------------------------------------------
// Every gateway configuration shipped in deploy/compose/ passes Hallmonitor's own validators
// ---------------------------------------------------------------------------------------------

describe('deploy/compose/*.yaml', () => {
  const files = readdirSync(path.join(DEPLOY, 'compose')).filter((f) => /\.ya?ml$/.test(f));

  it('has the gateway configurations', () => {
    expect(files.sort()).toEqual(['gateway-1.yaml', 'gateway-2.yaml']);
  });

  it.each(files)('%s is accepted by loadConfig and the policy validator, and names existing demo files', async (file) => {
    const full = path.join(DEPLOY, 'compose', file);
    const config = loadConfig(full, {}, {});
    expect(config.nextHop).not.toBeNull();
    const policy = loadPolicy(config, {}, path.dirname(full));
    expect(policy.mode).toBe('monitor');
    expect(policy.schoolDomains.length).toBeGreaterThan(0);
    // The roster path is the in-container mount of deploy/compose/roster.csv.
    expect(policy.rosterPath).toBe('/etc/hallmonitor/roster.csv');
    expect(read('deploy/compose.yaml')).toContain(`./compose/roster.csv:${policy.rosterPath}:ro`);
    // The store section is validated by its module once that module is part of the tree.
    const storeModule = path.join(ROOT, 'src/store/config.ts');
    if (existsSync(storeModule)) {
      const mod = (await import(storeModule)) as { storeSettings(c: Config): { databaseUrl: string | null } };
      expect(mod.storeSettings(config).databaseUrl).toBe(config.store.database_url);
    }
  });

  it('the demo roster is fictional, shaped like an MIS export, and read by the roster loader without a problem', async () => {
    const { roster, problems } = await loadRoster(path.join(DEPLOY, 'compose/roster.csv'));
    expect(problems).toEqual([]);
    expect(roster.pupils.length).toBe(5);
    // Every UPN carries a valid check letter, so the demo's identifier detector treats them as real.
    for (const p of roster.pupils) {
      expect(isValidUpn(String(p.upn)), 'UPN check letter').toBe(true);
      expect(roster.pupilsByUpn(String(p.upn))).toContain(p);
    }
    const lines = read('deploy/compose/roster.csv').trim().split('\n');
    expect(lines[0].split(',')).toEqual(expect.arrayContaining(['UPN', 'Legal Surname', 'Legal Forename']));
    expect(lines.length).toBeGreaterThan(3);
    // Contact addresses only on the reserved example domains.
    for (const l of lines.slice(1)) for (const a of l.match(/[^,\s]+@[^,\s]+/g) ?? []) expect(a).toMatch(/@example\.(net|org|com)$/);
  });
});

// ---------------------------------------------------------------------------------------------
// HAProxy: its configuration is valid, and its backend really works in front of two gateways
// ---------------------------------------------------------------------------------------------

describe('deploy/haproxy.cfg', () => {
  it('is valid for haproxy -c', () => {
    const r = run('haproxy', ['-c', '-f', 'deploy/haproxy.cfg']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The only warnings allowed are the gateway names that only Docker's DNS resolves.
    const warnings = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('[WARNING]'));
    for (const w of warnings) expect(w).toMatch(/could not resolve address 'gateway-\d'/);
  });

  describe('its backend in front of two real gateways on loopback', () => {
    // The client plays the school server from 127.0.0.3; HAProxy reaches the gateways from
    // 127.0.0.1. The gateways permit only 127.0.0.3 to relay, so a message gets through only if
    // the PROXY header carried the real client address.
    const CLIENT = '127.0.0.3';
    let haproxy: ChildProcess;
    let haproxyLog = '';
    let lbPort: number;
    const gws: Array<{ name: string; gateway: Gateway; dataDir: string }> = [];
    const logs: string[] = [];

    beforeAll(async () => {
      for (const name of ['gateway-1', 'gateway-2']) {
        const dataDir = mkdtempSync(path.join(tmpdir(), `hm-deploy-${name}-`));
        // The demo configuration, moved onto loopback: same hostname, same relay rules shape.
        const doc = parseYaml(read(`deploy/compose/${name}.yaml`)) as Record<string, unknown>;
        delete doc.next_hop; // capture mode: delivered mail is written to dataDir/captured
        delete doc.store;
        delete doc.school;
        delete doc.policy;
        doc.listen = '127.0.0.1:0';
        doc.data_dir = dataDir;
        doc.health = { listen: '127.0.0.1:0' };
        doc.relay = { ...(doc.relay as object), allow_networks: [`${CLIENT}/32`], proxy_protocol_from: ['127.0.0.1/32'] };
        const config = validateConfig(doc, `${name} (loopback)`, {}, {}, dataDir);
        const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
        gws.push({ name, gateway: await startGateway(config, { logger }), dataDir });
      }
      lbPort = await freePort();
      const derived = loopbackHaproxy(read('deploy/haproxy.cfg'), lbPort, gws.map((g) => ({
        name: g.name,
        smtp: g.gateway.receiver.address().port,
        health: g.gateway.health!.address().port,
      })));
      const dir = mkdtempSync(path.join(tmpdir(), 'hm-haproxy-'));
      writeFileSync(path.join(dir, 'haproxy.cfg'), derived);
      const check = run('haproxy', ['-c', '-f', path.join(dir, 'haproxy.cfg')]);
      expect(check.code, check.stderr).toBe(0);
      haproxy = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
      haproxy.stdout!.on('data', (d: Buffer) => (haproxyLog += d.toString()));
      haproxy.stderr!.on('data', (d: Buffer) => (haproxyLog += d.toString()));
      await waitForPort(lbPort);
    });

    afterAll(async () => {
      if (haproxy && haproxy.exitCode === null) {
        haproxy.kill('SIGTERM');
        await new Promise((r) => haproxy.once('exit', r));
      }
      for (const g of gws) {
        await g.gateway.stop();
        rmSync(g.dataDir, { recursive: true, force: true });
      }
    });

    const send = (i: number) =>
      nodemailer
        .createTransport({ host: '127.0.0.1', port: lbPort, ignoreTLS: true, localAddress: CLIENT, name: 'mail.demo-primary.example', connectionTimeout: 15_000 })
        .sendMail({ envelope: { from: 'teacher@demo-primary.example', to: ['parent@example.com'] }, raw: `From: teacher@demo-primary.example\r\nTo: parent@example.com\r\nSubject: Trip ${i}\r\nMessage-ID: <trip-${i}@demo-primary.example>\r\n\r\nSee you on Friday (${i}).\r\n` });

    const captured = (g: { dataDir: string }) => {
      const dir = path.join(g.dataDir, 'captured');
      return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')) : [];
    };

    it('spreads messages over both gateways, which see the school server\'s address through the PROXY header', async () => {
      for (let i = 0; i < 6; i++) {
        const info = await send(i);
        expect(info.response, haproxyLog).toMatch(/^250 /);
      }
      const byGateway = gws.map(captured);
      expect(byGateway.flat()).toHaveLength(6);
      for (const [i, msgs] of byGateway.entries()) {
        expect(msgs.length, `${gws[i].name} got some of the messages`).toBeGreaterThan(0);
        for (const m of msgs) {
          // The Received line names the real client and the gateway that relayed it.
          const lines = m.split(/\r?\n/);
          const received = lines.findIndex((l) => l.startsWith('Received: '));
          expect(received).toBeGreaterThanOrEqual(0);
          expect(lines[received]).toBe(`Received: from mail.demo-primary.example ([${CLIENT}])`);
          expect(lines[received + 1]).toMatch(new RegExp(`^\\tby ${gws[i].gateway.config.hostname.replace(/\./g, '\\.')} \\(Hallmonitor\\)`));
        }
      }
      const ids = byGateway.flat().map((m) => /Subject: Trip (\d)/.exec(m)?.[1]).sort();
      expect(ids).toEqual(['0', '1', '2', '3', '4', '5']);
      expect(logs.join('')).not.toMatch(/relay-denied/);
    });

    it('keeps relaying through the other gateway while one is stopped for maintenance', async () => {
      const before = gws.map((g) => captured(g).length);
      await gws[0].gateway.stop();
      for (let i = 0; i < 4; i++) {
        const info = await send(6 + i);
        expect(info.response, haproxyLog).toMatch(/^250 /);
      }
      expect(captured(gws[0]).length).toBe(before[0]);
      expect(captured(gws[1]).length).toBe(before[1] + 4);
    });
  });
});

/** deploy/haproxy.cfg with only its addresses changed: the frontend on loopback, each gateway
 *  server at its loopback SMTP and health ports, no Docker DNS, no stats page. Everything under
 *  test (send-proxy, the HTTP health check, timeouts, retries, redispatch, balancing) is kept. */
function loopbackHaproxy(text: string, lbPort: number, servers: Array<{ name: string; smtp: number; health: number }>): string {
  const out: string[] = [];
  for (const s of parseHaproxy(text)) {
    if (s.kind === 'resolvers' || (s.kind === 'frontend' && !s.lines.some((l) => l.startsWith('default_backend')))) continue;
    out.push(`${s.kind} ${s.name}`.trim());
    for (const line of s.lines) {
      if (line.startsWith('bind ')) out.push(`    bind 127.0.0.1:${lbPort}`);
      else if (line.startsWith('default-server ')) out.push(`    ${dropOptions(line, ['resolvers', 'init-addr', 'port'])}`);
      else if (line.startsWith('server ')) {
        const [, name, , ...opts] = line.split(/\s+/);
        const g = servers.find((x) => x.name === name);
        if (!g) throw new Error(`haproxy.cfg names a server ${name} that is not a gateway`);
        out.push(`    server ${name} 127.0.0.1:${g.smtp} port ${g.health} ${opts.join(' ')}`.trimEnd());
      } else out.push(`    ${line}`);
    }
  }
  return out.join('\n') + '\n';
}

function dropOptions(line: string, names: string[]): string {
  const t = line.split(/\s+/);
  const kept: string[] = [];
  for (let i = 0; i < t.length; i++) {
    if (names.includes(t[i])) i++;
    else kept.push(t[i]);
  }
  return kept.join(' ');
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on 127.0.0.1:${port}`);
}

// ---------------------------------------------------------------------------------------------
// The demo school server's Postfix configuration
// ---------------------------------------------------------------------------------------------

describe('deploy/compose/school-mail', () => {
  it('main.cf is understood by Postfix without a single unknown or misspelt parameter', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-postconf-'));
    try {
      copyFileSync(path.join(DEPLOY, 'compose/school-mail/main.cf'), path.join(dir, 'main.cf'));
      // The container uses Debian's own master.cf, as installed here.
      copyFileSync('/etc/postfix/master.cf', path.join(dir, 'master.cf'));
      const r = run('postconf', ['-c', dir, '-n']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const settings = new Map(r.stdout.trim().split('\n').map((l) => l.split(' = ') as [string, string]));
      expect(settings.get('relayhost')).toBe('[loadbalancer]:2525');
      // Queue, never bypass: no fallback route around the gateway.
      expect(settings.get('smtp_fallback_relay') ?? '').toBe('');
      expect(settings.has('fallback_relay')).toBe(false);
      const r2 = run('postconf', ['-c', dir, '-h', 'smtp_data_done_timeout']);
      expect(parseInt(r2.stdout, 10)).toBeGreaterThanOrEqual(300);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

describe('deploy/Dockerfile', () => {
  const stages = parseDockerfile(read('deploy/Dockerfile'));
  const runtime = stages.at(-1)!;
  const build = stages.find((s) => s.name === 'build')!;
  const ops = (s: DockerStage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);
  const args = Object.fromEntries(read('deploy/Dockerfile').split('\n').filter((l) => /^ARG \w+=/.test(l)).map((l) => l.slice(4).split('=') as [string, string]));
  const image = (from: string) => from.replace(/\$\{(\w+)\}/g, (_, n: string) => args[n] ?? '');

  it('is multi-stage on Node 22 LTS (Debian bookworm slim)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    for (const s of stages) expect(image(s.from)).toBe('node:22-bookworm-slim');
  });

  it('builds the native modules in the build stage with a toolchain the runtime stage does not have', () => {
    expect(ops(build, 'RUN').join(' ')).toMatch(/build-essential/);
    expect(ops(build, 'RUN').join(' ')).toMatch(/python3/);
    expect(ops(build, 'RUN').join(' ')).toMatch(/npm ci --omit=dev/);
    expect(ops(runtime, 'RUN').join(' ')).not.toMatch(/build-essential|python3|npm (ci|install)/);
    expect(ops(runtime, 'RUN').join(' ')).toMatch(/p7zip-full/);
    expect(ops(runtime, 'COPY')).toContain('--from=build /build/node_modules ./node_modules');
    // Our own native module (the word pass): its sources reach the build stage before npm ci,
    // whose install script compiles it, and the runtime stage takes the compiled module.
    const buildSteps = build.instructions.map((i) => `${i.op} ${i.args}`);
    const npmCi = buildSteps.findIndex((x) => x.includes('npm ci'));
    expect(buildSteps.findIndex((x) => x.startsWith('COPY') && x.includes('binding.gyp'))).toBeLessThan(npmCi);
    expect(buildSteps.findIndex((x) => x === 'COPY src/roster/native ./src/roster/native')).toBeLessThan(npmCi);
    expect(buildSteps.findIndex((x) => x === 'COPY src/roster/native ./src/roster/native')).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(read('package.json')).scripts.install).toBe('node-gyp rebuild');
    expect(ops(runtime, 'COPY')).toContain('--from=build /build/build/Release/word_pass.node ./build/Release/word_pass.node');
  });

  it('runs as the unprivileged hallmonitor user, exposes SMTP and health, and checks its own health', () => {
    const users = ops(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).toMatch(/^hallmonitor(:hallmonitor)?$/);
    expect(ops(runtime, 'RUN').join(' ')).toMatch(/useradd --system[^&]*hallmonitor/);
    expect(ops(runtime, 'EXPOSE').join(' ').split(/\s+/).sort()).toEqual(['2525', '8025']);
    expect(ops(runtime, 'HEALTHCHECK').join(' ')).toMatch(/"node", "bin\/hallmonitor\.js", "health"/);
    const entry = JSON.parse(ops(runtime, 'ENTRYPOINT')[0]) as string[];
    const cmd = JSON.parse(ops(runtime, 'CMD')[0]) as string[];
    expect([...entry, ...cmd]).toEqual(['node', 'bin/hallmonitor.js', 'serve', '--config', '/etc/hallmonitor/hallmonitor.yaml']);
  });

  it('copies every directory the running code imports, and nothing the build context leaves out', () => {
    const copied = ops(runtime, 'COPY').filter((a) => !a.startsWith('--from')).flatMap((a) => a.split(/\s+/).slice(0, -1));
    for (const c of copied) expect(existsSync(path.join(ROOT, c)), `${c} exists`).toBe(true);
    // Every file reachable by relative imports from bin/hallmonitor.js lives under a copied path.
    for (const file of reachableSources(path.join(ROOT, 'bin/hallmonitor.js'))) {
      const top = path.relative(ROOT, file).split(path.sep)[0];
      expect(copied, `${path.relative(ROOT, file)} is in the image`).toContain(top);
    }
    // The build context's allow-list lets through what is copied.
    const ignore = read('deploy/Dockerfile.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    for (const c of [...copied, 'package.json', 'package-lock.json', 'binding.gyp']) expect(ignore.some((l) => l === `!${c}` || l === `!${c}/`), `${c} allowed`).toBe(true);
    for (const secret of ['**/*.csv', '**/*.pem', '**/*.key']) expect(ignore).toContain(secret);
  });

  it('installs every program the running code starts (spawn/execFile) in the runtime stage', () => {
    // Program → the Debian package that provides it in the image ('' = in the base image).
    const providers: Record<string, string> = { '7z': 'p7zip-full', '/bin/sh': '' };
    const installed = ops(runtime, 'RUN').join(' ');
    const programs = new Set<string>();
    for (const file of reachableSources(path.join(ROOT, 'bin/hallmonitor.js'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync)\(\s*['"]([^'"]+)['"]/g)) programs.add(m[1]);
    }
    expect(programs.size).toBeGreaterThan(0);
    for (const program of programs) {
      expect(Object.keys(providers), `${program} is started by the gateway: add its package to the Dockerfile and to this map`).toContain(program);
      if (providers[program]) expect(installed).toContain(providers[program]);
    }
  });

  it('declares in dependencies every package the running code imports (npm ci --omit=dev installs only those and what they need)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const missing: string[] = [];
    for (const file of reachableSources(path.join(ROOT, 'bin/hallmonitor.js'))) {
      for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!(name in pkg.dependencies)) missing.push(`${path.relative(ROOT, file)} imports ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

/** Import specifiers that exist at run time (type-only imports are erased by Node). */
function runtimeImports(source: string): string[] {
  const specs: string[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) if (!m[1]) specs.push(m[2]);
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]);
  return specs;
}

/** Files a source starts as workers or child processes: `new URL('./x.ts', import.meta.url)`. */
function spawnedScripts(source: string): string[] {
  return [...source.matchAll(/new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)].map((m) => m[1]);
}

/** The source files the executable loads, following relative imports (static and dynamic) and
 *  the scripts it runs as workers or child processes. */
function reachableSources(entry: string): string[] {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const spec of [...runtimeImports(text), ...spawnedScripts(text)]) {
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (existsSync(target) && statSync(target).isFile()) stack.push(target);
    }
  }
  return [...seen];
}

// ---------------------------------------------------------------------------------------------
// systemd unit
// ---------------------------------------------------------------------------------------------

describe('deploy/hallmonitor.service', () => {
  const unit = systemdDirectives(read('deploy/hallmonitor.service'));
  const one = (k: string) => unit.get(k)?.at(-1);

  it('passes systemd-analyze verify without a single warning', () => {
    const r = run('systemd-analyze', ['verify', path.join(DEPLOY, 'hallmonitor.service')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('is sandboxed: dedicated user, read-only system, private tmp, only CAP_NET_BIND_SERVICE', () => {
    expect(one('User')).toBe('hallmonitor');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('true');
    expect(one('PrivateTmp')).toBe('true');
    expect(one('NoNewPrivileges')).toBe('true');
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('RestrictAddressFamilies')!.split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
    expect(one('MemoryMax')).toMatch(/^\d+[KMG]$/);
    expect(one('Restart')).toBe('on-failure');
    // V8's JIT needs writable-executable memory: this directive would stop Node from starting.
    expect(unit.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('can write only the data directory the example configuration uses', () => {
    const example = loadConfig(path.join(ROOT, 'config/hallmonitor.example.yaml'), {}, {});
    expect(unit.get('ReadWritePaths')).toEqual([example.dataDir]);
    expect(`/var/lib/${one('StateDirectory')}`).toBe(example.dataDir);
  });

  it('waits for messages in flight on stop, longer than the gateway\'s data timeout', () => {
    const example = loadConfig(path.join(ROOT, 'config/hallmonitor.example.yaml'), {}, {});
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(Number(one('TimeoutStopSec'))).toBeGreaterThan(example.relay.dataTimeoutSeconds);
  });

  it('starts the same command as the container, after checking the configuration', () => {
    expect(one('ExecStart')).toBe('/usr/bin/node /opt/hallmonitor/bin/hallmonitor.js serve --config /etc/hallmonitor/hallmonitor.yaml');
    expect(one('ExecStartPre')).toBe('/usr/bin/node /opt/hallmonitor/bin/hallmonitor.js config-check /etc/hallmonitor/hallmonitor.yaml');
  });

  it('is rated well by systemd-analyze security (exposure at most 2.0 of 10)', () => {
    const r = run('systemd-analyze', ['security', '--offline=true', '--no-pager', path.join(DEPLOY, 'hallmonitor.service')]);
    const m = /Overall exposure level for hallmonitor\.service: ([\d.]+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.0);
  });
});

// ---------------------------------------------------------------------------------------------
// METRICS.md is the contract for /metrics: a live gateway's scrape must match it
// ---------------------------------------------------------------------------------------------

interface MetricDoc { name: string; type: string; labels: string[]; help: string; status: string }

function metricsTable(text: string): MetricDoc[] {
  const rows: MetricDoc[] = [];
  for (const line of text.split('\n')) {
    const m = /^\|\s*`(hallmonitor_[a-z_]+)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|([^|]*)\|([^|]+)\|\s*(now|planned)\s*\|$/.exec(line);
    if (m) rows.push({ name: m[1], type: m[2], labels: [...m[3].matchAll(/`([a-z_]+)`/g)].map((x) => x[1]), help: m[4].trim(), status: m[5] });
  }
  return rows;
}

/** Label values documented in the "Label values" table, by label (first mention wins). */
function documentedValues(text: string, label: string): string[] {
  const row = text.split('\n').find((l) => l.startsWith(`| \`${label}\``));
  return row ? [...row.split('|')[2].matchAll(/`([a-z_-]+)`/g)].map((m) => m[1]) : [];
}

describe('deploy/METRICS.md', () => {
  const doc = read('deploy/METRICS.md');
  const table = metricsTable(doc);
  const byName = new Map(table.map((r) => [r.name, r]));

  it('specifies each metric once, named by Prometheus conventions', () => {
    expect(table.length).toBeGreaterThanOrEqual(15);
    expect(byName.size).toBe(table.length);
    for (const r of table) {
      if (r.type === 'counter') expect(r.name, r.name).toMatch(/_total$/);
      else expect(r.name, r.name).not.toMatch(/_total$/);
      if (r.name.includes('timestamp') || r.name.includes('duration')) expect(r.name).toMatch(/_seconds$/);
      expect(r.help).toMatch(/\.$/);
      for (const l of r.labels) expect(['verdict', 'rule', 'kind', 'mode', 'action', 'stage', 'reason', 'version', 'node_version', 'certificate']).toContain(l);
    }
    // What the issue asks for: messages by verdict and rule, latency histogram, queue and
    // outbox depth, roster age.
    expect(byName.get('hallmonitor_messages_total')?.labels).toEqual(['verdict']);
    expect(byName.get('hallmonitor_rule_hits_total')?.labels).toEqual(['rule']);
    expect(byName.get('hallmonitor_message_duration_seconds')?.type).toBe('histogram');
    expect(byName.get('hallmonitor_quarantine_held_messages')?.type).toBe('gauge');
    expect(byName.get('hallmonitor_outbox_messages')?.type).toBe('gauge');
    expect(byName.get('hallmonitor_roster_file_timestamp_seconds')?.type).toBe('gauge');
  });

  it('documents exactly the policy rule ids as `rule` label values', () => {
    expect(documentedValues(doc, 'rule').sort()).toEqual([...RULE_IDS].sort());
  });

  it('every metric the alert rules and the dashboard queries use is specified', () => {
    const rules = read('deploy/prometheus/hallmonitor-rules.yaml');
    const used = new Set([...`${rules}\n${doc}`.matchAll(/\b(hallmonitor_[a-z_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')));
    // (`hallmonitor_roster_*` in the prose names a group, not a metric)
    for (const name of [...used].filter((n) => !n.endsWith('_'))) expect(byName.has(name), `${name} is in the table`).toBe(true);
  });

  it('the alert rules are valid for promtool', () => {
    const r = run('promtool', ['check', 'rules', 'deploy/prometheus/hallmonitor-rules.yaml']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  describe('a live gateway\'s /metrics', () => {
    let gateway: Gateway;
    let dataDir: string;
    let scrape: string;

    beforeAll(async () => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'hm-metrics-'));
      const config = validateConfig({ listen: '127.0.0.1:0', data_dir: dataDir, health: { listen: '127.0.0.1:0' } }, 'metrics test', {}, {}, dataDir);
      gateway = await startGateway(config, { logger: pino({ level: 'silent' }) });
      const info = await nodemailer
        .createTransport({ host: '127.0.0.1', port: gateway.receiver.address().port, ignoreTLS: true })
        .sendMail({ envelope: { from: 'teacher@demo-primary.example', to: ['parent@example.com'] }, raw: 'From: teacher@demo-primary.example\r\nTo: parent@example.com\r\nSubject: Sports day\r\n\r\nBring a hat.\r\n' });
      expect(info.response).toMatch(/^250 /);
      const h = gateway.health!.address();
      const res = await fetch(`http://127.0.0.1:${h.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      scrape = await res.text();
    });

    afterAll(async () => {
      await gateway?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('passes promtool check metrics (the exposition format and naming lint)', () => {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
      expect(r.error).toBeUndefined();
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('serves every metric marked "now", and only documented metrics, with the documented type, help and labels', () => {
      const types = new Map([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
      const helps = new Map([...scrape.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1], m[2]]));
      for (const [name, type] of types) {
        const d = byName.get(name);
        expect(d, `${name} is documented in METRICS.md`).toBeDefined();
        expect(type, name).toBe(d!.type);
        expect(helps.get(name), name).toBe(d!.help);
      }
      for (const d of table.filter((r) => r.status === 'now')) expect(types.has(d.name), `${d.name} is served`).toBe(true);
      for (const m of scrape.matchAll(/^(hallmonitor_[a-z_]+?)(?:_bucket|_sum|_count)?\{([^}]*)\} /gm)) {
        const family = types.has(m[1]) ? m[1] : m[1].replace(/_(bucket|sum|count)$/, '');
        const labels = [...m[2].matchAll(/([a-z_]+)="/g)].map((x) => x[1]).filter((l) => l !== 'le');
        for (const l of labels) expect(byName.get(family)?.labels, `${family}{${l}}`).toContain(l);
      }
    });

    it('counts the message under a documented verdict, with the documented histogram buckets', () => {
      expect(scrape).toMatch(/^hallmonitor_messages_total\{verdict="deliver"\} 1$/m);
      for (const m of scrape.matchAll(/verdict="([a-z]+)"/g)) expect(documentedValues(doc, 'verdict')).toContain(m[1]);
      const buckets = [...scrape.matchAll(/^hallmonitor_message_duration_seconds_bucket\{verdict="deliver",le="([^"]+)"\}/gm)].map((m) => m[1]);
      const documented = /for both histograms: ([\d., and]+) \(and `\+Inf`\)/.exec(doc.replace(/\s+/g, ' '))![1].split(/,\s*|\s+and\s+/).map((s) => s.trim()).filter(Boolean);
      expect(buckets).toEqual([...documented, '+Inf']);
    });
  });
});

describe('deploy/CONNECT.md', () => {
  const guide = read('deploy/CONNECT.md');
  it('sends Postfix to the port the install guide listens on, and authenticates against the same', () => {
    const install = /^listen: 0\.0\.0\.0:(\d+)/m.exec(read('deploy/INSTALL.md'))![1];
    const relayhost = /^relayhost = \[hallmonitor\.school\.example\.org\]:(\d+)$/m.exec(guide)![1];
    const sasl = /`\[hallmonitor\.school\.example\.org\]:(\d+) username:password`/.exec(guide)![1];
    expect([relayhost, sasl]).toEqual([install, install]);
  });

  it('names configuration keys that exist, with values the gateway accepts', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-connect-'));
    try {
      const key = path.join(dir, 'dkim.pem');
      writeFileSync(key, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
      for (const k of ['relay.checked_header_secret', 'HALLMONITOR_CHECKED_HEADER_SECRET', 'next_hop.local_address: 203.0.113.25', 'next_hop.family: 4', 'sign_relayed: true', 'dkim-record']) {
        expect(guide, k).toContain(k);
      }
      const config = validateConfig({
        listen: '0.0.0.0:25',
        next_hop: { host: 'school-example-org.mail.protection.outlook.com', port: 25, starttls: 'required', local_address: '127.0.0.1', family: 4 },
        relay: { checked_header_secret: 'a'.repeat(64), allow_networks: ['40.92.0.0/15'] },
        dkim: { domain: 'school.example.org', selector: 'hm2026', private_key: key, sign_relayed: true },
        school: { domains: ['school.example.org'] },
      }, '(CONNECT.md)', {}, {}, dir);
      expect(config.nextHop).toMatchObject({ localAddress: '127.0.0.1', family: 4 });
      expect(config.relay.checkedHeaderSecret).toHaveLength(64);
      expect(config.dkim).toMatchObject({ domain: 'school.example.org', selector: 'hm2026', signRelayed: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The guide's text between one heading and the next of the same level. */
  const section = (heading: string) => {
    const from = guide.indexOf(`\n## ${heading}`);
    expect(from, heading).toBeGreaterThan(0);
    const to = guide.indexOf('\n## ', from + 4);
    return guide.slice(from, to < 0 ? undefined : to);
  };
  const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
  /** PowerShell commands, continuation lines joined, as { cmdlet, params }. */
  const cmdlets = (text: string) => blocks(text, 'powershell').flatMap((b) => b.replace(/ `\n\s*/g, ' ').split('\n'))
    .filter((l) => /^[A-Z][a-z]+-[A-Za-z]+ /.test(l))
    .map((l) => {
      const [cmdlet] = l.split(' ', 1);
      const params = new Map([...l.matchAll(/-([A-Za-z]+)(?:\s+("[^"]*"|[^\s-][^\s]*))?/g)].map((m) => [m[1], (m[2] ?? '').replace(/^"|"$/g, '')]));
      return { cmdlet, params };
    });

  it('Microsoft 365 follows the add-on pattern: an OnPremises rule-scoped connector out, a certificate-identified connector back, a header exception and a header strip, all naming what the configuration says', () => {
    const m365 = section('Microsoft 365 (Exchange Online)');
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-connect-m365-'));
    try {
      // The configuration block as printed, with a real certificate and key put where it points.
      const r = run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=hallmonitor.school.example.org', '-keyout', path.join(dir, 'privkey.pem'), '-out', path.join(dir, 'fullchain.pem')]);
      expect(r.code, r.stderr).toBe(0);
      const yaml = blocks(m365, 'yaml')[0].replaceAll('/etc/hallmonitor/tls/', `${dir}/`).replace('local_address: 203.0.113.25', 'local_address: 127.0.0.1');
      const config = validateConfig(parseYaml(yaml), '(CONNECT.md)', {}, { HALLMONITOR_CHECKED_HEADER_SECRET: 'b'.repeat(64) }, dir);
      expect(config.nextHop?.clientCertificate?.cert).toBe(config.relay.tls?.cert);
      expect(config.nextHop).toMatchObject({ starttls: 'required', rejectUnauthorized: true, family: 4, port: 25 });
      expect(config.listen.port).toBe(25);
      const gatewayName = config.hostname;
      const gatewayIp = /local_address: (\S+)/.exec(blocks(m365, 'yaml')[0])![1];

      const ps = cmdlets(m365);
      const out = ps.find((c) => c.cmdlet === 'New-OutboundConnector')!.params;
      expect(out.get('ConnectorType')).toBe('OnPremises');
      expect(out.get('IsTransportRuleScoped')).toBe('$true');
      expect(out.get('UseMxRecord')).toBe('$false');
      expect([out.get('SmartHosts'), out.get('TlsDomain')]).toEqual([gatewayName, gatewayName]);
      expect(out.get('TlsSettings')).toBe('DomainValidation');

      const inbound = ps.find((c) => c.cmdlet === 'New-InboundConnector')!.params;
      expect(inbound.get('ConnectorType')).toBe('OnPremises');
      expect(inbound.get('TlsSenderCertificateName')).toBe(gatewayName);
      // Partner-only parameters are not used on an OnPremises connector
      for (const partnerOnly of ['RestrictDomainsToIPAddresses', 'RestrictDomainsToCertificate', 'RequireTls']) expect(inbound.has(partnerOnly), partnerOnly).toBe(false);

      const rules = ps.filter((c) => c.cmdlet === 'New-TransportRule').map((c) => c.params);
      const route = rules.find((r) => r.has('RouteMessageOutboundConnector'))!;
      const strip = rules.find((r) => r.has('RemoveHeader'))!;
      expect(route.get('RouteMessageOutboundConnector')).toBe(out.get('Name'));
      expect(route.get('ExceptIfHeaderContainsMessageHeader')).toBe(CHECKED_HEADER);
      expect(route.get('ExceptIfHeaderContainsWords')).toBe('v1');
      expect(checkedValue(Buffer.from('Message-ID: <a@b>\r\n\r\n'), 'b'.repeat(64))).toMatch(/^v1 /);
      expect([route.get('FromScope'), route.get('SentToScope'), route.get('RuleErrorAction'), route.get('Enabled')]).toEqual(['InOrganization', 'NotInOrganization', 'Defer', '$false']);
      expect(route.has('ExceptIfSenderIpRanges')).toBe(false);
      expect([strip.get('HeaderContainsMessageHeader'), strip.get('RemoveHeader')]).toEqual([CHECKED_HEADER, CHECKED_HEADER]);
      expect(strip.get('ExceptIfSenderIpRanges')).toBe(gatewayIp);
      // the strip runs first
      expect(Number(strip.get('Priority'))).toBeLessThan(Number(route.get('Priority')));
      // and the vendor page the pattern comes from is named
      expect(m365).toContain('Scenario: Integrate Exchange Online with an email add-on service');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Google Workspace delivers from the gateway by default, through a loopback Postfix on the port next_hop names, with DKIM; the relay service keeps what Google documents', () => {
    const google = section('Google Workspace');
    const dir = mkdtempSync(path.join(tmpdir(), 'hm-connect-google-'));
    try {
      const key = path.join(dir, 'dkim.pem');
      writeFileSync(key, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
      run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=hallmonitor.school.example.org', '-keyout', path.join(dir, 'privkey.pem'), '-out', path.join(dir, 'fullchain.pem')]);
      const yaml = blocks(google, 'yaml')[0].replaceAll('/etc/hallmonitor/tls/', `${dir}/`).replace('/etc/hallmonitor/dkim.pem', key).replace('allow_networks: [ ... ]', 'allow_networks: [172.217.0.0/19]');
      const config = validateConfig(parseYaml(yaml), '(CONNECT.md)', {}, {}, dir);
      expect(config.dkim).toMatchObject({ domain: 'school.example.org', signRelayed: true });
      // the master.cf line for the loopback Postfix listens where next_hop points
      expect(google).toMatch(new RegExp(`^${config.nextHop!.host.replace(/\./g, '\\.')}:${config.nextHop!.port} inet`, 'm'));
      expect(google).toMatch(/\*\*routing\*\* setting[\s\S]*Change route/);
      expect(google).toMatch(/empty envelope sender/);
      expect(google).toContain('Set up an outbound mail gateway');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what automatic forwarding skips, and where to turn it off', () => {
    const fwd = section('Automatic forwarding');
    expect(fwd).toMatch(/\*\*skips\*\* the gateway/);
    expect(fwd).toContain('Control automatic external email forwarding in Microsoft 365');
  });

  it('says how long Microsoft 365 keeps queued mail (24 hours) and that a single school with school.domains checks senders', () => {
    expect(guide).toMatch(/retries for \*\*24 hours\*\*/);
    expect(guide).not.toMatch(/does not check the sender's domain/);
  });
});
