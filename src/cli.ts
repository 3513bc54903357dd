// `hallmonitor <command>`: the one executable. Each command lives with the stage it belongs to;
// this file only parses arguments and maps errors to exit codes (2: usage or configuration).
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig, MAX_WORKERS, type Config, type ConfigOverrides } from './config/index.ts';
import { formatHostPort, type HostPort } from './config/net.ts';
import { consoleSettings } from './review/console/settings.ts';
import { registerCheckCommand } from './check.ts';
import { registerDetectorCommands } from './detect/commands.ts';
import { registerIncidentCommands } from './review/cli/incidents.ts';
import { registerQuarantineCommands } from './review/cli/quarantine.ts';
import { registerUserCommands } from './review/users.ts';

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`hallmonitor: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`hallmonitor: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`hallmonitor: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

export class UsageError extends Error {}

/**
 * A port the gateway could not open, said with the setting (and the flag) that chose it, instead
 * of a bare "listen EADDRINUSE".
 */
export function listenProblem(err: NodeJS.ErrnoException & { port?: number; address?: string }, config: Config): UsageError | undefined {
  const why: Record<string, string> = {
    EADDRINUSE: 'another program is already listening there',
    EACCES: 'this user may not open that port (ports below 1024 need the CAP_NET_BIND_SERVICE capability the systemd unit gives, or root)',
    EADDRNOTAVAIL: 'that address is not one of this machine\'s',
  };
  // ('bind' under `serve --workers`: the cluster's primary opens the shared port for the workers.)
  if (!err || !err.code || !(err.code in why) || (err.syscall !== 'listen' && err.syscall !== 'bind')) return undefined;
  const consoleListen = consoleSettings(config).listen;
  const settings: Array<[HostPort | null | undefined, string]> = [
    [config.listen, 'listen (or --listen, HALLMONITOR_LISTEN)'],
    [config.health.listen, 'health.listen (or --health, HALLMONITOR_HEALTH_LISTEN; "off" turns it off)'],
    [consoleListen, 'console.listen (or --console)'],
  ];
  const hit = settings.find(([hp]) => hp && hp.port === err.port);
  const where = err.port !== undefined ? `${err.address ?? ''}:${err.port}` : '';
  return new UsageError(`cannot listen on ${where}: ${why[err.code]}. ${hit ? `It is set by ${hit[1]}` : 'Check listen, health.listen and console.listen'}: choose another port, or stop what is using it (\`ss -ltnp 'sport = :${err.port ?? ''}'\` shows it).`);
}

export function buildProgram(): Command {
  const program = new Command('hallmonitor')
    .description('Outbound email data-loss-prevention gateway for UK schools')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('serve')
    .description('Run the SMTP gateway. With no next hop it runs in try-it-out mode on 127.0.0.1 and writes mail to DATA_DIR/captured/.')
    .option('-c, --config <file>', 'YAML configuration file (see config/hallmonitor.example.yaml)')
    .option('--listen <host:port>', 'address the school mail server connects to (default 127.0.0.1:2525)')
    .option('--next-hop <host:port>', 'smart host that receives the mail Hallmonitor delivers')
    .option('--data <dir>', 'data directory (quarantine, captured mail)')
    .option('--health <host:port>', 'health endpoint address, or "off"')
    .option('--business-manager <address>', 'who is told about held mail (overrides school.business_manager)')
    .option('--console <host:port>', "serve the business manager's console here (overrides console.listen)")
    .option('--roster <file>', 'pupil roster, .xlsx or CSV (overrides school.roster)')
    .option('--school-domain <domain>', "the school's own domain (repeatable; overrides school.domains)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--workers <n>', 'relay processes sharing the listening port: a number, or auto (the cores, at most 4); overrides relay.workers (default auto)')
    .exitOverride()
    .action(async (opts: { config?: string; listen?: string; nextHop?: string; data?: string; health?: string; roster?: string; schoolDomain: string[]; businessManager?: string; console?: string; workers?: string }) => {
      const overrides: ConfigOverrides = { listen: opts.listen, nextHop: opts.nextHop, dataDir: opts.data, health: opts.health, businessManager: opts.businessManager, console: opts.console };
      const config = loadConfig(opts.config, overrides);
      const gatewayOptions = { policyOverrides: { rosterPath: opts.roster ? path.resolve(opts.roster) : undefined, schoolDomains: opts.schoolDomain } };
      let workers = config.relay.workers;
      if (opts.workers !== undefined) {
        const { parseWorkers } = await import('./workers.ts');
        workers = parseWorkers(opts.workers) ?? 0;
        if (!workers) throw new UsageError(`--workers ${opts.workers}: give a whole number from 1 to ${MAX_WORKERS}, or auto`);
      }
      if (workers > 1) {
        // Several relay processes on one port (src/workers.ts); 1 is exactly the one process below.
        const { serveWorkers } = await import('./workers.ts');
        return serveWorkers(config, workers, gatewayOptions, (err: NodeJS.ErrnoException & { port?: number; address?: string }) => listenProblem(err, config) ?? err);
      }
      const { startGateway } = await import('./gateway.ts');
      const gateway = await startGateway(config, gatewayOptions).catch((err: NodeJS.ErrnoException & { port?: number; address?: string }) => {
        throw listenProblem(err, config) ?? err;
      });
      const a = gateway.receiver.address();
      if (process.stderr.isTTY) {
        process.stderr.write(`Hallmonitor is listening on ${formatHostPort(a)}` +
          (gateway.capture ? `; mail is captured in ${gateway.capture.dir}` : '') +
          (gateway.console ? `; the console is at ${gateway.console.url}` : '') + '. Ctrl-C stops it.\n');
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void gateway.stop().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  registerCheckCommand(program);
  registerDetectorCommands(program);
  registerQuarantineCommands(program);
  registerIncidentCommands(program);
  registerUserCommands(program);

  program
    .command('roster')
    .description('Work with the pupil roster (the MIS export, as .xlsx or CSV)')
    .command('check')
    .description('Read a roster export and report how many pupils, names, UPNs and contacts were understood, and the problems found')
    .argument('<file>', 'roster export (SIMS, Arbor or Bromcom), Excel .xlsx or CSV')
    .exitOverride()
    .action(async (file: string) => {
      const { rosterCheckReport } = await import('./roster/index.ts');
      const report = await rosterCheckReport(file);
      process.stdout.write(report.text.endsWith('\n') ? report.text : `${report.text}\n`);
      process.exitCode = report.ok ? 0 : 1;
    });

  program
    .command('health')
    .description('Ask a running gateway whether it is healthy (exit 0 healthy, 1 not)')
    .option('--url <url>', 'health endpoint', 'http://127.0.0.1:8025/health')
    .exitOverride()
    .action(async (opts: { url: string }) => {
      try {
        const res = await fetch(opts.url, { signal: AbortSignal.timeout(10_000) });
        process.stdout.write(await res.text());
        process.exitCode = res.ok ? 0 : 1;
      } catch (err) {
        process.stderr.write(`hallmonitor: no answer from ${opts.url}: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });

  program
    .command('dkim-record')
    .description("Print the DNS TXT record to publish for the gateway's DKIM key (`dkim:` in the configuration)")
    .option('-c, --config <file>', 'YAML configuration file')
    .exitOverride()
    .action(async (opts: { config?: string }) => {
      const config = loadConfig(opts.config);
      if (!config.dkim) throw new UsageError('no dkim: section in the configuration (dkim: { domain, selector, private_key })');
      const { dkimRecord } = await import('./act/dkim.ts');
      const r = dkimRecord(config.dkim);
      // One string of at most 255 characters each, as DNS TXT records need for long keys.
      const chunks = r.value.match(/.{1,255}/g) ?? [r.value];
      process.stdout.write(`${r.name}. IN TXT ${chunks.map((c) => `"${c}"`).join(' ')}\n`);
    });

  program
    .command('config-check')
    .description('Check a configuration file as serve would before it opens a port (schools, policies, rosters, staff lists, notices, console, store, certificates) and print what the gateway would use; exit 2 on any problem')
    .argument('<file>', 'YAML configuration file')
    .exitOverride()
    .action(async (file: string) => {
      const config = loadConfig(file);
      const { preflight } = await import('./preflight.ts');
      const report = await preflight(config);
      if (report.problems.length) throw new ConfigError(config.source, report.problems);
      const lines = [
        `${config.source} is valid.`,
        `  listen: ${formatHostPort(config.listen)}${config.relay.workers > 1 ? ` (${config.relay.workers} relay workers)` : ''}`,
        `  next hop: ${config.nextHop ? `${config.nextHop.host}:${config.nextHop.port}` : 'none (try-it-out capture mode)'}`,
        `  data: ${config.dataDir}`,
        `  store: ${report.store}`,
        ...report.schools.map((s) => `  ${s}`),
        ...report.warnings.map((w) => `  warning: ${w}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });

  return program;
}
