/**
 * The backstop for access lost without a channel event. A member removed from a channel leaves
 * its rooms at the removal's own event, in stream order, however that event arrives. A reader
 * who is no member (an admin demoted, a guild member removed, for the channels it read without
 * being in them) leaves through a room change sent after the commit, which a lost hand-over,
 * a realtime process down or Redis down can lose: the socket would then keep receiving the
 * channel for as long as it stays connected.
 *
 * So every realtime process checks its own sockets' subscriptions on the token cache's
 * schedule (TOKEN_CACHE_SECONDS, the bound within which a revoked token ends a session too):
 * channel rooms against the read rule (api.md "Who sees what"), guild rooms (presence) against
 * guild membership, and takes out the ones the user no longer has. A pair found without access
 * is asked about again before its sockets leave, so that a join that raced the first read
 * (access given back, socket joined again) is not undone.
 *
 * The other way round, a user added to a guild joins the guild's room (presence) only through
 * a room change too: so the sweep also reads the guilds of the users with a socket here (one
 * query per 500 users) and puts their sockets into the rooms of the guilds they are members of
 * and not in, asking about each such pair again first. Channels need no such step: a user's
 * new channels reach its sockets as `channel.joined` on its stream, which is logged.
 */
import type { Namespace } from 'socket.io';
import type { Principal } from '../lib/center/client.js';
import type { Db } from '../lib/db/index.js';
import { channelReaders, guildMembersAmong, guildsOfUsers } from '../lib/guilds/standing.js';
import { createLogger } from '../lib/logger.js';
import { accessSweepJoins, accessSweepLeaves } from '../lib/metrics.js';
import { parseRoom, rooms } from '../lib/realtime/rooms.js';

const log = createLogger('realtime');

export interface AccessSweep {
  /** No further pass; resolves once a pass in progress is done (before the database closes). */
  stop(): Promise<void>;
}

export function startAccessSweep(nsp: Namespace, db: Db, intervalMs: number): AccessSweep {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    // A pass slower than the interval is not overlapped by the next.
    running ??= sweepOnce(nsp, db)
      .catch((err: unknown) => log.warn('access sweep failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => (running = null));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** This process's user subscriptions, from its room table: channel → users, guild → users. */
function subscriptions(nsp: Namespace): { channels: Map<string, Set<string>>; guilds: Map<string, Set<string>> } {
  const channels = new Map<string, Set<string>>();
  const guilds = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, key: string, user: string) => (m.get(key) ?? m.set(key, new Set()).get(key)!).add(user);
  for (const [room, socketIds] of nsp.adapter.rooms) {
    const parsed = parseRoom(room);
    if (!parsed) continue;
    if ('channel' in parsed) {
      if (parsed.user !== undefined && socketIds.size > 0) add(channels, parsed.channel, parsed.user);
    } else if ('guild' in parsed) {
      for (const id of socketIds) {
        const principal = (nsp.sockets.get(id)?.data as { principal?: Principal } | undefined)?.principal;
        if (principal?.kind === 'user') add(guilds, parsed.guild, principal.userId);
      }
    }
  }
  return { channels, guilds };
}

async function sweepOnce(nsp: Namespace, db: Db): Promise<number> {
  const { channels, guilds } = subscriptions(nsp);
  let left = 0;
  for (const [channelId, users] of channels) {
    const lost = await withoutChannelAccess(db, channelId, [...users]);
    // Asked again: only what is still without access leaves (a join may have raced the first read).
    const confirmed = lost.length > 0 ? await withoutChannelAccess(db, channelId, lost) : [];
    for (const userId of confirmed) nsp.local.in(rooms.channelUser(channelId, userId)).socketsLeave(rooms.ofChannelSubscriber(channelId, userId));
    left += confirmed.length;
    if (confirmed.length > 0) accessSweepLeaves.inc({ room: 'channel' }, confirmed.length);
  }
  for (const [guildId, users] of guilds) {
    const lost = await withoutGuildMembership(db, guildId, [...users]);
    const confirmed = lost.length > 0 ? await withoutGuildMembership(db, guildId, lost) : [];
    for (const userId of confirmed) nsp.local.in(rooms.user(userId)).socketsLeave(rooms.guild(guildId));
    left += confirmed.length;
    if (confirmed.length > 0) accessSweepLeaves.inc({ room: 'guild' }, confirmed.length);
  }
  // Each one is a room change that never arrived: worth an operator's attention.
  if (left > 0) log.warn('access sweep took sockets out of rooms their users may no longer read', { subscriptions: left });
  const joined = await joinGuildRooms(nsp, db);
  if (joined > 0) log.warn('access sweep put sockets into the rooms of guilds their users are members of', { subscriptions: joined });
  return left + joined;
}

/** Puts the sockets here of guild members into the guild rooms they miss; the number of (user, guild) pairs. */
async function joinGuildRooms(nsp: Namespace, db: Db): Promise<number> {
  const users: string[] = [];
  for (const room of nsp.adapter.rooms.keys()) {
    const parsed = parseRoom(room);
    if (parsed && 'user' in parsed && !('channel' in parsed)) users.push(parsed.user);
  }
  const missing = new Map<string, string[]>(); // guild → users with a socket here outside its room
  for (const [userId, guildIds] of await guildsOfUsers(db, users)) {
    for (const guildId of guildIds) {
      if (!outsideRoom(nsp, userId, guildId)) continue;
      (missing.get(guildId) ?? missing.set(guildId, []).get(guildId)!).push(userId);
    }
  }
  let joined = 0;
  for (const [guildId, userIds] of missing) {
    // Asked again: a removal that committed meanwhile keeps its sockets out.
    const members = await guildMembersAmong(db, guildId, userIds);
    const confirmed = userIds.filter((u) => members.has(u) && outsideRoom(nsp, u, guildId));
    for (const userId of confirmed) nsp.local.in(rooms.user(userId)).socketsJoin(rooms.guild(guildId));
    joined += confirmed.length;
  }
  if (joined > 0) accessSweepJoins.inc(joined);
  return joined;
}

/** Whether a socket of the user here is not in the guild's room. */
function outsideRoom(nsp: Namespace, userId: string, guildId: string): boolean {
  const guildRoom = nsp.adapter.rooms.get(rooms.guild(guildId));
  for (const id of nsp.adapter.rooms.get(rooms.user(userId)) ?? []) if (!guildRoom?.has(id)) return true;
  return false;
}

async function withoutChannelAccess(db: Db, channelId: string, userIds: string[]): Promise<string[]> {
  // channelReaders bounds its own queries (500 users each).
  const oks = await channelReaders(
    db,
    channelId,
    userIds.map((userId): Principal => ({ kind: 'user', userId, name: '' })),
  );
  return userIds.filter((_, j) => !oks[j]);
}

async function withoutGuildMembership(db: Db, guildId: string, userIds: string[]): Promise<string[]> {
  const members = await guildMembersAmong(db, guildId, userIds);
  return userIds.filter((u) => !members.has(u));
}
