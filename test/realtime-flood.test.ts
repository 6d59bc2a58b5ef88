/**
 * The per-socket flood limit (agent-rooms.md "Flood control"): over
 * FABRIC_BACKEND_GUILD_SOCKET_EVENTS_PER_10S client events in 10 s, acks answer
 * `rate_limited` and typing is dropped; over twice it, `session.ended {code: "rate_limited"}`
 * and a disconnect. Real socket.io clients against the real server, both databases.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, emitAck, nextEvent, recordEvents, sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.js';
import { seedWorld, type World } from './helpers/world.js';

/** Resolves with what the server said before it closed the socket, in order. */
function endOfSession(socket: Socket): Promise<{ ended: unknown; reason: string; order: string[] }> {
  const order: string[] = [];
  let ended: unknown;
  socket.on('session.ended', (e) => {
    ended = e;
    order.push('session.ended');
  });
  return new Promise((resolve) =>
    socket.on('disconnect', (reason) => {
      order.push('disconnect');
      resolve({ ended, reason, order });
    }),
  );
}

describe('socket events over the default limit (1000 per 10 s)', () => {
  let t: TestNode;
  let w: World;
  beforeAll(async () => {
    t = await startTestNode();
    w = await seedWorld(t);
  });
  afterAll(async () => t?.close());

  it('acks 1000 of 5,000 events in one burst, refuses the next 1000 with rate_limited, then ends the session', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'flood', xType: 'general' });
    const socket = await t.socket(w.m1.token);
    const end = endOfSession(socket);
    const acks: { ok: boolean; error?: { code: string } }[] = [];
    for (let i = 0; i < 5000; i++) socket.emit('leave_channel', { channelId: ch.id }, (a: (typeof acks)[number]) => acks.push(a));
    const { ended, reason, order } = await end;
    expect(ended).toEqual({ code: 'rate_limited', message: expect.any(String) });
    expect(order).toEqual(['session.ended', 'disconnect']);
    expect(reason).toBe('io server disconnect');
    await sleep(200);
    // (Refusals are answered at once, accepted events once handled: their acks interleave.)
    expect(acks.filter((a) => a.ok === true)).toHaveLength(1000);
    expect(acks.filter((a) => a.ok === false && a.error?.code === 'rate_limited')).toHaveLength(1000);
    expect(acks).toHaveLength(2000);
  });

  it('limits each socket on its own: another socket of the same user keeps working', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'flood-2', xType: 'general' });
    const flooding = await t.socket(w.m1.token);
    const calm = await t.socket(w.m1.token);
    const end = endOfSession(flooding);
    for (let i = 0; i < 2500; i++) flooding.emit('leave_channel', { channelId: ch.id }, () => undefined);
    await end;
    expect(calm.connected).toBe(true);
    expect(await emitAck(calm, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
  });
});

describe('socket events over a small limit (20 per 10 s)', () => {
  let t: TestNode;
  let w: World;
  beforeAll(async () => {
    t = await startTestNode({ env: { FABRIC_BACKEND_GUILD_SOCKET_EVENTS_PER_10S: '20' } });
    w = await seedWorld(t);
  });
  afterAll(async () => t?.close());

  it('refuses join_channel with rate_limited (the socket stays out of the room) and drops typing', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'small', xType: 'general', memberUserIds: [w.m2.id] });
    const typist = await t.socket(w.m1.token);
    const watcher = await t.socket(w.m2.token);
    expect(await emitAck(watcher, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const typing = recordEvents(watcher, 'typing');
    for (let i = 0; i < 20; i++) expect(await emitAck(typist, 'leave_channel', { channelId: ch.id })).toEqual({ ok: true });
    const refused = await emitAck(typist, 'join_channel', { channelId: ch.id });
    expect(refused).toEqual({ ok: false, error: { code: 'rate_limited', message: expect.any(String) } });
    typist.emit('typing', { channelId: ch.id });
    // The typist is not in the room: a message posted now does not reach it.
    const seen = recordEvents(typist, 'message.created');
    const delivered = nextEvent(watcher, 'message.created');
    expect((await t.api('POST', `/api/channels/${ch.id}/messages`, { token: w.m2.token, body: { content: 'hi' } })).status).toBe(201);
    await delivered;
    await sleep(300);
    expect(seen).toEqual([]);
    expect(typing).toEqual([]);
    expect(typist.connected).toBe(true);
  });

  it('serves the socket again once the window has passed', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'later', xType: 'general' });
    const socket = await t.socket(w.m1.token);
    for (let i = 0; i < 25; i++) await emitAck(socket, 'leave_channel', { channelId: ch.id });
    expect((await emitAck(socket, 'join_channel', { channelId: ch.id })).ok).toBe(false);
    await waitFor('the window to pass', async () => ((await emitAck(socket, 'join_channel', { channelId: ch.id })).ok ? true : undefined), 15_000, 1000);
    expect(socket.connected).toBe(true);
  }, 20_000);
});
