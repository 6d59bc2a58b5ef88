/**
 * The guild fixture shared by the foundation suites: who can see and do what is tested
 * against the same cast everywhere.
 */
import type { Socket } from 'socket.io-client';
import { createChannel, nextEvent, recordEvents, seedGuild, type RestFixture, type TestNode, type TestUser } from './harness.js';

/**
 * A guild with an owner, an admin, three plain members (in the channel suites m1 creates
 * channels, m2 is put in them, m3 is in the guild but not in the channels), the guild
 * token and an outsider.
 */
export async function seedWorld(t: RestFixture) {
  const { owner, members, guildId } = await seedGuild(t, 3);
  const [m1, m2, m3] = members;
  const admin = await t.centerApi.user('admin');
  const r = await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [admin.id], role: 'admin' } });
  if (r.status !== 200) throw new Error(`adding the admin failed: ${r.status}`);
  const guildToken = await t.centerApi.guildToken(guildId);
  const outsider = await t.centerApi.user('outsider');
  return { owner, admin, m1, m2, m3, guildId, guildToken, outsider };
}
export type World = Awaited<ReturnType<typeof seedWorld>>;

/**
 * Resolves once every socket has received a `channel.joined` for a fresh channel that `user`
 * is seeded into: anything emitted to these sockets before it has arrived by then.
 */
export async function laterJoin(t: TestNode, w: World, user: TestUser, sockets: Socket[]) {
  const seen = sockets.map((s) => recordEvents(s, 'channel.joined'));
  const ch = await createChannel(t, w.owner.token, { guildId: w.guildId, name: 'barrier', xType: 'general', memberUserIds: [user.id] });
  await Promise.all(sockets.map((s, i) => (seen[i].some((e) => e.channelId === ch.id) ? undefined : nextEvent(s, 'channel.joined', 3000, (e) => e.channelId === ch.id))));
}
