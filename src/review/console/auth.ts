// Sign-in, sessions, lock-out and CSRF for the console. Sessions live in the database (every
// gateway instance behind a load balancer shares them); the cookie holds a random token and the
// database only its SHA-256. Each session has its own synchronizer token that every form carries.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { PostgresAdapter, sql } from 'kysely';
import { decoyHash, normaliseUsername, verifyPassword } from '../users.ts';
import type { ConsoleDb, Role } from './schema.ts';
import type { ConsoleSettings } from './settings.ts';

export interface SessionUser {
  username: string;
  displayName: string;
  role: Role;
  /** The school (tenant id) the account belongs to; null: the whole trust (or the one school). */
  tenant: string | null;
  /** The account's email address (links in notices sent there work for it), or null. */
  email: string | null;
  /** What the header says the user is looking at ("Oakfield Primary", "Example Trust – all schools"); set per request. */
  scopeName?: string;
  /** SHA-256 of the cookie token (the session's row id). */
  sessionId: string;
  csrf: string;
  expiresAt: Date;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const token = () => randomBytes(32).toString('base64url');
const iso = (d: Date) => d.toISOString();

export function sameToken(a: string | undefined | null, b: string | undefined | null): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || !a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function sessionCookieName(settings: ConsoleSettings): string {
  // `__Host-` binds the cookie to this exact origin (Secure, Path=/, no Domain) when on TLS.
  return settings.secureCookies ? '__Host-hm_session' : 'hm_session';
}

export function signInCookieName(settings: ConsoleSettings): string {
  return settings.secureCookies ? '__Host-hm_signin' : 'hm_signin';
}

export type SignInResult =
  | { ok: true; token: string; user: SessionUser }
  | { ok: false; reason: 'locked'; until: Date }
  | { ok: false; reason: 'wrong' };

/** console_login_attempts.ok: wrong password, right, refused while locked, being checked. */
const WRONG = 0;
const RIGHT = 1;
const REFUSED = 2;
const CHECKING = 3;
/** First key of the per-name advisory lock around a sign-in's check and record ("HmLg"). */
const LOGIN_LOCK_ID = 0x486d4c67;

/**
 * A run of `failures` failed attempts, the latest within `minutes`, locks the name until then.
 * An attempt still being checked counts as failed until it is known (see reserveAttempt).
 */
export async function lockedUntil(db: ConsoleDb, username: string, settings: ConsoleSettings, now: Date): Promise<Date | null> {
  const recent = await db.selectFrom('console_login_attempts')
    .select(['at', 'ok'])
    .where('username', '=', username)
    .where('ok', 'in', [WRONG, RIGHT, CHECKING])
    .orderBy('id', 'desc')
    .limit(settings.lockout.failures)
    .execute();
  if (recent.length < settings.lockout.failures || recent.some((r) => r.ok === RIGHT)) return null;
  const until = new Date(new Date(recent[0].at).getTime() + settings.lockout.minutes * 60_000);
  return until > now ? until : null;
}

/**
 * The lock-out's check and the attempt's record in one step, one name at a time: a guess is
 * written down as being checked before its password is, so guesses sent all at once (to one
 * gateway or several sharing PostgreSQL) meet the lock after `failures` of them, not after every
 * one has been checked. The transaction holds a per-name advisory lock on PostgreSQL; SQLite's
 * transactions are one at a time already.
 */
async function reserveAttempt(db: ConsoleDb, username: string, ip: string, settings: ConsoleSettings, now: Date): Promise<{ locked: Date } | { id: number }> {
  return db.transaction().execute(async (trx) => {
    if (trx.getExecutor().adapter instanceof PostgresAdapter) await sql`select pg_advisory_xact_lock(${LOGIN_LOCK_ID}, hashtext(${username}))`.execute(trx);
    const locked = await lockedUntil(trx, username, settings, now);
    // Recorded, but refused without looking at the password and not counted as a failure, so a
    // locked account is not kept locked by the same guessing.
    const row = await trx.insertInto('console_login_attempts')
      .values({ username: username.slice(0, 200), at: iso(now), ok: locked ? REFUSED : CHECKING, ip })
      .returning('id')
      .executeTakeFirstOrThrow();
    return locked ? { locked } : { id: Number(row.id) };
  });
}

export async function signIn(db: ConsoleDb, name: string, password: string, ip: string, settings: ConsoleSettings, now = new Date()): Promise<SignInResult> {
  let username: string;
  try {
    username = normaliseUsername(name);
  } catch {
    await verifyPassword(password, await decoyHash());
    return { ok: false, reason: 'wrong' };
  }
  const attempt = await reserveAttempt(db, username, ip, settings, now);
  if ('locked' in attempt) return { ok: false, reason: 'locked', until: attempt.locked };
  const account = await db.selectFrom('console_users').selectAll().where('username', '=', username).executeTakeFirst();
  const good = await verifyPassword(password, account?.password_hash ?? (await decoyHash()));
  await db.updateTable('console_login_attempts').set({ ok: account && good ? RIGHT : WRONG }).where('id', '=', attempt.id).execute();
  if (!account || !good) {
    const nowLocked = await lockedUntil(db, username, settings, now);
    return nowLocked ? { ok: false, reason: 'locked', until: nowLocked } : { ok: false, reason: 'wrong' };
  }
  const t = token();
  const csrf = token();
  const expiresAt = new Date(now.getTime() + settings.sessionHours * 3_600_000);
  await db.insertInto('console_sessions').values({
    id: sha256(t), username, created_at: iso(now), last_seen_at: iso(now), expires_at: iso(expiresAt), csrf_token: csrf, ip,
  }).execute();
  // Old sessions are tidied here rather than by a timer.
  await db.deleteFrom('console_sessions').where('expires_at', '<', iso(now)).execute();
  return { ok: true, token: t, user: { username, displayName: account.display_name, role: account.role, tenant: account.tenant ?? null, email: account.email ?? null, sessionId: sha256(t), csrf, expiresAt } };
}

/** The signed-in user for a cookie token, or null (unknown, expired, idle too long). */
export async function loadSession(db: ConsoleDb, cookieToken: string | undefined, settings: ConsoleSettings, now = new Date()): Promise<SessionUser | null> {
  if (!cookieToken || cookieToken.length > 200) return null;
  const id = sha256(cookieToken);
  const row = await db.selectFrom('console_sessions')
    .innerJoin('console_users', 'console_users.username', 'console_sessions.username')
    .select(['console_sessions.id', 'console_sessions.username', 'console_sessions.last_seen_at', 'console_sessions.expires_at', 'console_sessions.csrf_token', 'console_users.display_name', 'console_users.role', 'console_users.tenant', 'console_users.email'])
    .where('console_sessions.id', '=', id)
    .executeTakeFirst();
  if (!row) return null;
  const lastSeen = new Date(row.last_seen_at).getTime();
  if (new Date(row.expires_at) <= now || lastSeen + settings.idleMinutes * 60_000 <= now.getTime()) {
    await db.deleteFrom('console_sessions').where('id', '=', id).execute();
    return null;
  }
  if (now.getTime() - lastSeen > 30_000) {
    await db.updateTable('console_sessions').set({ last_seen_at: iso(now) }).where('id', '=', id).execute();
  }
  return { username: row.username, displayName: row.display_name, role: row.role, tenant: row.tenant ?? null, email: row.email ?? null, sessionId: id, csrf: row.csrf_token, expiresAt: new Date(row.expires_at) };
}

export async function endSession(db: ConsoleDb, sessionId: string): Promise<void> {
  await db.deleteFrom('console_sessions').where('id', '=', sessionId).execute();
}

export function newSignInToken(): string {
  return token();
}
