// Console accounts: `hallmonitor users add|reset|remove|list`, and the password hashing the
// console's sign-in uses. Passwords are hashed with argon2id (memory-hard: 19 MiB, 2 passes, the
// OWASP minimum), each with its own random salt; the PHC string keeps the parameters, so they can
// be raised later without breaking existing accounts.
//
// In a trust (`tenants:` in the configuration) an account belongs to one school (`--school ID`)
// and sees only that school's incidents, or to the whole trust (no --school), like the trust's
// data protection officer. A single school has no --school: every account sees the school.
import { randomBytes, randomInt } from 'node:crypto';
import type { Command } from 'commander';
import type { Config } from '../config/index.ts';
import { argon2id, argon2Verify } from 'hash-wasm';
import type { ConsoleDb, Role } from './console/schema.ts';
import { ROLES } from './console/schema.ts';

export { ROLES, type Role };

export const ROLE_TITLES: Record<Role, string> = {
  'business-manager': 'Business manager',
  'safeguarding-lead': 'Designated safeguarding lead',
  'it-admin': 'IT administrator',
  auditor: 'Auditor',
};

export const ROLE_DUTIES: Record<Role, string> = {
  'business-manager': 'reviews held mail and decides: release, reject, potential breach, ICO report, close',
  'safeguarding-lead': 'reviews held mail; decides on safeguarding-severity incidents',
  'it-admin': 'gateway health and configuration only; never sees message content',
  auditor: 'reads the incident register and reports; changes nothing',
};

export const MIN_PASSWORD_LENGTH = 12;
const ARGON = { parallelism: 1, iterations: 2, memorySize: 19_456, hashLength: 32 } as const;

export async function hashPassword(password: string): Promise<string> {
  return argon2id({ ...ARGON, password, salt: randomBytes(16), outputType: 'encoded' });
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await argon2Verify({ password, hash });
  } catch {
    return false;
  }
}

/** A hash of a random password, verified against when the account does not exist, so a wrong
 *  user name takes as long to refuse as a wrong password. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  return (decoy ??= hashPassword(randomBytes(18).toString('base64')));
}

/** Four groups of five letters and digits, without look-alikes (0/O, 1/l/I). */
export function generatePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const groups: string[] = [];
  for (let g = 0; g < 4; g++) {
    let s = '';
    for (let i = 0; i < 5; i++) s += alphabet[randomInt(alphabet.length)];
    groups.push(s);
  }
  return groups.join('-');
}

export class AccountError extends Error {}

export function normaliseUsername(name: string): string {
  const u = name.trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9._@-]{0,63}$/.test(u)) throw new AccountError(`"${name}" is not a usable sign-in name: use letters, digits, dots, dashes or an email address (up to 64 characters)`);
  return u;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new AccountError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  if (password.length > 1024) throw new AccountError('the password is too long (1024 characters at most)');
}

export function parseRole(role: string): Role {
  if ((ROLES as readonly string[]).includes(role)) return role as Role;
  throw new AccountError(`unknown role "${role}": expected one of ${ROLES.join(', ')}`);
}

export interface Account {
  username: string;
  displayName: string;
  role: Role;
  /** The school (tenant id) the account belongs to; null: the whole trust (or the one school). */
  tenant: string | null;
  createdAt: Date;
  passwordChangedAt: Date;
  /** Where the school's notices reach this person; their links work for this account. */
  email: string | null;
}

/** An account's email address, checked and in lower case; a sign-in name that is one counts as given. */
export function accountEmail(email: string | undefined, username: string): string | null {
  const e = (email ?? (username.includes('@') ? username : '')).trim().toLowerCase();
  if (!e) return null;
  if (!/^[^@\s<>"]+@[^@\s<>"]+\.[^@\s<>"]+$/.test(e) || e.length > 254) throw new AccountError(`"${email ?? username}" is not an email address`);
  return e;
}

/**
 * Checks `--school ID` against the schools the configuration lists: in a trust, one of its
 * schools' ids (or none: the whole trust); a single school takes no --school.
 */
export async function schoolOption(config: Config, school: string | undefined): Promise<string | null> {
  if (school === undefined) return null;
  const { loadTenants } = await import('../tenants.ts');
  if (config.tenants === undefined) {
    throw new AccountError('--school: this gateway serves one school (there is no tenants: list in its configuration), so accounts need no school; leave --school out');
  }
  const ids = loadTenants(config).map((t) => t.id);
  const id = school.trim().toLowerCase();
  if (!ids.includes(id)) throw new AccountError(`--school: "${school}" is not one of this trust's schools (${ids.join(', ')}); leave --school out for an account that sees the whole trust`);
  return id;
}

export async function addUser(db: ConsoleDb, a: { username: string; displayName?: string; role: Role; password: string; tenant?: string | null; email?: string }, now = new Date()): Promise<Account> {
  const username = normaliseUsername(a.username);
  const email = accountEmail(a.email, username);
  checkPassword(a.password);
  const hash = await hashPassword(a.password);
  const t = now.toISOString();
  const existing = await db.selectFrom('console_users').select('username').where('username', '=', username).executeTakeFirst();
  if (existing) throw new AccountError(`an account called ${username} already exists (use "hallmonitor users reset" to give it a new password)`);
  await db.insertInto('console_users').values({
    username,
    display_name: a.displayName?.trim() || username,
    role: a.role,
    password_hash: hash,
    created_at: t,
    updated_at: t,
    password_changed_at: t,
    tenant: a.tenant ?? null,
    email,
  }).execute();
  return { username, displayName: a.displayName?.trim() || username, role: a.role, tenant: a.tenant ?? null, createdAt: now, passwordChangedAt: now, email };
}

/** New password (and optionally role, and school: a tenant id, or null for the whole trust); every session of the account ends and any lock-out lifts. */
export async function resetUser(db: ConsoleDb, name: string, change: { password: string; role?: Role; tenant?: string | null; email?: string }, actor: string, now = new Date()): Promise<void> {
  const username = normaliseUsername(name);
  const email = change.email !== undefined ? accountEmail(change.email, username) : undefined;
  checkPassword(change.password);
  const hash = await hashPassword(change.password);
  const t = now.toISOString();
  await db.transaction().execute(async (trx) => {
    const res = await trx.updateTable('console_users')
      .set({ password_hash: hash, updated_at: t, password_changed_at: t, ...(change.role ? { role: change.role } : {}), ...(change.tenant !== undefined ? { tenant: change.tenant } : {}), ...(email !== undefined ? { email } : {}) })
      .where('username', '=', username)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new AccountError(`there is no account called ${username}`);
    await trx.deleteFrom('console_sessions').where('username', '=', username).execute();
    // A successful-attempt row closes any run of failures: the lock-out counts failures after it.
    await trx.insertInto('console_login_attempts').values({ username, at: t, ok: 1, ip: `password reset by ${actor}` }).execute();
  });
}

export async function removeUser(db: ConsoleDb, name: string): Promise<void> {
  const username = normaliseUsername(name);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('console_sessions').where('username', '=', username).execute();
    const res = await trx.deleteFrom('console_users').where('username', '=', username).executeTakeFirst();
    if (Number(res.numDeletedRows) !== 1) throw new AccountError(`there is no account called ${username}`);
  });
}

export async function listUsers(db: ConsoleDb): Promise<Account[]> {
  const rows = await db.selectFrom('console_users').select(['username', 'display_name', 'role', 'tenant', 'created_at', 'password_changed_at', 'email']).orderBy('username').execute();
  return rows.map((r) => ({ username: r.username, displayName: r.display_name, role: r.role, tenant: r.tenant ?? null, createdAt: new Date(r.created_at), passwordChangedAt: new Date(r.password_changed_at), email: r.email ?? null }));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  // One trailing newline (from echo or a here-string) is not part of the password.
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}

interface StoreOpts { config?: string; data?: string }

async function withAccounts<T>(opts: StoreOpts, fn: (db: ConsoleDb, config: Config) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('../config/index.ts');
  const { openStore } = await import('../store/index.ts');
  const { consoleDb } = await import('./console/migrations.ts');
  const config = loadConfig(opts.config, { dataDir: opts.data });
  const store = await openStore(config, { poolSize: 1 });
  try {
    return await fn(await consoleDb(store), config);
  } finally {
    await store.close();
  }
}

function actorName(): string {
  return `${process.env.SUDO_USER ?? process.env.USER ?? 'unknown'} (command line)`;
}

/** `hallmonitor users add|reset|remove|list`. */
export function registerUserCommands(program: Command): void {
  const users = program
    .command('users')
    .description("Console accounts: who may sign in to the business manager's console, and in which role");
  const common = (c: Command) => c
    .option('-c, --config <file>', 'YAML configuration file (the store it names holds the accounts)')
    .option('--data <dir>', 'data directory (when the store is the embedded SQLite file)')
    .exitOverride();

  common(users
    .command('add')
    .description(`Create an account. Roles: ${ROLES.map((r) => `${r} (${ROLE_DUTIES[r]})`).join('; ')}`)
    .argument('<username>', 'sign-in name, e.g. j.bloggs or an email address')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--name <display name>', 'name shown in the console and the incident history')
    .option('--email <address>', "the person's email address (the business manager's): the release and reject links in notices sent there work for this account")
    .option('--school <id>', 'in a trust: the school (its id under tenants:) whose incidents the account sees')
    .option('--trust', 'in a trust: the account sees every school (the trust\'s data protection officer)')
    .option('--password-stdin', 'read the password from standard input instead of generating one'))
    .action(async (username: string, opts: StoreOpts & { role: string; name?: string; email?: string; school?: string; trust?: boolean; passwordStdin?: boolean }) => {
      const role = parseRole(opts.role);
      if (opts.school !== undefined && opts.trust) throw new AccountError('--school and --trust: give one or the other');
      const generated = !opts.passwordStdin;
      const password = generated ? generatePassword() : await readStdin();
      let where = '';
      const account = await withAccounts(opts, async (db, config) => {
        const tenant = await schoolOption(config, opts.school);
        if (config.tenants !== undefined && !tenant && !opts.trust) {
          // Seeing every school must be asked for, never the result of a forgotten option.
          throw new AccountError('in a trust, say which school the account belongs to (--school ID) or that it sees every school (--trust)');
        }
        if (config.tenants === undefined && opts.trust) throw new AccountError('--trust: this gateway serves one school (there is no tenants: list in its configuration); leave --trust out');
        if (config.tenants !== undefined) {
          const { loadTenants } = await import('../tenants.ts');
          where = tenant ? ` for ${loadTenants(config).find((t) => t.id === tenant)?.name ?? tenant} only` : ' for the whole trust (every school)';
        }
        return addUser(db, { username, displayName: opts.name, role, password, tenant, email: opts.email });
      });
      process.stdout.write(`Account ${account.username} added as ${ROLE_TITLES[role]}${where}.\n`);
      if (generated) process.stdout.write(`Password: ${password}\nGive it to ${account.displayName} in person or by phone, not by email.\n`);
    });

  common(users
    .command('reset')
    .description('Give an account a new password (ends its sessions and lifts a lock-out); optionally change its role or, in a trust, its school')
    .argument('<username>')
    .option('--role <role>', ROLES.join(' | '))
    .option('--email <address>', "the person's email address, where notices with links reach them")
    .option('--school <id>', 'in a trust: move the account to this school')
    .option('--trust', 'in a trust: the account sees the whole trust (every school)')
    .option('--password-stdin', 'read the new password from standard input instead of generating one'))
    .action(async (username: string, opts: StoreOpts & { role?: string; email?: string; school?: string; trust?: boolean; passwordStdin?: boolean }) => {
      const role = opts.role ? parseRole(opts.role) : undefined;
      if (opts.school !== undefined && opts.trust) throw new AccountError('--school and --trust: give one or the other');
      const generated = !opts.passwordStdin;
      const password = generated ? generatePassword() : await readStdin();
      let moved = '';
      await withAccounts(opts, async (db, config) => {
        let tenant: string | null | undefined;
        if (opts.school !== undefined) tenant = await schoolOption(config, opts.school);
        if (opts.trust) {
          if (config.tenants === undefined) throw new AccountError('--trust: this gateway serves one school (there is no tenants: list in its configuration); leave --trust out');
          tenant = null;
        }
        if (tenant !== undefined) moved = tenant ? `, belongs to ${tenant}` : ', sees the whole trust';
        await resetUser(db, username, { password, role, tenant, email: opts.email }, actorName());
      });
      process.stdout.write(`Account ${normaliseUsername(username)} has a new password${role ? ` and the role ${ROLE_TITLES[role]}` : ''}${moved}; its sessions have ended.\n`);
      if (generated) process.stdout.write(`Password: ${password}\n`);
    });

  common(users
    .command('remove')
    .description('Delete an account and end its sessions (its past actions stay in the incident history)')
    .argument('<username>'))
    .action(async (username: string, opts: StoreOpts) => {
      await withAccounts(opts, (db) => removeUser(db, username));
      process.stdout.write(`Account ${normaliseUsername(username)} removed.\n`);
    });

  common(users
    .command('list')
    .description('List the console accounts, their roles and (in a trust) their schools'))
    .action(async (opts: StoreOpts) => {
      let trust = false;
      const accounts = await withAccounts(opts, (db, config) => {
        trust = config.tenants !== undefined;
        return listUsers(db);
      });
      if (!accounts.length) {
        process.stdout.write('No console accounts yet. Add one with: hallmonitor users add <username> --role business-manager\n');
        return;
      }
      const w = Math.max(8, ...accounts.map((a) => a.username.length));
      // The SCHOOL column in a trust (or when an account has one): a school's id, or "(trust)".
      const withSchool = trust || accounts.some((a) => a.tenant !== null);
      const school = (a: Account) => (a.tenant ?? '(trust)');
      const sw = Math.max(7, ...accounts.map((a) => school(a).length));
      const col = (a: Account | null) => (withSchool ? `${(a ? school(a) : 'SCHOOL').padEnd(sw)}  ` : '');
      process.stdout.write(`${'USERNAME'.padEnd(w)}  ${'ROLE'.padEnd(18)}  ${col(null)}${'PASSWORD SET'.padEnd(16)}  NAME\n`);
      for (const a of accounts) {
        process.stdout.write(`${a.username.padEnd(w)}  ${a.role.padEnd(18)}  ${col(a)}${a.passwordChangedAt.toISOString().slice(0, 16).replace('T', ' ')}  ${a.displayName}${a.email && a.email !== a.username ? ` <${a.email}>` : ''}\n`);
      }
    });
}
