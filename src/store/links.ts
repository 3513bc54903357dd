// The store's part of the links in notification emails (src/act/notify/links.ts): the signing key,
// made at first need and then the same for every gateway instance sharing the store, and the
// record of used links, so that each works once even with several instances behind a balancer.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

const KEY_ID = 'email-links';
const keys = new WeakMap<object, Promise<Buffer>>();

/** The key that signs links (32 random bytes, created once; racing instances agree on the first). */
export function linkKey(db: Kysely<Database>): Promise<Buffer> {
  let k = keys.get(db);
  if (!k) {
    k = (async () => {
      const read = () => db.selectFrom('link_keys').select('secret').where('id', '=', KEY_ID).executeTakeFirst();
      let row = await read();
      if (!row) {
        await db.insertInto('link_keys').values({ id: KEY_ID, secret: randomBytes(32).toString('hex'), created_at: new Date().toISOString() })
          .onConflict((oc) => oc.column('id').doNothing()).execute();
        row = await read();
      }
      return Buffer.from(row!.secret, 'hex');
    })();
    k.catch(() => keys.delete(db));
    keys.set(db, k);
  }
  return k;
}

/** Records a link as used; false when it already was (by anyone, on any instance). */
export async function useLink(db: Kysely<Database>, id: string, reference: string, purpose: string, by: string, now: Date): Promise<boolean> {
  const r = await db.insertInto('link_uses').values({ id, reference, purpose, used_at: now.toISOString(), used_by: by.slice(0, 300) })
    .onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** When and by whom a link was used, or undefined. */
export async function linkUse(db: Kysely<Database>, id: string): Promise<{ usedAt: Date; usedBy: string } | undefined> {
  const row = await db.selectFrom('link_uses').select(['used_at', 'used_by']).where('id', '=', id).executeTakeFirst();
  return row ? { usedAt: new Date(row.used_at), usedBy: row.used_by } : undefined;
}
