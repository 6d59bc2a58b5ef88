import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { insertIgnore, lockChannel, lockingRead, withDeadlockRetry, withTransaction } from '../db/dialect.js';
import type { GuildRole, GuildTable, MemberKind } from '../db/schema.js';
import { busyConflict, CONCURRENT_CHANGE_ATTEMPTS, HttpError, invalidReference, notFound } from '../errors.js';
import { isoTime, newId } from '../ids.js';
import { removeChannelMemberships } from '../channels/membership.js';
import { Outbox } from '../realtime/outbox.js';

/** The API shape of a guild (api.md "Guilds"). */
export const toGuild = (g: GuildTable, nodeId: string) => ({
  id: g.id,
  name: g.name,
  description: g.description,
  ownerId: g.owner_id,
  nodeId,
  createdAt: isoTime(g.created_at),
});

/** The API shape of a guild member. */
export const toGuildMember = (m: { user_id: string; role: GuildRole; joined_at: number; kind: string }) => ({
  userId: m.user_id,
  role: m.role,
  kind: m.kind as MemberKind,
  joinedAt: isoTime(m.joined_at),
});

/** Whether a member is a person or an agent (agent-rooms.md); people are the default. */
export const MEMBER_KINDS = ['person', 'agent'] as const;

/** Creates a guild with the caller as owner (one transaction). */
export async function createGuild(ctx: AppContext, ownerId: string, input: { name: string; description?: string }) {
  const now = Date.now();
  const guild: GuildTable = { id: newId(), name: input.name, description: input.description ?? '', owner_id: ownerId, created_at: now };
  await withTransaction(ctx.database.db, ctx.database.dialect, async (trx) => {
    await trx.insertInto('guilds').values(guild).execute();
    await trx.insertInto('guild_members').values({ guild_id: guild.id, user_id: ownerId, role: 'owner', joined_at: now }).execute();
  });
  return guild;
}

/** The guilds a user belongs to, by name. */
export async function listGuildsOfUser(db: Db, userId: string) {
  return db
    .selectFrom('guilds as g')
    .innerJoin('guild_members as m', 'm.guild_id', 'g.id')
    .selectAll('g')
    .where('m.user_id', '=', userId)
    .orderBy('g.name')
    .orderBy('g.id')
    .execute();
}

/** One guild row, or 404. */
export async function getGuild(db: Db, guildId: string) {
  const g = await db.selectFrom('guilds').selectAll().where('id', '=', guildId).executeTakeFirst();
  if (!g) throw notFound('guild');
  return g;
}

/** Changes name/description; returns the updated row. */
export async function updateGuild(db: Db, guildId: string, patch: { name?: string; description?: string }) {
  if (patch.name !== undefined || patch.description !== undefined) {
    await db.updateTable('guilds').set(patch).where('id', '=', guildId).execute();
  }
  return getGuild(db, guildId);
}

/** Members of a guild, owner first then by join time. */
export async function listGuildMembers(db: Db, guildId: string) {
  const rows = await db
    .selectFrom('guild_members')
    .select(['user_id', 'role', 'joined_at', 'kind'])
    .where('guild_id', '=', guildId)
    .orderBy('joined_at')
    .orderBy('user_id')
    .execute();
  return rows.sort((a, b) => Number(b.role === 'owner') - Number(a.role === 'owner'));
}

/** Adds users that Center knows (400 invalid_reference for the others); existing members stay as they are. Returns the ids added. */
export async function addGuildMembers(ctx: AppContext, guildId: string, userIds: string[], role: GuildRole, kind: MemberKind = 'person') {
  const ids = [...new Set(userIds)];
  const known = await ctx.center.lookupIds(ids);
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) throw invalidReference('unknown user ids', { userIds: unknown });
  const { db, dialect } = ctx.database;
  const added = await withTransaction(db, dialect, async (trx) => {
    const now = Date.now();
    const inserted = new Set<string>();
    // One insert per id, so that only the request whose insert created the row reports it
    // (a concurrent one waits for that row and skips it); in one order, so two never deadlock.
    for (const user_id of [...ids].sort()) {
      if ((await insertIgnore(trx, dialect, 'guild_members', [{ guild_id: guildId, user_id, role, kind, joined_at: now }])) > 0) inserted.add(user_id);
    }
    return ids.filter((id) => inserted.has(id));
  });
  // Already-connected sockets of the new members join the guild room (presence) without reconnecting.
  for (const id of added) ctx.emitter.guildRoom(id, guildId, true);
  return added;
}

/** 404 unless `userId` is a member of the guild (checked before a body is read: api.md's 404 before 400). */
export async function requireGuildMemberRow(db: Db, guildId: string, userId: string): Promise<void> {
  const row = await db.selectFrom('guild_members').select('user_id').where('guild_id', '=', guildId).where('user_id', '=', userId).executeTakeFirst();
  if (!row) throw notFound('member');
}

/**
 * Changes a member's role and/or kind under a locking read; the owner's role cannot change
 * (409 conflict), its kind can. 404 when the user is not a member.
 */
export async function updateGuildMember(ctx: AppContext, guildId: string, userId: string, patch: { role?: 'member' | 'admin'; kind?: MemberKind }) {
  const { db, dialect } = ctx.database;
  const outbox = new Outbox();
  const updated = await withTransaction(db, dialect, async (trx) => {
    const member = await trx
      .selectFrom('guild_members')
      .select(['user_id', 'role', 'joined_at', 'kind'])
      .where('guild_id', '=', guildId)
      .where('user_id', '=', userId)
      .$call(lockingRead(dialect, 'update'))
      .executeTakeFirst();
    if (!member) throw notFound('member');
    if (patch.role !== undefined && member.role === 'owner') {
      throw new HttpError(409, 'conflict', "the guild owner's role cannot change");
    }
    const set = { ...(patch.role !== undefined ? { role: patch.role } : {}), ...(patch.kind !== undefined ? { kind: patch.kind } : {}) };
    if (Object.keys(set).length > 0) {
      await trx.updateTable('guild_members').set(set).where('guild_id', '=', guildId).where('user_id', '=', userId).execute();
    }
    if (member.role === 'admin' && patch.role === 'member') {
      // A demoted admin stops reading the private channels it is not a member of.
      const unreadable = await trx
        .selectFrom('channels as c')
        .leftJoin('channel_members as cm', (j) => j.onRef('cm.channel_id', '=', 'c.id').on('cm.user_id', '=', userId))
        .select('c.id')
        .where('c.guild_id', '=', guildId)
        .where('c.is_public', '=', 0)
        .where('cm.user_id', 'is', null)
        .execute();
      for (const c of unreadable) outbox.leaveRoom(userId, c.id);
    }
    await outbox.logIn(trx, dialect);
    return { ...member, ...set, joined_at: Number(member.joined_at) };
  });
  outbox.sendTo(ctx.emitter);
  return updated;
}

/**
 * Removes a member from the guild and from every channel of it, in one transaction, and
 * emits `channel.left` for each channel membership removed. The owner cannot be removed (409).
 */
export async function removeGuildMember(ctx: AppContext, guildId: string, userId: string, actorId: string | null) {
  const { db, dialect } = ctx.database;
  for (let attempt = 1; attempt <= CONCURRENT_CHANGE_ATTEMPTS; attempt++) {
    const guildOf = await channelsOfMember(db, userId);
    // Retried on a deadlock: the membership check inside a post's seq bump may lock the
    // member's two rows in either order (the optimizer's choice), and a MySQL group commit of
    // posts holds the rows of several channels (ascending) while it waits for the next one.
    const outbox = await withDeadlockRetry(db, dialect, (trx) => removeUnderLocks(trx, ctx, guildId, userId, actorId, guildOf));
    if (outbox) {
      outbox.sendTo(ctx.emitter);
      return;
    }
    // It joined a channel after `guildOf` was read: nothing was written, start again with that channel.
  }
  throw busyConflict("the member's channels");
}

/**
 * The removal's transaction. Locks in the order single posts and membership changes use (a
 * group commit of posts can still cross it; the caller retries deadlocks): the rows of the
 * channels to leave (by id; `guildOf`, read before the transaction, says which),
 * then the user's channel memberships, then its guild membership. The memberships are read
 * with a locking read, which also keeps new ones from being inserted until commit: when that
 * read finds a channel missing from `guildOf`, nothing is written and the answer is null.
 */
async function removeUnderLocks(trx: Db, ctx: AppContext, guildId: string, userId: string, actorId: string | null, guildOf: Map<string, string>) {
  const { dialect } = ctx.database;
  const ids = [...guildOf].filter(([, g]) => g === guildId).map(([id]) => id);
  for (const id of [...ids].sort()) await lockChannel(trx, dialect, id);
  const current = await trx.selectFrom('channel_members').select('channel_id').where('user_id', '=', userId).$call(lockingRead(dialect, 'update')).execute();
  if (current.some((r) => !guildOf.has(r.channel_id))) return null;
  const member = await trx
    .selectFrom('guild_members')
    .select('role')
    .where('guild_id', '=', guildId)
    .where('user_id', '=', userId)
    .$call(lockingRead(dialect, 'update'))
    .executeTakeFirst();
  if (!member) throw notFound('member');
  if (member.role === 'owner') throw new HttpError(409, 'conflict', 'the guild owner cannot be removed');
  const outbox = new Outbox();
  const channelIds = current.map((r) => r.channel_id).filter((id) => guildOf.get(id) === guildId);
  await removeChannelMemberships(trx, ctx, outbox, channelIds, userId, actorId);
  // Its sockets may also be subscribed, as a reader, to channels it was not a member of
  // (public ones; every one for an admin): those rooms must not keep feeding an outsider.
  let readable = trx.selectFrom('channels').select('id').where('guild_id', '=', guildId);
  if (member.role === 'member') readable = readable.where('is_public', '=', 1);
  const memberOf = new Set(channelIds);
  for (const { id } of await readable.execute()) if (!memberOf.has(id)) outbox.leaveRoom(userId, id);
  await trx.deleteFrom('guild_members').where('guild_id', '=', guildId).where('user_id', '=', userId).execute();
  outbox.guildRoom(userId, guildId, false);
  await outbox.logIn(trx, dialect);
  return outbox;
}

/** Channel id → guild id for every channel the user is a member of (read outside the transaction: which rows to lock). */
async function channelsOfMember(db: Db, userId: string): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('channel_members as cm')
    .innerJoin('channels as c', 'c.id', 'cm.channel_id')
    .select(['c.id', 'c.guild_id'])
    .where('cm.user_id', '=', userId)
    .execute();
  return new Map(rows.map((r) => [r.id, r.guild_id]));
}
