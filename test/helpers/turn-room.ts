/**
 * A discuss/work channel set up like the traces of turns.md: agents A, B, C in `order`, the
 * person H (the channel's creator) in `bypass`, plus the guild's owner, an admin, a guild
 * member X outside the channel and the guild token. Every channel member has a real socket
 * joined to the channel room, so wake flags are observed as clients see them.
 */
import { expect } from 'vitest';
import type { Socket } from 'socket.io-client';
import { createChannel, emitAck, nextEvent, seedGuild, type TestNode, type TestUser } from './harness.js';

export type Name = 'H' | 'A' | 'B' | 'C';
export const NAMES: readonly Name[] = ['H', 'A', 'B', 'C'];

export interface TurnRoom {
  channelId: string;
  guildId: string;
  users: Record<Name, TestUser>;
  owner: TestUser;
  admin: TestUser;
  /** A guild member who is not in the channel. */
  outsider: TestUser;
  guildToken: string;
  sockets: Record<Name, Socket>;
  /** id → letter, for readable assertions. */
  nameOf(id: string | null): string | null;
  /** The letters of a list of ids. */
  names(ids: readonly string[]): string[];
}

export async function seedTurnRoom(t: TestNode, opts: { xType?: 'discuss' | 'work'; isPublic?: boolean } = {}): Promise<TurnRoom> {
  const { owner, members, guildId } = await seedGuild(t, 5);
  const [H, A, B, C, outsider] = members;
  const admin = await t.centerApi.user('admin');
  const r = await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [admin.id], role: 'admin' } });
  expect(r.status).toBe(200);
  const guildToken = await t.centerApi.guildToken(guildId);
  const channel = await createChannel(t, H.token, {
    guildId,
    name: 'room',
    xType: opts.xType ?? 'discuss',
    isPublic: opts.isPublic ?? false,
    turn: { order: [A.id, B.id, C.id] }, // bypass defaults to the creator, H
  });
  const users = { H, A, B, C };
  const sockets = {} as Record<Name, Socket>;
  for (const n of NAMES) {
    sockets[n] = await t.socket(users[n].token);
    expect(await emitAck(sockets[n], 'join_channel', { channelId: channel.id })).toEqual({ ok: true, pos: expect.any(Number) });
  }
  const byId = new Map<string, string>(NAMES.map((n) => [users[n].id, n]));
  byId.set(owner.id, 'O').set(admin.id, 'admin').set(outsider.id, 'X');
  const nameOf = (id: string | null) => (id === null ? null : (byId.get(id) ?? id));
  return { channelId: channel.id, guildId, users, owner, admin, outsider, guildToken, sockets, nameOf, names: (ids) => ids.map((id) => nameOf(id) as string) };
}

/**
 * Runs `action` and waits for the next `event` of this channel on every member's socket;
 * returns the action's result, the event as H saw it, and who got `wakeup: true`.
 */
export async function observe<T>(room: TurnRoom, event: string, action: () => Promise<T>) {
  const pending = NAMES.map((n) => nextEvent<any>(room.sockets[n], event, 5000, (d) => d.channelId === room.channelId));
  const result = await action();
  const seen = await Promise.all(pending);
  const woken = NAMES.filter((_, i) => seen[i].wakeup === true);
  for (const d of seen) expect(typeof d.wakeup).toBe('boolean');
  return { result, event: seen[0], woken };
}

/** The turn as the letters of the room (status, round, speaker, lists). */
export function readable(room: TurnRoom, turn: any) {
  return {
    status: turn.status,
    round: turn.round,
    speaker: room.nameOf(turn.speakerId),
    order: room.names(turn.order),
    bypass: room.names(turn.bypass),
    spoken: room.names(turn.spoken),
    passed: room.names(turn.passed),
    frames: turn.frames.map((f: { by: string; queue: string[] }) => ({ by: room.nameOf(f.by), queue: room.names(f.queue) })),
  };
}
