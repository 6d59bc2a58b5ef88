/**
 * The speaker timeout (agent-rooms.md "Speaker timeout"), with the real timer job of the
 * running processes: it fires and `turn.updated {reason: timeout}` reaches the channel with
 * the new speaker woken for `timeout`; it does not fire after an answer; it fires once with
 * several processes on one database; a deadline that passed while the node was down fires
 * after the restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { startAllInOne, startApiProcess, startRealtimeProcess, type RunningProcess } from '../scripts/processes.js';
import {
  apiClient,
  centerClient,
  connectSocket,
  createTestDatabase,
  emitAck,
  nextEvent,
  nodeEnv,
  recordEvents,
  sleep,
  startCenter,
  startTestNode,
  waitFor,
  type TestNode,
} from './helpers/harness.js';
import { ISO_MS } from './helpers/expect-error.js';
import { post } from './helpers/messages.js';
import { seedTurnRoom, type TurnRoom } from './helpers/turn-room.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

async function setTimeoutSeconds(room: TurnRoom, seconds: number | null) {
  const r = await t.api('PATCH', `/api/channels/${room.channelId}`, { token: room.users.H.token, body: { turnTimeoutSeconds: seconds } });
  expect(r.status).toBe(200);
}
const getTurn = async (api: TestNode['api'], channelId: string, token: string) => (await api('GET', `/api/channels/${channelId}/turn`, { token })).body.turn;

describe('speaker timeout', () => {
  it('arms a deadline when a speaker takes the turn, fires after it: turn.updated {reason: timeout}, the next speaker woken for timeout', async () => {
    const room = await seedTurnRoom(t);
    await setTimeoutSeconds(room, 1);
    const timeouts = (['H', 'A', 'B', 'C'] as const).map((n) => nextEvent<any>(room.sockets[n], 'turn.updated', 15_000, (e) => e.reason === 'timeout'));
    await post(t, room.users.H.token, room.channelId, 'topic');
    const armed = await getTurn(t.api, room.channelId, room.users.H.token);
    expect(room.nameOf(armed.speakerId)).toBe('A');
    expect(armed.speakerSince).toMatch(ISO_MS);
    expect(Date.parse(armed.deadline) - Date.parse(armed.speakerSince)).toBe(1000);
    const seen = await Promise.all(timeouts);
    expect(room.nameOf(seen[0].speakerId)).toBe('B');
    expect(room.names(seen[0].spoken)).toEqual(['A']);
    expect(seen.map((e) => e.wakeReason)).toEqual([null, null, 'timeout', null]);
    expect(seen.map((e) => e.wakeup)).toEqual([false, false, true, false]);
  });

  it('does not fire after the speaker answered: a mentioned member answers, the frame closes, the deadline is gone', async () => {
    const room = await seedTurnRoom(t);
    await setTimeoutSeconds(room, 1);
    const events = recordEvents<any>(room.sockets.H, 'turn.updated');
    await post(t, room.users.H.token, room.channelId, `<@${room.users.B.id}> status?`);
    expect((await getTurn(t.api, room.channelId, room.users.H.token)).deadline).toMatch(ISO_MS);
    await post(t, room.users.B.token, room.channelId, 'all fine');
    const after = await getTurn(t.api, room.channelId, room.users.H.token);
    expect(after).toMatchObject({ status: 'idle', speakerId: null, speakerSince: null, deadline: null, frames: [] });
    await sleep(2500); // past the old deadline, with the timer ticking every second
    expect(events.filter((e) => e.reason === 'timeout')).toEqual([]);
    expect(await getTurn(t.api, room.channelId, room.users.H.token)).toEqual(after);
  });

  it('an answer re-arms the clock for the next speaker; turning the timeout off clears the deadline', async () => {
    const room = await seedTurnRoom(t);
    await setTimeoutSeconds(room, 60);
    await post(t, room.users.H.token, room.channelId, 'topic');
    const first = await getTurn(t.api, room.channelId, room.users.H.token);
    await sleep(20);
    await post(t, room.users.A.token, room.channelId, 'answer');
    const second = await getTurn(t.api, room.channelId, room.users.H.token);
    expect(room.nameOf(second.speakerId)).toBe('B');
    expect(Date.parse(second.speakerSince)).toBeGreaterThan(Date.parse(first.speakerSince));
    expect(Date.parse(second.deadline) - Date.parse(second.speakerSince)).toBe(60_000);
    await setTimeoutSeconds(room, null);
    expect(await getTurn(t.api, room.channelId, room.users.H.token)).toMatchObject({ deadline: null, speakerId: second.speakerId });
  });
});

describe('speaker timeout across processes', () => {
  const extra: RunningProcess[] = [];
  afterAll(async () => {
    for (const p of extra) await p.close();
  });

  it('fires once with two more API processes (timers on) sharing the database', async () => {
    for (let i = 0; i < 2; i++) extra.push(await startApiProcess({ ...t.node.ctx.config, port: 0, realtimeInternalUrl: 'none' }, { heartbeat: false }));
    const room = await seedTurnRoom(t);
    await setTimeoutSeconds(room, 2);
    await post(t, room.users.H.token, room.channelId, 'topic');
    // The first moment A is no longer the speaker, exactly A was skipped: a second firing of
    // the same deadline would have skipped B too.
    const moved = await waitFor(
      'the first timeout',
      async () => {
        const turn = await getTurn(apiClient(extra[0].url), room.channelId, room.users.H.token);
        return room.nameOf(turn.speakerId) !== 'A' ? turn : undefined;
      },
      20_000,
      50,
    );
    expect({ speaker: room.nameOf(moved.speakerId), spoken: room.names(moved.spoken), round: moved.round }).toEqual({ speaker: 'B', spoken: ['A'], round: 1 });
  });

  it('in split mode a realtime process alone runs the timer and tells its sockets', async () => {
    const center = await startCenter();
    const db = await createTestDatabase();
    const config = loadConfig(nodeEnv(center, db, { FABRIC_BACKEND_GUILD_INTERNAL_SECRET: 'timer-secret' }));
    const realtime = await startRealtimeProcess({ ...config, realtimePort: 0, realtimeInternalPort: 0 });
    const apiProcess = await startApiProcess(
      { ...config, port: 0, realtimeInternalUrl: `http://127.0.0.1:${realtime.internalPort}` },
      { heartbeat: false, jobs: false }, // no timer in the API process
    );
    const centerApi = centerClient(center);
    let socket: Awaited<ReturnType<typeof connectSocket>> | undefined;
    try {
      const api = apiClient(apiProcess.url);
      const [h, a, b] = [await centerApi.user('h'), await centerApi.user('a'), await centerApi.user('b')];
      const guild = await api('POST', '/api/guilds', { token: h.token, body: { name: 'g' } });
      await api('POST', `/api/guilds/${guild.body.guild.id}/members`, { token: h.token, body: { userIds: [a.id, b.id] } });
      const ch = await api('POST', '/api/channels', {
        token: h.token,
        body: { guildId: guild.body.guild.id, name: 'r', xType: 'discuss', turn: { order: [a.id, b.id], timeoutSeconds: 1 } },
      });
      const channelId = ch.body.channel.id;
      socket = await connectSocket(realtime.url, b.token);
      expect(await emitAck(socket, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
      const timedOut = nextEvent<any>(socket, 'turn.updated', 15_000, (e) => e.reason === 'timeout');
      expect((await api('POST', `/api/channels/${channelId}/messages`, { token: h.token, body: { content: 'topic' } })).status).toBe(201);
      expect(await timedOut).toMatchObject({ reason: 'timeout', speakerId: b.id, spoken: [a.id], wakeup: true, wakeReason: 'timeout' });
    } finally {
      socket?.close();
      await apiProcess.close();
      await realtime.close();
      await center.close();
      await db.drop();
    }
  });

  it('a deadline that passed while the node was down fires after the restart', async () => {
    const center = await startCenter();
    const db = await createTestDatabase();
    const config = loadConfig(nodeEnv(center, db));
    const centerApi = centerClient(center);
    let node = await startAllInOne(config, { heartbeat: false, jobs: false });
    try {
      const api = apiClient(node.url);
      const [h, a, b] = [await centerApi.user('h'), await centerApi.user('a'), await centerApi.user('b')];
      const guild = await api('POST', '/api/guilds', { token: h.token, body: { name: 'g' } });
      await api('POST', `/api/guilds/${guild.body.guild.id}/members`, { token: h.token, body: { userIds: [a.id, b.id] } });
      const ch = await api('POST', '/api/channels', {
        token: h.token,
        body: { guildId: guild.body.guild.id, name: 'r', xType: 'work', turn: { order: [a.id, b.id], timeoutSeconds: 1 } },
      });
      expect(ch.status).toBe(201);
      const channelId = ch.body.channel.id;
      expect((await api('POST', `/api/channels/${channelId}/messages`, { token: h.token, body: { content: 'topic' } })).status).toBe(201);
      const armed = await getTurn(api, channelId, h.token);
      expect(armed.speakerId).toBe(a.id);
      await node.close();
      await sleep(1500); // the deadline passes while nothing runs
      node = await startAllInOne({ ...config, port: 0 }, { heartbeat: false });
      const restarted = apiClient(node.url);
      const moved = await waitFor(
        'the timeout after restart',
        async () => {
          const turn = await getTurn(restarted, channelId, h.token);
          return turn.speakerId === b.id ? turn : undefined;
        },
        20_000,
      );
      expect(moved.spoken).toEqual([a.id]);
    } finally {
      await node.close();
      await center.close();
      await db.drop();
    }
  });
});
