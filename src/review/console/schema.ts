// The console's own tables, beside the store's: accounts, sessions, sign-in attempts and the
// gateway instances that report in. Same conventions as src/store/schema.ts (ISO-8601 UTC text
// times, JSON text, 0/1 flags), so one set of queries serves SQLite and PostgreSQL, and sessions
// live in the database so every gateway instance behind a load balancer shares them.
import type { Generated, Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';

export const ROLES = ['business-manager', 'safeguarding-lead', 'it-admin', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface ConsoleUserTable {
  /** Lower-case sign-in name. */
  username: string;
  display_name: string;
  role: Role;
  /** argon2id, PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
  password_hash: string;
  created_at: string;
  updated_at: string;
  password_changed_at: string;
  /** The school (tenant id, src/tenants.ts) the account belongs to; null: the whole trust (or the one school). */
  tenant: string | null;
  /** The address the school writes to this person at (the business manager's), lower case: links
   *  in notification emails sent there work for this account. Null: the sign-in name if it is one. */
  email: string | null;
}

export interface ConsoleSessionTable {
  /** SHA-256 (hex) of the cookie value: a copy of the database does not hand out live sessions. */
  id: string;
  username: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  /** The synchronizer token every form of this session carries. */
  csrf_token: string;
  ip: string;
}

export interface ConsoleLoginAttemptTable {
  id: Generated<number>;
  username: string;
  at: string;
  ok: number;
  ip: string;
}

/** One row per running gateway that serves the console: its heartbeat and what it reports. */
export interface ConsoleInstanceTable {
  name: string;
  started_at: string;
  last_seen_at: string;
  /** JSON: listen address, next hop reachability, roster load, detector version, in flight. */
  detail: string;
}

export interface ConsoleTables {
  console_users: ConsoleUserTable;
  console_sessions: ConsoleSessionTable;
  console_login_attempts: ConsoleLoginAttemptTable;
  console_instances: ConsoleInstanceTable;
}

export type ConsoleDb = Kysely<Database & ConsoleTables>;
