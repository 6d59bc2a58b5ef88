/**
 * Guild endpoints (api.md "Guilds", "Who sees what", "Errors") over real HTTP against the
 * all-in-one node, the Center emulator and a real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, emitAck, nextEvent, recordEvents, seedGuild, sleep, startTestNode, type TestNode } from './helpers/harness.js';
import { expectBadRequest, expectError, ISO_MS } from './helpers/expect-error.js';

/** One character (code point) that takes two UTF-16 units. */
const EMOJI = '😀';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

/** A guild with an owner, an admin, two plain members, and a guild token. */
async function seedWithAdmin() {
  const { owner, members, guildId } = await seedGuild(t, 2);
  const admin = await t.centerApi.user('admin');
  const r = await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [admin.id], role: 'admin' } });
  expect(r.status).toBe(200);
  const guildToken = await t.centerApi.guildToken(guildId);
  return { owner, admin, member: members[0], member2: members[1], guildId, guildToken };
}

describe('POST /api/guilds', () => {
  it('creates a guild with the caller as owner and returns 201 {guild}', async () => {
    const user = await t.centerApi.user();
    const r = await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'Makers', description: 'we make' } });
    expect(r.status).toBe(201);
    expect(r.body.guild).toEqual({
      id: expect.any(String),
      name: 'Makers',
      description: 'we make',
      ownerId: user.id,
      nodeId: 'test-node',
      createdAt: expect.stringMatching(ISO_MS),
    });
    const members = await t.api('GET', `/api/guilds/${r.body.guild.id}/members`, { token: user.token });
    expect(members.body.members).toEqual([{ userId: user.id, role: 'owner', kind: 'person', joinedAt: expect.stringMatching(ISO_MS) }]);
  });

  it('defaults the description to an empty string and ignores unknown fields', async () => {
    const user = await t.centerApi.user();
    const r = await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'Plain', ownerId: 'someone-else', nodeId: 'x', extra: 1 } });
    expect(r.status).toBe(201);
    expect(r.body.guild).toMatchObject({ name: 'Plain', description: '', ownerId: user.id, nodeId: 'test-node' });
    expect(r.body.guild).not.toHaveProperty('extra');
  });

  it('returns 400 bad_request naming the invalid fields', async () => {
    const user = await t.centerApi.user();
    expectBadRequest(await t.api('POST', '/api/guilds', { token: user.token, body: {} }), 'name');
    expectBadRequest(await t.api('POST', '/api/guilds', { token: user.token, body: { name: '' } }), 'name');
    expectBadRequest(await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'x'.repeat(101) } }), 'name');
    expectBadRequest(await t.api('POST', '/api/guilds', { token: user.token, body: { name: 42 } }), 'name');
    expectBadRequest(await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'half \ud800 pair' } }), 'name');
    expectBadRequest(await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'x'.repeat(101), description: 'd'.repeat(1001) } }), 'name', 'description');
    expect((await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'x'.repeat(100), description: 'd'.repeat(1000) } })).status).toBe(201);
  });

  it('counts name and description in characters (code points): 100 and 1000 emoji fit, one more is 400', async () => {
    const user = await t.centerApi.user();
    const name = EMOJI.repeat(100);
    const description = EMOJI.repeat(1000);
    const r = await t.api('POST', '/api/guilds', { token: user.token, body: { name, description } });
    expect(r.status).toBe(201);
    expect(r.body.guild).toMatchObject({ name, description });
    expect((await t.api('GET', `/api/guilds/${r.body.guild.id}`, { token: user.token })).body.guild).toMatchObject({ name, description });
    expectBadRequest(await t.api('POST', '/api/guilds', { token: user.token, body: { name: name + EMOJI } }), 'name');
    expectBadRequest(await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'g', description: description + EMOJI } }), 'description');
  });

  it('returns 403 forbidden for a guild token', async () => {
    const { guildId } = await seedGuild(t, 0);
    const guildToken = await t.centerApi.guildToken(guildId);
    expectError(await t.api('POST', '/api/guilds', { token: guildToken, body: { name: 'Nope' } }), 403, 'forbidden');
  });

  it('returns 401 unauthorized without a token', async () => {
    expectError(await t.api('POST', '/api/guilds', { body: { name: 'Nope' } }), 401, 'unauthorized');
  });
});

describe('GET /api/guilds', () => {
  it('lists only the guilds the caller is a member of, by name', async () => {
    const user = await t.centerApi.user();
    const other = await t.centerApi.user();
    const b = (await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'B guild' } })).body.guild;
    const a = (await t.api('POST', '/api/guilds', { token: user.token, body: { name: 'A guild' } })).body.guild;
    await t.api('POST', '/api/guilds', { token: other.token, body: { name: 'Other' } });
    const joined = (await t.api('POST', '/api/guilds', { token: other.token, body: { name: 'C joined' } })).body.guild;
    await t.api('POST', `/api/guilds/${joined.id}/members`, { token: other.token, body: { userIds: [user.id] } });
    const r = await t.api('GET', '/api/guilds', { token: user.token });
    expect(r.status).toBe(200);
    expect(r.body.guilds.map((g: { id: string }) => g.id)).toEqual([a.id, b.id, joined.id]);
    expect(r.body.guilds[0]).toEqual(a);
  });

  it('lists only its own guild for a guild token', async () => {
    const { guildId } = await seedGuild(t, 0);
    await seedGuild(t, 0);
    const r = await t.api('GET', '/api/guilds', { token: await t.centerApi.guildToken(guildId) });
    expect(r.status).toBe(200);
    expect(r.body.guilds.map((g: { id: string }) => g.id)).toEqual([guildId]);
  });
});

describe('GET /api/guilds/:guildId', () => {
  it('returns the guild to members and to its guild token', async () => {
    const { owner, member, guildId, guildToken } = await seedWithAdmin();
    for (const token of [owner.token, member.token, guildToken]) {
      const r = await t.api('GET', `/api/guilds/${guildId}`, { token });
      expect(r.status).toBe(200);
      expect(r.body.guild).toMatchObject({ id: guildId, ownerId: owner.id, nodeId: 'test-node' });
    }
  });

  it('returns 404 to a non-member, to another guild’s token and for an unknown guild', async () => {
    const { guildId } = await seedGuild(t, 0);
    const outsider = await t.centerApi.user();
    const other = await seedGuild(t, 0);
    expectError(await t.api('GET', `/api/guilds/${guildId}`, { token: outsider.token }), 404, 'not_found');
    expectError(await t.api('GET', `/api/guilds/${guildId}`, { token: await t.centerApi.guildToken(other.guildId) }), 404, 'not_found');
    expectError(await t.api('GET', '/api/guilds/no-such-guild', { token: outsider.token }), 404, 'not_found');
    expectError(await t.api('GET', '/api/guilds/no-such-guild', { token: await t.centerApi.guildToken('no-such-guild') }), 404, 'not_found');
  });
});

describe('PATCH /api/guilds/:guildId', () => {
  it('lets the owner, an admin and the guild token change name and description', async () => {
    const { owner, admin, guildId, guildToken } = await seedWithAdmin();
    let r = await t.api('PATCH', `/api/guilds/${guildId}`, { token: owner.token, body: { name: 'Renamed' } });
    expect(r.status).toBe(200);
    expect(r.body.guild).toMatchObject({ id: guildId, name: 'Renamed', description: '' });
    r = await t.api('PATCH', `/api/guilds/${guildId}`, { token: admin.token, body: { description: 'by admin' } });
    expect(r.status).toBe(200);
    expect(r.body.guild).toMatchObject({ name: 'Renamed', description: 'by admin' });
    r = await t.api('PATCH', `/api/guilds/${guildId}`, { token: guildToken, body: { name: 'By token', ownerId: 'ignored' } });
    expect(r.status).toBe(200);
    expect(r.body.guild).toMatchObject({ name: 'By token', description: 'by admin', ownerId: owner.id });
    expect((await t.api('GET', `/api/guilds/${guildId}`, { token: owner.token })).body.guild.name).toBe('By token');
  });

  it('returns 403 forbidden to a plain member', async () => {
    const { member, guildId } = await seedWithAdmin();
    expectError(await t.api('PATCH', `/api/guilds/${guildId}`, { token: member.token, body: { name: 'Mine' } }), 403, 'forbidden');
  });

  it('returns 404 to a non-member, even with an invalid body', async () => {
    const { guildId } = await seedWithAdmin();
    const outsider = await t.centerApi.user();
    expectError(await t.api('PATCH', `/api/guilds/${guildId}`, { token: outsider.token, body: { name: 'Mine' } }), 404, 'not_found');
    expectError(await t.api('PATCH', `/api/guilds/${guildId}`, { token: outsider.token, body: { name: '' } }), 404, 'not_found');
  });

  it('returns 403 before 400 to a plain member with an invalid body', async () => {
    const { member, guildId } = await seedWithAdmin();
    expectError(await t.api('PATCH', `/api/guilds/${guildId}`, { token: member.token, body: { name: '' } }), 403, 'forbidden');
  });

  it('returns 400 bad_request naming the invalid fields', async () => {
    const { owner, guildId } = await seedWithAdmin();
    expectBadRequest(await t.api('PATCH', `/api/guilds/${guildId}`, { token: owner.token, body: { name: '' } }), 'name');
    expectBadRequest(await t.api('PATCH', `/api/guilds/${guildId}`, { token: owner.token, body: { name: 'n'.repeat(101) } }), 'name');
    expectBadRequest(await t.api('PATCH', `/api/guilds/${guildId}`, { token: owner.token, body: { description: 'd'.repeat(1001) } }), 'description');
    expectBadRequest(await t.api('PATCH', `/api/guilds/${guildId}`, { token: owner.token, body: { description: null } }), 'description');
  });

  it('counts name and description in characters (code points): 100 and 1000 emoji fit, one more is 400', async () => {
    const { owner, guildId } = await seedWithAdmin();
    const patch = (body: unknown) => t.api('PATCH', `/api/guilds/${guildId}`, { token: owner.token, body });
    const name = EMOJI.repeat(100);
    const description = EMOJI.repeat(1000);
    const r = await patch({ name, description });
    expect(r.status).toBe(200);
    expect(r.body.guild).toMatchObject({ name, description });
    expectBadRequest(await patch({ name: name + EMOJI }), 'name');
    expectBadRequest(await patch({ description: description + EMOJI }), 'description');
    expect((await t.api('GET', `/api/guilds/${guildId}`, { token: owner.token })).body.guild).toMatchObject({ name, description });
  });
});

describe('GET /api/guilds/:guildId/members', () => {
  it('lists every member with its role to members and to the guild token', async () => {
    const { owner, admin, member, member2, guildId, guildToken } = await seedWithAdmin();
    for (const token of [member.token, guildToken]) {
      const r = await t.api('GET', `/api/guilds/${guildId}/members`, { token });
      expect(r.status).toBe(200);
      const byId = Object.fromEntries(r.body.members.map((m: { userId: string; role: string }) => [m.userId, m.role]));
      expect(byId).toEqual({ [owner.id]: 'owner', [admin.id]: 'admin', [member.id]: 'member', [member2.id]: 'member' });
      for (const m of r.body.members) expect(m.joinedAt).toMatch(ISO_MS);
    }
  });

  it('returns 404 to a non-member', async () => {
    const { guildId } = await seedWithAdmin();
    const outsider = await t.centerApi.user();
    expectError(await t.api('GET', `/api/guilds/${guildId}/members`, { token: outsider.token }), 404, 'not_found');
  });
});

describe('POST /api/guilds/:guildId/members', () => {
  it('adds users as members and returns the ids actually added', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const a = await t.centerApi.user();
    const b = await t.centerApi.user();
    const r = await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [a.id, b.id, a.id] } });
    expect(r.status).toBe(200);
    expect([...r.body.added].sort()).toEqual([a.id, b.id].sort());
    const members = (await t.api('GET', `/api/guilds/${guildId}/members`, { token: owner.token })).body.members;
    expect(members.find((m: { userId: string }) => m.userId === a.id)).toMatchObject({ role: 'member' });
    expect((await t.api('GET', `/api/guilds/${guildId}`, { token: a.token })).status).toBe(200);
  });

  it('adds admins with role "admin", and admins may administer the guild', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const a = await t.centerApi.user();
    await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [a.id], role: 'admin' } });
    const members = (await t.api('GET', `/api/guilds/${guildId}/members`, { token: owner.token })).body.members;
    expect(members.find((m: { userId: string }) => m.userId === a.id)).toMatchObject({ role: 'admin' });
    expect((await t.api('PATCH', `/api/guilds/${guildId}`, { token: a.token, body: { name: 'Admin was here' } })).status).toBe(200);
  });

  it('leaves existing members as they are (not re-added, role unchanged)', async () => {
    const { owner, member, guildId } = await seedWithAdmin();
    const fresh = await t.centerApi.user();
    const r = await t.api('POST', `/api/guilds/${guildId}/members`, {
      token: owner.token,
      body: { userIds: [member.id, owner.id, fresh.id], role: 'admin' },
    });
    expect(r.status).toBe(200);
    expect(r.body.added).toEqual([fresh.id]);
    const roles = Object.fromEntries(
      (await t.api('GET', `/api/guilds/${guildId}/members`, { token: owner.token })).body.members.map((m: { userId: string; role: string }) => [m.userId, m.role]),
    );
    expect(roles[member.id]).toBe('member');
    expect(roles[owner.id]).toBe('owner');
    expect(roles[fresh.id]).toBe('admin');
  });

  it('lists a user as added in one response only when concurrent requests add it', async () => {
    for (let i = 0; i < 8; i++) {
      const { owner, guildId } = await seedGuild(t, 0);
      const u = await t.centerApi.user();
      const rs = await Promise.all([0, 1, 2].map(() => t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [u.id] } })));
      expect(rs.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(rs.flatMap((r) => r.body.added)).toEqual([u.id]);
    }
  });

  it('lets an admin and the guild token add members', async () => {
    const { admin, guildId, guildToken } = await seedWithAdmin();
    const a = await t.centerApi.user();
    const b = await t.centerApi.user();
    expect((await t.api('POST', `/api/guilds/${guildId}/members`, { token: admin.token, body: { userIds: [a.id] } })).body).toEqual({ added: [a.id] });
    expect((await t.api('POST', `/api/guilds/${guildId}/members`, { token: guildToken, body: { userIds: [b.id] } })).body).toEqual({ added: [b.id] });
  });

  it('returns 403 forbidden to a plain member', async () => {
    const { member, guildId } = await seedWithAdmin();
    const a = await t.centerApi.user();
    expectError(await t.api('POST', `/api/guilds/${guildId}/members`, { token: member.token, body: { userIds: [a.id] } }), 403, 'forbidden');
    expectError(await t.api('GET', `/api/guilds/${guildId}`, { token: a.token }), 404, 'not_found');
  });

  it('returns 404 to a non-member and to another guild’s token', async () => {
    const { guildId } = await seedWithAdmin();
    const outsider = await t.centerApi.user();
    const other = await seedGuild(t, 0);
    expectError(await t.api('POST', `/api/guilds/${guildId}/members`, { token: outsider.token, body: { userIds: [outsider.id] } }), 404, 'not_found');
    expectError(await t.api('POST', `/api/guilds/${guildId}/members`, { token: await t.centerApi.guildToken(other.guildId), body: { userIds: [outsider.id] } }), 404, 'not_found');
  });

  it('returns 400 invalid_reference for ids unknown to Center and adds nobody', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const known = await t.centerApi.user();
    const r = await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [known.id, 'u_nobody_knows_me'] } });
    expectError(r, 400, 'invalid_reference');
    expectError(await t.api('GET', `/api/guilds/${guildId}`, { token: known.token }), 404, 'not_found');
  });

  it('returns 400 bad_request naming the invalid fields', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const path = `/api/guilds/${guildId}/members`;
    expectBadRequest(await t.api('POST', path, { token: owner.token, body: {} }), 'userIds');
    expectBadRequest(await t.api('POST', path, { token: owner.token, body: { userIds: [] } }), 'userIds');
    expectBadRequest(await t.api('POST', path, { token: owner.token, body: { userIds: Array.from({ length: 101 }, (_, i) => `u${i}`) } }), 'userIds');
    expectBadRequest(await t.api('POST', path, { token: owner.token, body: { userIds: [''] } }), 'userIds.0');
    expectBadRequest(await t.api('POST', path, { token: owner.token, body: { userIds: ['x'.repeat(129)] } }), 'userIds.0');
    expectBadRequest(await t.api('POST', path, { token: owner.token, body: { userIds: ['u1'], role: 'owner' } }), 'role');
  });

  it('counts user ids in characters (code points): an id of 128 emoji reaches Center, 129 is 400 bad_request', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const add = (userIds: string[]) => t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds } });
    expectError(await add([EMOJI.repeat(128)]), 400, 'invalid_reference');
    expectBadRequest(await add([EMOJI.repeat(129)]), 'userIds.0');
  });

  it('returns 503 center_unavailable when Center is down and the ids are not cached', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    await t.api('GET', '/api/guilds', { token: owner.token }); // the owner's token is cached
    await t.centerApi.fail('down');
    try {
      expectError(await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: ['u_uncached'] } }), 503, 'center_unavailable');
    } finally {
      await t.centerApi.fail('none');
    }
  });
});

describe('DELETE /api/guilds/:guildId/members/:userId', () => {
  it('removes a member (204): the guild becomes 404 to it', async () => {
    const { owner, member, guildId } = await seedWithAdmin();
    const r = await t.api('DELETE', `/api/guilds/${guildId}/members/${member.id}`, { token: owner.token });
    expect(r.status).toBe(204);
    expectError(await t.api('GET', `/api/guilds/${guildId}`, { token: member.token }), 404, 'not_found');
    const members = (await t.api('GET', `/api/guilds/${guildId}/members`, { token: owner.token })).body.members;
    expect(members.map((m: { userId: string }) => m.userId)).not.toContain(member.id);
  });

  it('also removes it from every channel of the guild, with channel.left on each of its sockets', async () => {
    const { owner, member, member2, guildId } = await seedWithAdmin();
    const pub = await createChannel(t, owner.token, { guildId, name: 'pub', xType: 'general', isPublic: true, memberUserIds: [member.id, member2.id] });
    const priv = await createChannel(t, owner.token, { guildId, name: 'priv', xType: 'discuss', memberUserIds: [member.id] });
    const other = await seedGuild(t, 0);
    await t.api('POST', `/api/guilds/${other.guildId}/members`, { token: other.owner.token, body: { userIds: [member.id] } });
    const elsewhere = await createChannel(t, other.owner.token, { guildId: other.guildId, name: 'elsewhere', xType: 'general', memberUserIds: [member.id] });

    const s1 = await t.socket(member.token);
    const s2 = await t.socket(member.token);
    const left1 = recordEvents(s1, 'channel.left');
    const left2 = recordEvents(s2, 'channel.left');
    const done1 = nextEvent(s1, 'channel.left', 3000, (e) => e.channelId === priv.id || e.channelId === pub.id);
    const r = await t.api('DELETE', `/api/guilds/${guildId}/members/${member.id}`, { token: owner.token });
    expect(r.status).toBe(204);
    await done1;
    // A later event on the same sockets: everything emitted by the removal has arrived by then.
    const later1 = nextEvent(s1, 'channel.joined');
    const later2 = nextEvent(s2, 'channel.joined');
    await createChannel(t, other.owner.token, { guildId: other.guildId, name: 'later', xType: 'general', memberUserIds: [member.id] });
    await Promise.all([later1, later2]);

    for (const seen of [left1, left2]) {
      expect(seen.map((e) => e.channelId).sort()).toEqual([pub.id, priv.id].sort());
      for (const e of seen) {
        expect(e).toEqual({
          channelId: e.channelId,
          userId: member.id,
          xType: e.channelId === pub.id ? 'general' : 'discuss',
          occurredAt: expect.stringMatching(ISO_MS),
          pos: expect.any(Number),
        });
      }
    }
    const pubMembers = (await t.api('GET', `/api/channels/${pub.id}/members`, { token: owner.token })).body.members.map((m: { userId: string }) => m.userId);
    expect(pubMembers.sort()).toEqual([owner.id, member2.id].sort());
    const privMembers = (await t.api('GET', `/api/channels/${priv.id}/members`, { token: owner.token })).body.members.map((m: { userId: string }) => m.userId);
    expect(privMembers).toEqual([owner.id]);
    expect((await t.api('GET', `/api/channels/${pub.id}`, { token: owner.token })).body.channel.memberCount).toBe(2);
    // Channels of other guilds are untouched.
    const elsewhereMembers = (await t.api('GET', `/api/channels/${elsewhere.id}/members`, { token: member.token })).body.members.map((m: { userId: string }) => m.userId);
    expect(elsewhereMembers).toContain(member.id);
    expectError(await t.api('GET', `/api/channels/${pub.id}`, { token: member.token }), 404, 'not_found');
  });

  it('takes a removed member’s sockets out of the rooms of channels it was reading', async () => {
    const { owner, member, guildId } = await seedWithAdmin();
    const pub = await createChannel(t, owner.token, { guildId, name: 'pub', xType: 'general', isPublic: true });
    const mine = await createChannel(t, owner.token, { guildId, name: 'mine', xType: 'general', memberUserIds: [member.id] });
    const s = await t.socket(member.token);
    const ownerSocket = await t.socket(owner.token);
    expect(await emitAck(s, 'join_channel', { channelId: pub.id })).toEqual({ ok: true, pos: expect.any(Number) });
    expect(await emitAck(s, 'join_channel', { channelId: mine.id })).toEqual({ ok: true, pos: expect.any(Number) });
    expect(await emitAck(ownerSocket, 'join_channel', { channelId: pub.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const updates = recordEvents(s, 'channel.updated');

    expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${member.id}`, { token: owner.token })).status).toBe(204);
    const ownerSaw = nextEvent(ownerSocket, 'channel.updated');
    await t.api('PATCH', `/api/channels/${pub.id}`, { token: owner.token, body: { topic: 'after the removal' } });
    await t.api('PATCH', `/api/channels/${mine.id}`, { token: owner.token, body: { topic: 'after the removal' } });
    await ownerSaw;
    // A later event to the removed user's own room proves the channel.updated events would have arrived by now.
    const other = await seedGuild(t, 0);
    await t.api('POST', `/api/guilds/${other.guildId}/members`, { token: other.owner.token, body: { userIds: [member.id] } });
    const later = nextEvent(s, 'channel.joined');
    await createChannel(t, other.owner.token, { guildId: other.guildId, name: 'later', xType: 'general', memberUserIds: [member.id] });
    await later;
    expect(updates).toEqual([]);
  });

  it('lets an admin and the guild token remove members', async () => {
    const { admin, member, member2, guildId, guildToken } = await seedWithAdmin();
    expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${member.id}`, { token: admin.token })).status).toBe(204);
    expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${member2.id}`, { token: guildToken })).status).toBe(204);
    expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${admin.id}`, { token: guildToken })).status).toBe(204);
    const members = (await t.api('GET', `/api/guilds/${guildId}/members`, { token: guildToken })).body.members;
    expect(members.map((m: { role: string }) => m.role)).toEqual(['owner']);
  });

  it('lets a member leave by removing itself', async () => {
    const { owner, member, admin, guildId } = await seedWithAdmin();
    const ch = await createChannel(t, owner.token, { guildId, name: 'c', xType: 'general', memberUserIds: [member.id] });
    const s = await t.socket(member.token);
    const left = nextEvent(s, 'channel.left');
    expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${member.id}`, { token: member.token })).status).toBe(204);
    expect(await left).toMatchObject({ channelId: ch.id, userId: member.id });
    expectError(await t.api('GET', `/api/guilds/${guildId}`, { token: member.token }), 404, 'not_found');
    expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${admin.id}`, { token: admin.token })).status).toBe(204);
  });

  it('returns 409 conflict when removing the owner, whoever asks', async () => {
    const { owner, admin, guildId, guildToken } = await seedWithAdmin();
    for (const token of [owner.token, admin.token, guildToken]) {
      expectError(await t.api('DELETE', `/api/guilds/${guildId}/members/${owner.id}`, { token }), 409, 'conflict');
    }
    expect((await t.api('GET', `/api/guilds/${guildId}`, { token: owner.token })).status).toBe(200);
  });

  it('returns 403 forbidden to a plain member removing someone else', async () => {
    const { member, member2, admin, guildId } = await seedWithAdmin();
    expectError(await t.api('DELETE', `/api/guilds/${guildId}/members/${member2.id}`, { token: member.token }), 403, 'forbidden');
    expectError(await t.api('DELETE', `/api/guilds/${guildId}/members/${admin.id}`, { token: member.token }), 403, 'forbidden');
    expect((await t.api('GET', `/api/guilds/${guildId}`, { token: member2.token })).status).toBe(200);
  });

  it('returns 404 before 403 to a plain member removing, or changing, someone who is no member (api.md: 404, then 403)', async () => {
    const { member, guildId } = await seedWithAdmin();
    const stranger = await t.centerApi.user('stranger');
    expectError(await t.api('DELETE', `/api/guilds/${guildId}/members/${stranger.id}`, { token: member.token }), 404, 'not_found');
    expectError(await t.api('PATCH', `/api/guilds/${guildId}/members/${stranger.id}`, { token: member.token, body: { role: 'admin' } }), 404, 'not_found');
    expectError(await t.api('PATCH', `/api/guilds/${guildId}/members/${stranger.id}`, { token: member.token, body: { role: 42 } }), 404, 'not_found');
  });

  it('never leaves the removed user in a channel, whatever channel additions race it', async () => {
    // Adding to a channel, joining one, the wake mapping and a new channel's seed each either
    // see the user gone (400 invalid_reference / 404) or are seen by the removal and undone.
    for (let i = 0; i < 12; i++) {
      const { owner, members, guildId } = await seedGuild(t, 2);
      const [a, u] = members;
      const work = await createChannel(t, owner.token, { guildId, name: 'work', xType: 'work', turn: { order: [a.id] } });
      const open = await createChannel(t, owner.token, { guildId, name: 'open', xType: 'discuss', isPublic: true, memberUserIds: [a.id] });
      const triage = await createChannel(t, owner.token, { guildId, name: 'triage', xType: 'triage' });
      const [add, join, wake, create, removal] = await Promise.all([
        t.api('POST', `/api/channels/${work.id}/members`, { token: owner.token, body: { userIds: [u.id] } }),
        t.api('POST', `/api/channels/${open.id}/join`, { token: u.token, body: {} }),
        t.api('PUT', `/api/channels/${triage.id}/wake-mapping`, { token: owner.token, body: { userIds: [u.id] } }),
        t.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'new', xType: 'work', memberUserIds: [a.id, u.id] } }),
        sleep(i % 4).then(() => t.api('DELETE', `/api/guilds/${guildId}/members/${u.id}`, { token: owner.token })),
      ]);
      expect(removal.status).toBe(204);
      expect([200, 400]).toContain(add.status);
      expect([200, 404]).toContain(join.status);
      expect([200, 400]).toContain(wake.status);
      expect([201, 400]).toContain(create.status);
      const channelIds = [work.id, open.id, triage.id, ...(create.status === 201 ? [create.body.channel.id] : [])];
      for (const channelId of channelIds) {
        const members = (await t.api('GET', `/api/channels/${channelId}/members`, { token: owner.token })).body.members.map((m: { userId: string }) => m.userId);
        expect(members, `iteration ${i}`).not.toContain(u.id);
      }
      for (const channelId of [work.id, open.id, ...(create.status === 201 ? [create.body.channel.id] : [])]) {
        const turn = (await t.api('GET', `/api/channels/${channelId}/turn`, { token: owner.token })).body.turn;
        expect([...turn.order, ...turn.bypass], `iteration ${i}`).not.toContain(u.id);
      }
    }
  });

  it('returns 404 to a non-member, and for a user who is not a member', async () => {
    const { owner, member, guildId } = await seedWithAdmin();
    const outsider = await t.centerApi.user();
    expectError(await t.api('DELETE', `/api/guilds/${guildId}/members/${member.id}`, { token: outsider.token }), 404, 'not_found');
    expectError(await t.api('DELETE', `/api/guilds/${guildId}/members/${outsider.id}`, { token: outsider.token }), 404, 'not_found');
    expectError(await t.api('DELETE', `/api/guilds/${guildId}/members/${outsider.id}`, { token: owner.token }), 404, 'not_found');
  });
});
