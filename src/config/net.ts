// HOST:PORT and CIDR parsing for the configuration and the relay's allow-list.
import net from 'node:net';

export interface HostPort { host: string; port: number }

export function parseHostPort(text: string): HostPort {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^([^:\s]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`expected HOST:PORT (e.g. 127.0.0.1:2525 or [::1]:2525), got "${text}"`);
  const port = Number(m[2]);
  if (port < 0 || port > 65535) throw new Error(`port ${port} is out of range`);
  const bad = hostProblem(m[1]);
  if (bad) throw new Error(bad);
  return { host: m[1], port };
}

/** Why a host is neither an IP address nor a DNS name (labels of letters, digits and hyphens). */
export function hostProblem(host: string): string | undefined {
  if (net.isIP(host)) return undefined;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return `"${host}" is not a host name or IP address`;
  for (const label of name.split('.')) {
    if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label)) return `"${host}" is not a host name or IP address (each part between dots is letters, digits and inner hyphens)`;
  }
  return undefined;
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** A network in CIDR form; addresses are compared as 128-bit values (IPv4 mapped into IPv6). */
export interface Cidr { text: string; base: bigint; bits: number }

export function parseCidr(text: string): Cidr {
  const [addr, lenText] = text.trim().split('/');
  const family = net.isIP(addr);
  if (!family) throw new Error(`"${text}" is not an IP address or CIDR network`);
  const max = family === 4 ? 32 : 128;
  const len = lenText === undefined ? max : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > max) throw new Error(`"${text}": prefix length must be 0 to ${max}`);
  const bits = family === 4 ? len + 96 : len;
  const mask = bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
  return { text, base: toBig(addr)! & mask, bits };
}

export function inNetworks(address: string, nets: Cidr[]): boolean {
  const a = toBig(address);
  if (a === undefined) return false;
  for (const n of nets) {
    const mask = n.bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - n.bits)) - 1n);
    if ((a & mask) === n.base) return true;
  }
  return false;
}

/** IPv4 (and IPv4-mapped IPv6) become ::ffff:a.b.c.d so one comparison serves both families. */
function toBig(address: string): bigint | undefined {
  let a = address.trim();
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) a = a.slice(7);
  if (net.isIPv4(a)) {
    const n = a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return (0xffffn << 32n) | n;
  }
  if (!net.isIPv6(a)) return undefined;
  const [head, tail] = a.split('::');
  const parse = (s: string | undefined): number[] => {
    if (!s) return [];
    const out: number[] = [];
    for (const part of s.split(':')) {
      if (part.includes('.')) {
        const o = part.split('.').map(Number);
        out.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
      } else out.push(parseInt(part, 16));
    }
    return out;
  };
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** A database URL fit for logs and error messages: the password is never shown. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':****@');
  }
}
