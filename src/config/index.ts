// Hallmonitor's configuration: one YAML file, validated completely at start-up against one schema
// (./schema.ts), every problem at once, each naming its key path. Bad configuration refuses to
// start; the gateway never starts half-configured. Environment variables and command-line flags
// override secrets and ports (see ENV and ConfigOverrides below): they are written into the
// document before it is checked, so an overriding value is checked exactly as the file's would be.
import { DETECTORS, checkRegistry, patternDetectors } from '../../detectors/index.ts';
import { detectorFromDocument } from '../../detectors/library/document.ts';
import type { PatternDetector } from '../../detectors/library/types.ts';
import { exampleFailures } from '../detect/examples.ts';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { DkimSettings } from '../act/dkim.ts';
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { OcrLimits } from '../inspect/ocr.ts';
import { certificateProblem } from './certificates.ts';
import { parseHostPort, type HostPort, type Cidr } from './net.ts';
import { ConfigError, Problems } from './problems.ts';
import { configSchema, isLoopback, issueMessages, type ConfigDocument, type NextHopSection, type TenantSection, type TrustSection } from './schema.ts';

export type { HostPort, Cidr };
export { ConfigError, isLoopback };
export { autoWorkers, MAX_WORKERS } from './schema.ts';
export type { SchoolSection, PolicySection, StoreSection, ConsoleSection, TenantSection, TrustSection } from './schema.ts';

/** The next hop as the gateway uses it: the schema's, with the client certificate's files read. */
export type NextHopConfig = Omit<NonNullable<NextHopSection>, 'clientCertificate'> & { clientCertificate?: { cert: string; key: string } };

/** The configuration the gateway runs with: the schema's sections, with files read and paths resolved. */
export type Config = Omit<ConfigDocument, 'next_hop' | 'data_dir' | 'roster' | 'detectors' | 'dkim' | 'tenants' | 'trust' | 'inspection'> & {
  /** Where the file came from, or '(embedded defaults)'. */
  source: string;
  /** null: the embedded capture next hop (try-it-out mode), only on loopback. */
  nextHop: NextHopConfig | null;
  dataDir: string;
  /** The school's own detectors (`detectors:`), each proved by its examples; empty when none. */
  detectors: PatternDetector[];
  /** DKIM signing at the gateway (`dkim:`): its notices, and relayed mail with sign_relayed. */
  dkim?: DkimSettings;
  /** Several schools in one service (src/tenants.ts); absent for a single school. */
  tenants?: TenantSection[];
  trust?: TrustSection;
  /** Text recognition of scanned and photographed pages (`inspection:`); absent: off. */
  ocr?: OcrLimits;
};

/** Command-line overrides: they win over the file, so a quick test needs no file at all. */
export interface ConfigOverrides {
  listen?: string;
  nextHop?: string;
  dataDir?: string;
  /** HOST:PORT or "off". */
  health?: string;
  /** school.business_manager */
  businessManager?: string;
  /** console.listen */
  console?: string;
}

/** Environment variables that override the file (secrets and ports). */
export const ENV = {
  HALLMONITOR_LISTEN: 'listen (HOST:PORT)',
  HALLMONITOR_NEXT_HOP: 'next_hop (HOST:PORT)',
  HALLMONITOR_NEXT_HOP_USER: 'next_hop.auth.user',
  HALLMONITOR_NEXT_HOP_PASSWORD: 'next_hop.auth.pass',
  HALLMONITOR_DATA_DIR: 'data_dir',
  HALLMONITOR_HEALTH_LISTEN: 'health.listen (HOST:PORT)',
  HALLMONITOR_DATABASE_URL: 'store.database_url',
  HALLMONITOR_CHECKED_HEADER_SECRET: 'relay.checked_header_secret',
  HALLMONITOR_LOG_FORMAT: 'log.format',
} as const;

export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  let doc: unknown = {};
  const source = file ? path.resolve(file) : '(embedded defaults)';
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(source, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    try {
      doc = parseYaml(text) ?? {};
    } catch (err) {
      const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
      throw new ConfigError(source, [`not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`]);
    }
  }
  return validateConfig(doc, source, overrides, env, file ? path.dirname(path.resolve(file)) : process.cwd());
}

export function validateConfig(doc: unknown, source: string, overrides: ConfigOverrides, env: NodeJS.ProcessEnv, baseDir: string): Config {
  const p = new Problems();
  const labels: Record<string, string> = {};
  const root = withOverrides(doc, overrides, env, p, labels);
  const parsed = configSchema.safeParse(root, { reportInput: true });
  if (!parsed.success) for (const m of issueMessages(parsed.error.issues, configSchema, [], labels)) p.add(m);

  // What the schema cannot know: files, keys and certificates, and detectors proving their examples.
  // Read from the document as given, so these problems are reported with the schema's, in one pass.
  const raw = isMapping(root) ? root : {};
  const relayDoc = isMapping(raw.relay) ? raw.relay : {};
  const tls = certificateFiles(relayDoc.tls, 'relay.tls', baseDir, p);
  const nhDoc = isMapping(raw.next_hop) ? raw.next_hop : {};
  const cc = nhDoc.client_certificate;
  let clientCertificate: { cert: string; key: string } | undefined;
  if (cc === 'relay' || cc === true) {
    if (relayDoc.tls === undefined) p.add('next_hop.client_certificate: "relay" uses relay.tls, which is not set; give relay.tls (cert and key) or client_certificate: { cert, key }');
    clientCertificate = tls;
  } else clientCertificate = certificateFiles(cc, 'next_hop.client_certificate', baseDir, p);
  const privateKey = dkimKey(isMapping(raw.dkim) ? raw.dkim.private_key : undefined, baseDir, p);
  const detectors = readDetectors(raw.detectors, source, p);
  p.throwIfAny(source);
  const c = parsed.data!;
  const { next_hop: nextHop, data_dir: dataDir, roster, detectors: _documents, dkim, tenants, trust, inspection: ocr, ...sections } = c;
  // `roster:` at top level is a convenience alias of school.roster.
  if (roster !== undefined) sections.school.roster = roster;
  return {
    source,
    ...sections,
    relay: { ...sections.relay, tls },
    nextHop: nextHop ? { ...nextHop, clientCertificate } : null,
    dataDir: path.resolve(baseDir, dataDir),
    detectors,
    ...(dkim && privateKey ? { dkim: { domain: dkim.domain, selector: dkim.selector, privateKey, signRelayed: dkim.sign_relayed } } : {}),
    ...(tenants ? { tenants, trust: trust ?? {} } : {}),
    ocr,
  };
}

/**
 * The document with the command line's and the environment's values written in (they win over the
 * file), empty values (`key:` with nothing after it) taken as left out, and `labels` saying which
 * key paths came from a flag or variable, so a problem names what the IT lead actually typed.
 */
function withOverrides(doc: unknown, overrides: ConfigOverrides, env: NodeJS.ProcessEnv, p: Problems, labels: Record<string, string>): unknown {
  if (doc !== undefined && doc !== null && !isMapping(doc)) return doc;
  // health.listen: with nothing after it means off (as "off" does); any other empty value means the default.
  const health = isMapping(doc?.health) && doc.health.listen === null ? { ...doc.health, listen: 'off' } : doc?.health;
  const root = withoutEmptyValues({ ...doc, health }) as Record<string, unknown>;
  const section = (key: string): Record<string, unknown> | undefined => {
    if (root[key] === undefined) root[key] = {};
    return isMapping(root[key]) ? (root[key] = { ...root[key] }) : undefined;
  };
  // A flag wins over its variable, which wins over the file; a problem names the one that was used.
  const set = (key: string, variable: keyof typeof ENV | undefined, flag?: [string, string | undefined]) => {
    const fromFlag = flag?.[1] !== undefined && flag[1] !== '';
    const value = fromFlag ? flag![1] : variable && env[variable];
    if (value === undefined || value === '') return;
    const [first, second] = key.split('.');
    if (second === undefined) root[first] = value;
    else {
      const s = section(first);
      if (!s) return;
      s[second] = value;
    }
    labels[key] = fromFlag ? flag![0] : `${key} (from ${variable})`;
  };
  set('listen', 'HALLMONITOR_LISTEN', ['--listen', overrides.listen]);
  set('data_dir', 'HALLMONITOR_DATA_DIR', ['--data', overrides.dataDir]);
  set('health.listen', 'HALLMONITOR_HEALTH_LISTEN', ['--health', overrides.health]);
  set('log.format', 'HALLMONITOR_LOG_FORMAT');
  set('store.database_url', 'HALLMONITOR_DATABASE_URL');
  set('relay.checked_header_secret', 'HALLMONITOR_CHECKED_HEADER_SECRET');
  set('school.business_manager', undefined, ['--business-manager', overrides.businessManager]);
  set('console.listen', undefined, ['--console', overrides.console]);

  const hop = overrides.nextHop ?? (env.HALLMONITOR_NEXT_HOP || undefined);
  if (hop !== undefined) {
    const label = overrides.nextHop ? '--next-hop' : 'HALLMONITOR_NEXT_HOP';
    const file = typeof root.next_hop === 'string' ? {} : isMapping(root.next_hop) ? root.next_hop : {};
    try {
      const hp = parseHostPort(hop);
      root.next_hop = { ...file, host: hp.host, port: hp.port };
    } catch (err) {
      p.add(`${label}: ${(err as Error).message}`);
      root.next_hop = { ...file, host: 'localhost', port: 25 };
    }
  }
  if (root.next_hop !== undefined && (env.HALLMONITOR_NEXT_HOP_USER || env.HALLMONITOR_NEXT_HOP_PASSWORD)) {
    const nh: Record<string, unknown> | undefined = typeof root.next_hop === 'string' ? { host: root.next_hop } : isMapping(root.next_hop) ? { ...root.next_hop } : undefined;
    if (nh) {
      nh.auth = { ...(isMapping(nh.auth) ? nh.auth : {}), ...(env.HALLMONITOR_NEXT_HOP_USER ? { user: env.HALLMONITOR_NEXT_HOP_USER } : {}), ...(env.HALLMONITOR_NEXT_HOP_PASSWORD ? { pass: env.HALLMONITOR_NEXT_HOP_PASSWORD } : {}) };
      root.next_hop = nh;
    }
  }
  return root;
}

/** A copy without the mapping entries whose value is empty (YAML `key:` with nothing after it). */
function withoutEmptyValues(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutEmptyValues);
  if (!isMapping(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = withoutEmptyValues(x);
  return out;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** A certificate and key pair's files read and checked to belong together; undefined when absent or wrong. */
function certificateFiles(v: unknown, key: string, baseDir: string, p: Problems): { cert: string; key: string } | undefined {
  if (!isMapping(v) || typeof v.cert !== 'string' || typeof v.key !== 'string') return undefined;
  const cert = p.readableFile(v.cert.trim(), `${key}.cert`, baseDir);
  const privateKey = p.readableFile(v.key.trim(), `${key}.key`, baseDir);
  if (cert === undefined || privateKey === undefined) return undefined;
  const problem = certificateProblem(cert, privateKey);
  if (problem) {
    p.add(`${key}: ${problem}`);
    return undefined;
  }
  return { cert, key: privateKey };
}

function dkimKey(v: unknown, baseDir: string, p: Problems): string | undefined {
  if (typeof v !== 'string') return undefined;
  const pem = p.readableFile(v.trim(), 'dkim.private_key', baseDir);
  if (pem === undefined) return undefined;
  try {
    createPrivateKey(pem);
    return pem;
  } catch (err) {
    p.add(`dkim.private_key: not a private key in PEM form (${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

/**
 * `detectors:`: the school's own detectors, in the same form as the shipped word lists
 * (detectors/library/document.ts). Each must prove itself: one wrong example and the file is
 * refused, naming the detector and the example.
 */
function readDetectors(v: unknown, source: string, p: Problems): PatternDetector[] {
  if (!Array.isArray(v)) return []; // the schema said why
  const found: PatternDetector[] = [];
  const origin = `configuration ${source}`;
  v.forEach((doc, i) => {
    const d = detectorFromDocument(doc, { origin, path: `detectors[${i}]` }, p.found);
    if (d) found.push(d);
  });
  if (!found.length || p.found.length) return found;
  const all = [...DETECTORS, ...found];
  try {
    checkRegistry(all);
  } catch (err) {
    p.add(`detectors: ${(err as Error).message} (a shipped detector already has that id; choose another)`);
    return found;
  }
  if (patternDetectors(all).length > 64) p.add(`detectors: at most ${64 - patternDetectors(DETECTORS).length} detectors of the school's own`);
  for (const f of exampleFailures(all, found)) {
    const i = found.findIndex((d) => d.id === f.detector);
    p.add(`detectors[${i}] (${f.detector}): example ${f.problem}`);
  }
  return found;
}

/** Where relative paths in the configuration (roster, templates) are resolved from. */
export function configDir(config: Pick<Config, 'source'>): string {
  return path.isAbsolute(config.source) ? path.dirname(config.source) : process.cwd();
}

