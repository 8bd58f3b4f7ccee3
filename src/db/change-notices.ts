// Triggers that tell every Parley process, on commit (NOTIFY), that something it may keep
// in memory changed: a device session ended (sockets close, cached tokens go) or a user's
// row, device details or profile photos changed (cached authentications go), or a 3PID
// association changed (cached identity lookups go), or a chat's membership changed (cached
// chat access goes). They cover
// every write path of every surface, SQL consoles included.
import { sql } from 'drizzle-orm';
import type { Database } from './client.ts';

/** Payload: the id of a deleted (revoked) device session. */
export const SESSION_REVOKED_CHANNEL = 'parley_session_revoked';
/** Payload: the id of a user whose row, device sessions' details or profile photos changed. */
export const USER_CHANGED_CHANNEL = 'parley_user_changed';
/** Payload: the lookup hash of a 3PID association that was bound, changed or unbound; `*` after a truncate. */
export const ASSOCIATION_CHANGED_CHANNEL = 'parley_association_changed';
/** Payload: the id of a chat that gained or lost a member, blocked or unblocked one, or was deleted. */
export const MEMBERSHIP_CHANGED_CHANNEL = 'parley_membership_changed';

// Any constant shared by all Parley processes: serializes concurrent installs.
const TRIGGER_LOCK_ID = 7_310_443;

const statements = [
  `create or replace function parley_session_revoked() returns trigger language plpgsql as $$
    begin perform pg_notify('${SESSION_REVOKED_CHANNEL}', old.id::text); return old; end $$`,
  `create or replace trigger device_sessions_revoked after delete on device_sessions
    for each row execute function parley_session_revoked()`,
  `create or replace function parley_user_changed() returns trigger language plpgsql as $$
    begin
      if tg_table_name = 'media' then
        if tg_op <> 'INSERT' and old.photo_of_user_id is not null then perform pg_notify('${USER_CHANGED_CHANNEL}', old.photo_of_user_id::text); end if;
        if tg_op <> 'DELETE' and new.photo_of_user_id is not null then perform pg_notify('${USER_CHANGED_CHANNEL}', new.photo_of_user_id::text); end if;
      elsif tg_table_name = 'device_sessions' then
        perform pg_notify('${USER_CHANGED_CHANNEL}', old.user_id::text);
      else
        perform pg_notify('${USER_CHANGED_CHANNEL}', old.id::text);
      end if;
      return null;
    end $$`,
  `create or replace trigger users_changed after update or delete on users
    for each row execute function parley_user_changed()`,
  // Not updated_at: the activity refresh (once a minute per session) is not a change of details.
  `create or replace trigger device_sessions_changed
    after update of device_id, device_name, device_model, device_token, transport, ip_address on device_sessions
    for each row execute function parley_user_changed()`,
  `create or replace trigger media_photos_changed after insert or update or delete on media
    for each row execute function parley_user_changed()`,
  `create or replace function parley_association_changed() returns trigger language plpgsql as $$
    begin
      if tg_op = 'TRUNCATE' then perform pg_notify('${ASSOCIATION_CHANGED_CHANNEL}', '*'); return null; end if;
      if tg_op <> 'INSERT' then perform pg_notify('${ASSOCIATION_CHANGED_CHANNEL}', old.lookup_hash); end if;
      if tg_op <> 'DELETE' and (tg_op = 'INSERT' or new.lookup_hash <> old.lookup_hash) then perform pg_notify('${ASSOCIATION_CHANGED_CHANNEL}', new.lookup_hash); end if;
      return null;
    end $$`,
  `create or replace trigger identity_associations_changed after insert or update or delete on identity_associations
    for each row execute function parley_association_changed()`,
  `create or replace trigger identity_associations_truncated after truncate on identity_associations
    for each statement execute function parley_association_changed()`,
  // Not the members' own flags (muted, archived, hidden): a post may rewrite those, and a
  // notifying transaction's commit waits for every other one's (src/realtime/pg-bus.ts).
  `create or replace function parley_membership_changed() returns trigger language plpgsql as $$
    begin
      if tg_table_name = 'chats' then perform pg_notify('${MEMBERSHIP_CHANGED_CHANNEL}', old.id::text);
      elsif tg_op = 'DELETE' then perform pg_notify('${MEMBERSHIP_CHANGED_CHANNEL}', old.chat_id::text);
      else perform pg_notify('${MEMBERSHIP_CHANGED_CHANNEL}', new.chat_id::text);
      end if;
      return null;
    end $$`,
  `create or replace trigger chat_members_changed after insert or delete or update of is_user_blocked on chat_members
    for each row execute function parley_membership_changed()`,
  `create or replace trigger chats_deleted after delete on chats
    for each row execute function parley_membership_changed()`,
];

export async function installChangeNotices(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${TRIGGER_LOCK_ID})`);
    for (const statement of statements) await tx.execute(sql.raw(statement));
  });
}
