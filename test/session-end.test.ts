/**
 * realtime.md "Client → server", last paragraph: an open socket is closed once its token is
 * no longer active, after `session.ended {code, message}`: `token_revoked` (seen on the
 * introspection cache's schedule; here FABRIC_BACKEND_GUILD_TOKEN_CACHE_SECONDS=1),
 * `token_expired` (at expiresAt); the same for a guild token's sockets. While Center is
 * unreachable, sockets stay. Real node, Center emulator over HTTP, real socket.io clients.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CENTER_KEY, createChannel, emitAck, nextEvent, recordEvents, seedGuild, sleep, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';

let t: TestNode;
let owner: TestUser;
let member: TestUser;
let guildId: string;
let channelId: string;
beforeAll(async () => {
  t = await startTestNode({ env: { FABRIC_BACKEND_GUILD_TOKEN_CACHE_SECONDS: '1' } });
  ({
    owner,
    members: [member],
    guildId,
  } = await seedGuild(t, 1));
  channelId = (await createChannel(t, owner.token, { guildId, name: 'private', xType: 'general', isPublic: false, memberUserIds: [member.id] })).id;
});
afterAll(async () => t?.close());
afterEach(async () => {
  await t.centerApi.fail('none');
});

async function tokenFor(userId: string, ttlSeconds?: number): Promise<string> {
  const res = await fetch(`${t.center.url}/api/dev/users/${encodeURIComponent(userId)}/tokens`, {
    method: 'POST',
    headers: { 'x-api-key': CENTER_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(ttlSeconds ? { ttlSeconds } : {}),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/** Resolves with the session.ended payload and the disconnect reason, in the order they came. */
function sessionEnd(socket: Socket, timeoutMs = 15_000) {
  const order: string[] = [];
  socket.on('session.ended', () => order.push('session.ended'));
  socket.on('disconnect', () => order.push('disconnect'));
  return Promise.all([nextEvent(socket, 'session.ended', timeoutMs), nextEvent(socket, 'disconnect', timeoutMs)]).then(([ended, reason]) => ({ ended, reason, order }));
}

describe('a socket whose token ends', () => {
  it('gets session.ended token_revoked and is closed once the token is revoked, and receives nothing more', async () => {
    const token = await tokenFor(member.id);
    const socket = await t.socket(token);
    expect(await emitAck(socket, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
    const messages = recordEvents(socket, 'message.created');
    const ending = sessionEnd(socket);
    await t.centerApi.revoke(token);
    const { ended, reason, order } = await ending;
    expect(ended).toEqual({ code: 'token_revoked', message: expect.any(String) });
    expect(reason).toBe('io server disconnect');
    expect(order).toEqual(['session.ended', 'disconnect']);
    expect((await t.api('POST', `/api/channels/${channelId}/messages`, { token: owner.token, body: { content: 'private' } })).status).toBe(201);
    await sleep(200);
    expect(messages).toEqual([]);
  });

  it('gets session.ended token_expired at the token expiresAt', async () => {
    const token = await tokenFor(member.id, 2);
    const socket = await t.socket(token);
    const { ended } = await sessionEnd(socket);
    expect(ended.code).toBe('token_expired');
  });

  it('closes a guild token socket when the guild token is revoked', async () => {
    const token = await t.centerApi.guildToken(guildId);
    const socket = await t.socket(token);
    const ending = sessionEnd(socket);
    await t.centerApi.revoke(token);
    expect((await ending).ended.code).toBe('token_revoked');
  });

  it('closes a guild token socket with removed once its guild is gone', async () => {
    const { guildId: doomed } = await seedGuild(t, 0);
    const socket = await t.socket(await t.centerApi.guildToken(doomed));
    const ending = sessionEnd(socket);
    // No endpoint deletes a guild yet: the row goes away as an operator's deletion would.
    const db = t.node.ctx.database.db;
    await db.deleteFrom('guild_members').where('guild_id', '=', doomed).execute();
    await db.deleteFrom('guilds').where('id', '=', doomed).execute();
    expect((await ending).ended.code).toBe('removed');
  });

  it('keeps sockets connected while Center is unreachable, and still ends them once Center says the token is gone', async () => {
    const token = await tokenFor(member.id);
    const socket = await t.socket(token);
    const ended = recordEvents(socket, 'session.ended');
    await t.centerApi.fail('down');
    await sleep(3000); // three cache periods without an answer
    expect(socket.connected).toBe(true);
    expect(ended).toEqual([]);
    const ending = sessionEnd(socket);
    await t.centerApi.fail('none');
    await t.centerApi.revoke(token);
    expect((await ending).ended.code).toBe('token_revoked');
  });

  it('leaves sockets with an active token connected', async () => {
    const socket = await t.socket(await tokenFor(owner.id));
    await sleep(2500);
    expect(socket.connected).toBe(true);
    expect(await emitAck(socket, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
  });
});
