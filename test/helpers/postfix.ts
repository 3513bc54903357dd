// A real school mail server for the relay tests: Debian's Postfix with its own configuration and
// queue in a temporary directory, `relayhost` pointing at the gateway. Two ways to run it:
//  - the Postfix installed on this machine (apt-get install postfix, see .ci/run): always;
//  - a Debian container with Postfix, through testcontainers, where a Docker engine exists.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { closedPort, sleep } from './smtp.ts';

const run = promisify(execFile);

export interface SchoolMailServer {
  /** How it runs: 'installed' or 'container'. */
  kind: string;
  /** Hands a message to Postfix with sendmail, as a staff member's mail client would. */
  inject(from: string, to: string[], raw: Buffer): Promise<void>;
  /** `postqueue -f`: try everything in the queue now. */
  flush(): Promise<void>;
  /** `postqueue -p` output. */
  queue(): Promise<string>;
  /** Postfix's log so far (for failure messages). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** main.cf for a school server that sends everything through Hallmonitor. */
function mainSettings(relay: string): string[] {
  return [
    'compatibility_level = 3.6',
    'myhostname = mx.school.example',
    'mydomain = school.example',
    'myorigin = school.example',
    'mydestination =',
    'local_recipient_maps =',
    'alias_maps =',
    'alias_database =',
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    `relayhost = ${relay}`,
    'smtputf8_enable = yes',
    'smtp_tls_security_level = none',
    // Retry quickly: the fault test defers a message and then flushes it.
    'minimal_backoff_time = 1s',
    'maximal_backoff_time = 2s',
    'queue_run_delay = 1s',
  ];
}

const POSTFIX = '/usr/sbin/postfix';

/** The installed Postfix, run as root with mail_owner=postfix, no chroot, its own directories. */
export async function startInstalledPostfix(relayPort: number): Promise<SchoolMailServer & { smtpPort: number; dir: string }> {
  if (!existsSync(POSTFIX)) {
    throw new Error(`Postfix is not installed (${POSTFIX} missing): the relay tests need Debian's postfix package (apt-get install postfix, as in .ci/run)`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'hm-postfix-'));
  chmodSync(dir, 0o755);
  const etc = path.join(dir, 'etc');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  for (const d of [etc, queue, data]) mkdirSync(d, { mode: 0o755 });
  const { stdout: uid } = await run('id', ['-u', 'postfix']);
  chownSync(data, Number(uid.trim()), -1);
  const smtpPort = await closedPort();
  const maillog = path.join(dir, 'maillog');
  writeFileSync(path.join(etc, 'main.cf'), [
    ...mainSettings(`[127.0.0.1]:${relayPort}`),
    `queue_directory = ${queue}`,
    `data_directory = ${data}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    `maillog_file_prefixes = /var, /dev/stdout, ${dir}`,
    `maillog_file = ${maillog}`,
  ].join('\n') + '\n');
  writeFileSync(path.join(etc, 'master.cf'), readFileSync('/etc/postfix/master.cf'));
  await run('postconf', ['-c', etc, '-F', '-e', '*/*/chroot = n']);
  await run('postconf', ['-c', etc, '-M', '-e', `smtp/inet = 127.0.0.1:${smtpPort} inet n - n - - smtpd`]);
  // `postfix check` creates the queue directories with the right owners and modes.
  await run(POSTFIX, ['-c', etc, 'check']).catch((err: Error & { stderr?: string }) => {
    throw new Error(`postfix check failed: ${err.message}\n${existsSync(maillog) ? readFileSync(maillog, 'utf8') : ''}`);
  });
  const { stdout: daemonDir } = await run('postconf', ['-c', etc, '-h', 'daemon_directory']);
  // master in the foreground (-d), so the test owns the process and its children.
  const master: ChildProcess = spawn(path.join(daemonDir.trim(), 'master'), ['-c', etc, '-d'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => master.once('exit', () => resolve()));

  const readLog = async () => (existsSync(maillog) ? readFileSync(maillog, 'utf8') : '');
  const until = Date.now() + 20_000;
  while (!(await accepts(smtpPort))) {
    if (master.exitCode !== null || Date.now() > until) {
      master.kill('SIGKILL');
      throw new Error(`Postfix did not start\n${await readLog()}`);
    }
    await sleep(50);
  }

  return {
    kind: 'installed',
    smtpPort,
    dir,
    async inject(from, to, raw) {
      await new Promise<void>((resolve, reject) => {
        const p = spawn('/usr/sbin/sendmail', ['-C', etc, '-i', '-f', from, '--', ...to], { stdio: ['pipe', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sendmail exited ${code}: ${err}`))));
        p.stdin.end(raw);
      });
    },
    async flush() {
      await run('postqueue', ['-c', etc, '-f']);
    },
    async queue() {
      return (await run('postqueue', ['-c', etc, '-p'])).stdout;
    },
    log: readLog,
    async stop() {
      master.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (master.exitCode === null) master.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Is there a Docker engine to run containers on? (A docker CLI without an engine is not one.) */
export async function dockerEngineAvailable(): Promise<boolean> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Postfix from Debian's package in a container, relaying to the gateway on the host. */
export async function startContainerPostfix(relayPort: number): Promise<SchoolMailServer> {
  const { GenericContainer, TestContainers, Wait } = await import('testcontainers');
  await TestContainers.exposeHostPorts(relayPort);
  const context = mkdtempSync(path.join(tmpdir(), 'hm-postfix-image-'));
  writeFileSync(path.join(context, 'Dockerfile'), [
    'FROM debian:bookworm-slim',
    'RUN echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections \\',
    ' && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix \\',
    ' && rm -rf /var/lib/apt/lists/* && touch /etc/postfix/main.cf',
  ].join('\n') + '\n');
  const image = await GenericContainer.fromDockerfile(context).build('hallmonitor-test-postfix:bookworm', { deleteOnExit: false });
  rmSync(context, { recursive: true, force: true });
  const settings = [...mainSettings(`[host.testcontainers.internal]:${relayPort}`), 'maillog_file = /dev/stdout'];
  const script = [
    ...settings.map((s) => `postconf -e '${s.replace(/ = /, '=')}'`),
    "postconf -F -e '*/*/chroot = n'",
    'exec postfix start-fg',
  ].join(' && ');
  const container = await image.withCommand(['sh', '-c', script]).withWaitStrategy(Wait.forLogMessage(/daemon started/)).start();
  let n = 0;
  const exec = async (cmd: string[]) => {
    const r = await container.exec(cmd);
    if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} exited ${r.exitCode}: ${r.output}`);
    return r.output;
  };
  return {
    kind: 'container',
    async inject(from, to, raw) {
      const file = `/tmp/message-${++n}.eml`;
      await container.copyContentToContainer([{ content: raw, target: file }]);
      const quoted = to.map((t) => `'${t.replace(/'/g, `'\\''`)}'`).join(' ');
      await exec(['sh', '-c', `sendmail -i -f '${from}' -- ${quoted} < ${file}`]);
    },
    async flush() {
      await exec(['postqueue', '-f']);
    },
    queue: () => exec(['postqueue', '-p']),
    async log() {
      const stream = await container.logs();
      let text = '';
      await new Promise<void>((resolve) => {
        stream.on('data', (d: Buffer | string) => (text += d.toString()));
        setTimeout(resolve, 200);
      });
      stream.destroy?.();
      return text;
    },
    async stop() {
      await container.stop();
    },
  };
}
