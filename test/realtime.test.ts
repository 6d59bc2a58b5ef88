/**
 * Realtime (realtime.md): socket.io namespace /realtime on the all-in-one node, real
 * socket.io clients. "Did not arrive" is asserted after a later event that must arrive
 * after it on the same socket, or after a short settle wait where no such event exists.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSocket, createChannel, emitAck, nextEvent, recordEvents, seedGuild, sleep, startTestNode, type TestNode } from './helpers/harness.js';
import { rawRequest } from './helpers/raw-http.js';
import { laterJoin, seedWorld } from './helpers/world.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

/** Sockets that a test closes itself (presence); t.socket() ones are closed with the node. */
async function ownSocket(token: string): Promise<Socket> {
  return connectSocket(t.url, token);
}

/**
 * PATCHes the channel's topic and resolves once `witness` (a socket known to be in the room)
 * got the channel.updated; returns the channel as PATCHed.
 */
async function patchAndWitness(channelId: string, token: string, witness: Socket, topic = `t-${Math.random()}`) {
  const seen = nextEvent(witness, 'channel.updated', 3000, (e) => e.channel.id === channelId && e.channel.topic === topic);
  const r = await t.api('PATCH', `/api/channels/${channelId}`, { token, body: { topic } });
  expect(r.status).toBe(200);
  await seen;
  return r.body.channel;
}

describe('connecting to /realtime', () => {
  it('is refused without a token with connect_error "unauthorized"', async () => {
    await expect(connectSocket(t.url, undefined)).rejects.toThrow(/^unauthorized$/);
  });

  it('is refused with an unknown or revoked token with connect_error "unauthorized"', async () => {
    await expect(connectSocket(t.url, 'garbage-token')).rejects.toThrow(/^unauthorized$/);
    const user = await t.centerApi.user();
    await t.centerApi.revoke(user.token);
    await expect(connectSocket(t.url, user.token)).rejects.toThrow(/^unauthorized$/);
  });

  it('accepts the token as auth.token', async () => {
    const user = await t.centerApi.user();
    const s = await t.socket(user.token);
    expect(s.connected).toBe(true);
  });

  it('accepts the token as the access_token query parameter', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const s = await connectSocket(t.url, undefined, { query: { access_token: owner.token } });
    try {
      expect(s.connected).toBe(true);
      // It is that user: its user room gets its channel.joined.
      const joined = nextEvent(s, 'channel.joined');
      const ch = await createChannel(t, owner.token, { guildId, name: 'q', xType: 'general' });
      expect(await joined).toMatchObject({ channelId: ch.id, userId: owner.id });
    } finally {
      s.close();
    }
  });
});

describe('browser origins with FABRIC_BACKEND_GUILD_CORS_ORIGINS set', () => {
  let restricted: TestNode;
  beforeAll(async () => {
    restricted = await startTestNode({ env: { FABRIC_BACKEND_GUILD_CORS_ORIGINS: 'https://allowed.example' } });
  });
  afterAll(async () => restricted?.close());

  it('refuses a websocket handshake from an origin that is not listed', async () => {
    const user = await restricted.centerApi.user();
    await expect(connectSocket(restricted.url, user.token, { headers: { origin: 'https://evil.example' } })).rejects.toThrow();
  });

  it('answers a handshake from an origin that is not listed with 403 forbidden as the error JSON, polling or websocket', async () => {
    const polling = await fetch(`${restricted.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example', 'x-request-id': 'trace-origin' } });
    expect(polling.status).toBe(403);
    expect(await polling.json()).toEqual({ error: { code: 'forbidden', message: expect.any(String), requestId: 'trace-origin' } });
    const upgrade = await rawRequest(
      Number(new URL(restricted.url).port),
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    expect(upgrade.status).toBe(403);
    expect(upgrade.json).toEqual({ error: { code: 'forbidden', message: expect.any(String), requestId: expect.any(String) } });
  });

  it('accepts a listed origin, the null origin and clients that send no origin', async () => {
    const user = await restricted.centerApi.user();
    for (const headers of [{ origin: 'https://allowed.example' }, { origin: 'null' }, undefined]) {
      const s = await connectSocket(restricted.url, user.token, { headers });
      expect(s.connected).toBe(true);
      s.close();
    }
  });
});

describe('channel.joined and channel.left', () => {
  it('reach every socket of the user, and nobody else', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'work' });
    const mine = [await t.socket(w.m2.token), await t.socket(w.m2.token), await t.socket(w.m2.token)];
    const other = await t.socket(w.m3.token);
    const otherJoined = recordEvents(other, 'channel.joined');
    const otherLeft = recordEvents(other, 'channel.left');

    const joined = mine.map((s) => nextEvent(s, 'channel.joined'));
    await t.api('POST', `/api/channels/${ch.id}/members`, { token: w.m1.token, body: { userIds: [w.m2.id] } });
    for (const e of await Promise.all(joined)) expect(e).toEqual({ channelId: ch.id, userId: w.m2.id, xType: 'work', occurredAt: expect.any(String), pos: expect.any(Number) });

    const left = mine.map((s) => nextEvent(s, 'channel.left'));
    await t.api('DELETE', `/api/channels/${ch.id}/members/${w.m2.id}`, { token: w.m1.token });
    for (const e of await Promise.all(left)) expect(e).toEqual({ channelId: ch.id, userId: w.m2.id, xType: 'work', occurredAt: expect.any(String), pos: expect.any(Number) });

    await laterJoin(t, w, w.m3, [other]);
    expect(otherJoined.filter((e) => e.channelId === ch.id)).toEqual([]);
    expect(otherLeft).toEqual([]);
  });
});

describe('join_channel', () => {
  it('subscribes a channel member to the channel room', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'general', memberUserIds: [w.m2.id] });
    const s = await t.socket(w.m2.token);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    await patchAndWitness(ch.id, w.m1.token, s);
  });

  it('is refused with not_found for a private channel the user cannot read, and the socket gets none of its events', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'secret', xType: 'general', memberUserIds: [w.m2.id] });
    const s3 = await t.socket(w.m3.token);
    const sOut = await t.socket(w.outsider.token);
    for (const s of [s3, sOut]) {
      const ack = await emitAck(s, 'join_channel', { channelId: ch.id });
      expect(ack).toEqual({ ok: false, error: { code: 'not_found', message: expect.any(String) } });
    }
    const updates3 = recordEvents(s3, 'channel.updated');
    const witness = await t.socket(w.m2.token);
    expect(await emitAck(witness, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    await patchAndWitness(ch.id, w.m1.token, witness);
    await laterJoin(t, w, w.m3, [s3]);
    expect(updates3).toEqual([]);
  });

  it('is refused with not_found for an unknown channel and for a public channel of another guild', async () => {
    const w = await seedWorld(t);
    const pub = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'open', xType: 'general', isPublic: true });
    const s = await t.socket(w.outsider.token);
    expect(await emitAck(s, 'join_channel', { channelId: 'no-such-channel' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await emitAck(s, 'join_channel', { channelId: pub.id })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('lets a guild member subscribe to a public channel it is not in (read-only)', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'open', xType: 'general', isPublic: true });
    const s = await t.socket(w.m3.token);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    await patchAndWitness(ch.id, w.m1.token, s);
    // Reading does not make it a member.
    const members = (await t.api('GET', `/api/channels/${ch.id}/members`, { token: w.m1.token })).body.members;
    expect(members.map((m: { userId: string }) => m.userId)).toEqual([w.m1.id]);
  });

  it('lets guild owner, admin and the guild token subscribe to a private channel they are not in', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'secret', xType: 'general' });
    for (const token of [w.owner.token, w.admin.token, w.guildToken]) {
      const s = await t.socket(token);
      expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
      await patchAndWitness(ch.id, w.m1.token, s);
    }
  });

  it('unsubscribes a reader of a channel that turns private', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'open', xType: 'general', isPublic: true, memberUserIds: [w.m2.id] });
    const reader = await t.socket(w.m3.token);
    const admin = await t.socket(w.admin.token);
    const member = await t.socket(w.m2.token);
    for (const s of [reader, admin, member]) expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const readerUpdates = recordEvents(reader, 'channel.updated');
    const closing = nextEvent(reader, 'channel.updated');
    await t.api('PATCH', `/api/channels/${ch.id}`, { token: w.m1.token, body: { isPublic: false } });
    expect((await closing).channel.isPublic).toBe(false);
    await patchAndWitness(ch.id, w.m1.token, member);
    await patchAndWitness(ch.id, w.m1.token, admin);
    await laterJoin(t, w, w.m3, [reader]);
    expect(readerUpdates.map((e) => e.channel.isPublic)).toEqual([false]);
    expect(await emitAck(reader, 'join_channel', { channelId: ch.id })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});

describe('leave_channel', () => {
  it('unsubscribes the socket and acks {ok: true}', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'general', memberUserIds: [w.m2.id] });
    const s = await t.socket(w.m2.token);
    const witness = await t.socket(w.m1.token);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    expect(await emitAck(witness, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    expect(await emitAck(s, 'leave_channel', { channelId: ch.id })).toEqual({ ok: true });
    const updates = recordEvents(s, 'channel.updated');
    await patchAndWitness(ch.id, w.m1.token, witness);
    await laterJoin(t, w, w.m2, [s]);
    expect(updates).toEqual([]);
    // Still a member: leaving the room is not leaving the channel.
    expect((await t.api('GET', `/api/channels/${ch.id}`, { token: w.m2.token })).body.channel.memberCount).toBe(2);
  });

  it('sent right after a join_channel still on its way, wins: the socket gets nothing after the leave; a later join subscribes again', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'general', memberUserIds: [w.m2.id] });
    const s = await t.socket(w.m2.token);
    const witness = await t.socket(w.m1.token);
    expect(await emitAck(witness, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const updates = recordEvents(s, 'channel.updated');
    const [joined, left] = await Promise.all([emitAck(s, 'join_channel', { channelId: ch.id }), emitAck(s, 'leave_channel', { channelId: ch.id })]);
    expect(joined).toEqual({ ok: true, pos: expect.any(Number) });
    expect(left).toEqual({ ok: true });
    await patchAndWitness(ch.id, w.m1.token, witness);
    await laterJoin(t, w, w.m2, [s]);
    expect(updates).toEqual([]);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    await patchAndWitness(ch.id, w.m1.token, witness);
    await laterJoin(t, w, w.m2, [s]);
    expect(updates).toHaveLength(1);
  });
});

describe('removed members', () => {
  it('a member removed from a channel stops receiving its events on every socket', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'general', memberUserIds: [w.m2.id] });
    const a = await t.socket(w.m2.token);
    const b = await t.socket(w.m2.token);
    const witness = await t.socket(w.m1.token);
    for (const s of [a, b, witness]) expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const updates = [recordEvents(a, 'channel.updated'), recordEvents(b, 'channel.updated')];
    const left = [nextEvent(a, 'channel.left'), nextEvent(b, 'channel.left')];
    expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${w.m2.id}`, { token: w.m1.token })).status).toBe(204);
    await Promise.all(left);
    await patchAndWitness(ch.id, w.m1.token, witness);
    await laterJoin(t, w, w.m2, [a, b]);
    expect(updates).toEqual([[], []]);
  });

  it('a member who leaves a channel stops receiving its events', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'discuss', memberUserIds: [w.m2.id] });
    const s = await t.socket(w.m2.token);
    const witness = await t.socket(w.m1.token);
    for (const x of [s, witness]) expect(await emitAck(x, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const updates = recordEvents(s, 'channel.updated');
    const left = nextEvent(s, 'channel.left');
    expect((await t.api('POST', `/api/channels/${ch.id}/leave`, { token: w.m2.token })).body).toEqual({ left: true });
    await left;
    await patchAndWitness(ch.id, w.m1.token, witness);
    await laterJoin(t, w, w.m2, [s]);
    expect(updates).toEqual([]);
  });
});

describe('typing', () => {
  it('is relayed to the other members in the room, never to any socket of the sender, at most once per 2 s', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'general', memberUserIds: [w.m2.id, w.m3.id] });
    const sender = [await t.socket(w.m1.token), await t.socket(w.m1.token)];
    const receiver = await t.socket(w.m2.token);
    const third = await t.socket(w.m3.token);
    for (const s of [...sender, receiver, third]) expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const senderSaw = sender.map((s) => recordEvents(s, 'typing'));
    const receiverSaw = recordEvents(receiver, 'typing');

    const first = nextEvent(receiver, 'typing');
    sender[0].emit('typing', { channelId: ch.id });
    sender[1].emit('typing', { channelId: ch.id });
    sender[0].emit('typing', { channelId: ch.id });
    expect(await first).toEqual({ channelId: ch.id, userId: w.m1.id });

    // Another user in the same window is relayed: the throttle is per user and channel.
    const fromThird = nextEvent(receiver, 'typing', 3000, (e) => e.userId === w.m3.id);
    third.emit('typing', { channelId: ch.id });
    await fromThird;
    await sleep(300); // settle: a second relay of the sender's typing would be here by now
    await patchAndWitness(ch.id, w.m1.token, sender[0]);
    await patchAndWitness(ch.id, w.m1.token, sender[1]);

    expect(receiverSaw).toEqual([
      { channelId: ch.id, userId: w.m1.id },
      { channelId: ch.id, userId: w.m3.id },
    ]);
    expect(senderSaw[0].filter((e) => e.userId === w.m1.id)).toEqual([]);
    expect(senderSaw[1].filter((e) => e.userId === w.m1.id)).toEqual([]);
  });

  it('is not relayed for a reader who is not a member', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'open', xType: 'general', isPublic: true, memberUserIds: [w.m2.id] });
    const reader = await t.socket(w.m3.token);
    const receiver = await t.socket(w.m2.token);
    for (const s of [reader, receiver]) expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const saw = recordEvents(receiver, 'typing');
    reader.emit('typing', { channelId: ch.id });
    await sleep(300); // settle
    const member = await t.socket(w.m1.token);
    expect(await emitAck(member, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const fromMember = nextEvent(receiver, 'typing');
    member.emit('typing', { channelId: ch.id });
    await fromMember;
    expect(saw).toEqual([{ channelId: ch.id, userId: w.m1.id }]);
  });
});

describe('presence', () => {
  it('announces online on the first connect and offline after the last disconnect, to the user’s guilds only', async () => {
    const w = await seedWorld(t);
    const observer = await t.socket(w.m1.token);
    const elsewhere = await seedGuild(t, 1);
    const stranger = await t.socket(elsewhere.members[0].token);
    const observed = recordEvents(observer, 'presence');
    const strangerSaw = recordEvents(stranger, 'presence');

    const online = nextEvent(observer, 'presence', 3000, (e) => e.userId === w.m2.id);
    const first = await ownSocket(w.m2.token);
    expect(await online).toEqual({ userId: w.m2.id, status: 'online' });
    const second = await ownSocket(w.m2.token);
    await sleep(200); // settle: a second "online" would be here by now
    second.close();
    await sleep(200); // settle: the second socket's disconnect is handled before the last one
    const offline = nextEvent(observer, 'presence', 3000, (e) => e.userId === w.m2.id && e.status === 'offline');
    first.close();
    expect(await offline).toEqual({ userId: w.m2.id, status: 'offline' });

    expect(observed.filter((e) => e.userId === w.m2.id)).toEqual([
      { userId: w.m2.id, status: 'online' },
      { userId: w.m2.id, status: 'offline' },
    ]);
    // A later presence in the stranger's own guild: w.m2's would have arrived before it.
    const later = nextEvent(stranger, 'presence', 3000, (e) => e.userId === elsewhere.owner.id);
    const ownerSocket = await ownSocket(elsewhere.owner.token);
    await later;
    ownerSocket.close();
    expect(strangerSaw.filter((e) => e.userId === w.m2.id)).toEqual([]);
  });

  it('reaches a user added to the guild after it connected, and no longer reaches it once removed', async () => {
    const w = await seedWorld(t);
    const newcomer = await t.centerApi.user('newcomer');
    const s = await t.socket(newcomer.token);
    const seen = recordEvents(s, 'presence');
    const added = await t.api('POST', `/api/guilds/${w.guildId}/members`, { token: w.owner.token, body: { userIds: [newcomer.id] } });
    expect(added.body).toEqual({ added: [newcomer.id] });
    const online = nextEvent(s, 'presence', 3000, (e) => e.userId === w.m2.id && e.status === 'online');
    const m2 = await ownSocket(w.m2.token);
    expect(await online).toEqual({ userId: w.m2.id, status: 'online' });

    const removed = await t.api('DELETE', `/api/guilds/${w.guildId}/members/${newcomer.id}`, { token: w.owner.token });
    expect(removed.status).toBe(204);
    // Barrier: a guild the newcomer is still in; its presence arrives after anything sent before it.
    const other = await seedGuild(t, 0);
    await t.api('POST', `/api/guilds/${other.guildId}/members`, { token: other.owner.token, body: { userIds: [newcomer.id] } });
    const barrier = nextEvent(s, 'presence', 3000, (e) => e.userId === other.owner.id);
    // A member who stays sees m2's offline: once it has, the guild-room emit is done.
    const stays = await t.socket(w.m1.token);
    const offlineSent = nextEvent(stays, 'presence', 3000, (e) => e.userId === w.m2.id && e.status === 'offline');
    m2.close();
    await offlineSent;
    const ownerSocket = await ownSocket(other.owner.token);
    await barrier;
    ownerSocket.close();
    expect(seen.filter((e) => e.userId === w.m2.id)).toEqual([{ userId: w.m2.id, status: 'online' }]);
  });

  it('announces offline even when the socket disconnects right after connecting', async () => {
    const w = await seedWorld(t);
    const observer = await t.socket(w.m1.token);
    const offline = nextEvent(observer, 'presence', 3000, (e) => e.userId === w.m3.id && e.status === 'offline');
    const s = await ownSocket(w.m3.token);
    s.close();
    expect(await offline).toEqual({ userId: w.m3.id, status: 'offline' });
  });
});

describe('malformed payloads', () => {
  const BAD = { ok: false, error: { code: 'bad_request', message: expect.any(String) } };

  it('are answered with a bad_request ack, and the server keeps serving', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'general' });
    const s = await t.socket(w.m1.token);
    for (const payload of [null, 'a string', 42, [], {}, { channelId: 42 }, { channelId: '' }, { channel: ch.id }]) {
      expect(await emitAck(s, 'join_channel', payload)).toEqual(BAD);
      expect(await emitAck(s, 'leave_channel', payload)).toEqual(BAD);
    }
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    expect(s.connected).toBe(true);
  });

  it('answer an event sent with an ack but no payload', async () => {
    const w = await seedWorld(t);
    const s = await t.socket(w.m1.token);
    const ack = await new Promise((resolve) => s.emit('join_channel', (a: unknown) => resolve(a)));
    expect(ack).toEqual(BAD);
    const ack2 = await new Promise((resolve) => s.emit('leave_channel', (a: unknown) => resolve(a)));
    expect(ack2).toEqual(BAD);
  });

  it('without an ack function, or on typing and unknown events, do not break the connection', async () => {
    const w = await seedWorld(t);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'c', xType: 'general' });
    const s = await t.socket(w.m1.token);
    s.emit('join_channel', null);
    s.emit('join_channel', 'x');
    s.emit('join_channel');
    s.emit('leave_channel', { nope: true });
    s.emit('typing', null);
    s.emit('typing', 'x');
    s.emit('typing');
    s.emit('typing', { channelId: { $gt: '' } });
    s.emit('no_such_event', { channelId: ch.id }, () => undefined);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    // Other clients are served too.
    const other = await t.socket(w.m1.token);
    expect(await emitAck(other, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    expect(s.connected).toBe(true);
    expect((await t.api('GET', '/api/health')).status).toBe(200);
  });
});
