/**
 * The turn endpoints (api.md "Turn engine"): permissions, validation and their effect on the
 * stored turn and on `turn.updated`, over real HTTP and real sockets. Message-driven traces
 * are in turns-traces.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, nextEvent, recordEvents, startTestNode, type TestNode } from './helpers/harness.js';
import { expectBadRequest, expectError, ISO_MS } from './helpers/expect-error.js';
import { observe, readable, seedTurnRoom, type TurnRoom } from './helpers/turn-room.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

const turnPath = (room: TurnRoom, suffix = '') => `/api/channels/${room.channelId}/turn${suffix}`;
const getTurn = async (room: TurnRoom) => {
  const r = await t.api('GET', turnPath(room), { token: room.guildToken });
  expect(r.status).toBe(200);
  return r.body.turn;
};

/** A general channel in the room's guild, for wrong_channel_type. */
const generalChannel = (room: TurnRoom) => createChannel(t, room.users.H.token, { guildId: room.guildId, name: 'general', xType: 'general', memberUserIds: [room.users.A.id] });

/**
 * Asserts that `action` emits no `turn.updated`: H's socket records events, then a change
 * (PUT turn by the guild token, which is nobody's turn) is made and awaited; only its event may have arrived.
 */
async function expectNoTurnEvent(room: TurnRoom, action: () => Promise<unknown>) {
  const seen = recordEvents(room.sockets.H, 'turn.updated');
  await action();
  const before = await getTurn(room);
  const barrier = nextEvent(room.sockets.H, 'turn.updated', 5000, (d: { reason: string }) => d.reason === 'order');
  const r = await t.api('PUT', turnPath(room), { token: room.guildToken, body: { order: [...before.order].reverse(), bypass: before.bypass } });
  expect(r.status).toBe(200);
  await barrier;
  expect(seen.map((e) => e.reason)).toEqual(['order']);
}

describe('GET /api/channels/:channelId/turn', () => {
  let room: TurnRoom;
  beforeAll(async () => {
    room = await seedTurnRoom(t);
  });

  it('returns the turn of a new channel: idle, round 0, order and bypass as created', async () => {
    const r = await t.api('GET', turnPath(room), { token: room.users.A.token });
    expect(r.status).toBe(200);
    expect(r.body.turn).toEqual({
      channelId: room.channelId,
      status: 'idle',
      round: 0,
      speakerId: null,
      order: [room.users.A.id, room.users.B.id, room.users.C.id],
      bypass: [room.users.H.id],
      spoken: [],
      passed: [],
      frames: [],
      speakerSince: null,
      deadline: null,
      updatedAt: expect.stringMatching(ISO_MS),
    });
  });

  it('is readable by guild owner/admin and the guild token without channel membership', async () => {
    for (const token of [room.owner.token, room.admin.token, room.guildToken]) {
      const r = await t.api('GET', turnPath(room), { token });
      expect(r.status).toBe(200);
      expect(r.body.turn.channelId).toBe(room.channelId);
    }
  });

  it('returns 404 for a private channel the caller cannot see, and for an unknown channel', async () => {
    expectError(await t.api('GET', turnPath(room), { token: room.outsider.token }), 404, 'not_found');
    const stranger = await t.centerApi.user('stranger');
    expectError(await t.api('GET', turnPath(room), { token: stranger.token }), 404, 'not_found');
    expectError(await t.api('GET', '/api/channels/no-such-channel/turn', { token: room.owner.token }), 404, 'not_found');
  });

  it('is readable by a guild member on a public channel it has not joined', async () => {
    const pub = await seedTurnRoom(t, { isPublic: true });
    const r = await t.api('GET', turnPath(pub), { token: pub.outsider.token });
    expect(r.status).toBe(200);
    expect(r.body.turn.status).toBe('idle');
  });

  it('returns 401 without a valid token', async () => {
    expectError(await t.api('GET', turnPath(room)), 401, 'unauthorized');
    expectError(await t.api('GET', turnPath(room), { token: 'nope' }), 401, 'unauthorized');
  });

  it('returns 400 wrong_channel_type on other channel types, after the 404 check', async () => {
    const general = await generalChannel(room);
    expectError(await t.api('GET', `/api/channels/${general.id}/turn`, { token: room.users.A.token }), 400, 'wrong_channel_type');
    expectError(await t.api('GET', `/api/channels/${general.id}/turn`, { token: room.outsider.token }), 404, 'not_found');
  });
});

describe('PUT /api/channels/:channelId/turn', () => {
  it('replaces both lists for the creator, guild owner, admin and guild token', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, C, H } = room.users;
    const cases: [string, string[], string[]][] = [
      [H.token, [C.id, B.id, A.id], [H.id]],
      [room.owner.token, [B.id, A.id], [H.id, C.id]],
      [room.admin.token, [A.id], [H.id, B.id, C.id]],
      [room.guildToken, [A.id, B.id, C.id], [H.id]],
    ];
    for (const [token, order, bypass] of cases) {
      const r = await t.api('PUT', turnPath(room), { token, body: { order, bypass } });
      expect(r.status).toBe(200);
      expect(r.body.turn).toMatchObject({ order, bypass, status: 'idle' });
      expect((await getTurn(room)).order).toEqual(order);
    }
  });

  it('emits turn.updated with reason order and wakes the new speaker', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, C, H } = room.users;
    // A response does not wait for its events: the ack's turn.updated is taken before the one observed.
    await observe(room, 'turn.updated', () => t.api('POST', turnPath(room, '/ack'), { token: room.guildToken })); // active, speaker A
    const { result, event, woken } = await observe(room, 'turn.updated', () =>
      t.api('PUT', turnPath(room), { token: room.guildToken, body: { order: [C.id, A.id, B.id], bypass: [H.id] } }),
    );
    expect(result.status).toBe(200);
    expect(event).toMatchObject({ reason: 'order', channelId: room.channelId, speakerId: C.id, order: [C.id, A.id, B.id] });
    expect(woken).toEqual(['C']);
  });

  it('does not wake the caller when it makes itself the speaker', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, C, H } = room.users;
    // A response does not wait for its events: the ack's turn.updated is taken before the one observed.
    await observe(room, 'turn.updated', () => t.api('POST', turnPath(room, '/ack'), { token: room.guildToken }));
    const { event, woken } = await observe(room, 'turn.updated', () => t.api('PUT', turnPath(room), { token: H.token, body: { order: [H.id, A.id, B.id, C.id], bypass: [] } }));
    expect(event).toMatchObject({ reason: 'order', speakerId: H.id });
    expect(woken).toEqual([]);
  });

  it('keeps only members of the new order in spoken and passed; an empty order makes the channel idle', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, C, H } = room.users;
    await t.api('POST', turnPath(room, '/ack'), { token: room.guildToken });
    await t.api('POST', turnPath(room, '/bypass'), { token: A.token, body: { userId: A.id } }); // A out: speaker B
    const r = await t.api('PUT', turnPath(room), { token: room.guildToken, body: { order: [], bypass: [H.id, A.id, B.id, C.id] } });
    expect(r.status).toBe(200);
    expect(readable(room, r.body.turn)).toMatchObject({ status: 'idle', speaker: null, order: [], spoken: [], passed: [] });
  });

  it('sends no turn.updated when nothing changed', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, C, H } = room.users;
    await expectNoTurnEvent(room, async () => {
      const r = await t.api('PUT', turnPath(room), { token: H.token, body: { order: [A.id, B.id, C.id], bypass: [H.id] } });
      expect(r.status).toBe(200);
    });
  });

  it('returns 400 bad_request for duplicates, overlapping lists and missing or malformed fields', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, H } = room.users;
    const put = (body: unknown) => t.api('PUT', turnPath(room), { token: H.token, body });
    expectBadRequest(await put({ order: [A.id, A.id], bypass: [H.id] }), 'order');
    expectBadRequest(await put({ order: [A.id], bypass: [H.id, H.id] }), 'bypass');
    expectBadRequest(await put({ order: [A.id, B.id], bypass: [H.id, B.id] }), 'bypass');
    expectBadRequest(await put({ order: [A.id] }), 'bypass');
    expectBadRequest(await put({ bypass: [] }), 'order');
    expectBadRequest(await put({ order: 'A', bypass: [] }), 'order');
    expectBadRequest(await put({ order: [''], bypass: [] }), 'order.0');
    expectBadRequest(await put({ order: ['x'.repeat(129)], bypass: [] }), 'order.0');
    expectError(await t.api('PUT', turnPath(room), { token: H.token, rawBody: '{"order": [', headers: { 'content-type': 'application/json' } }), 400, 'bad_request');
    expectError(await t.api('PUT', turnPath(room), { token: H.token, rawBody: 'order=a', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    expect(readable(room, await getTurn(room))).toMatchObject({ order: ['A', 'B', 'C'], bypass: ['H'] });
  });

  it('returns 400 invalid_reference for a user who is not a channel member, and changes nothing', async () => {
    const room = await seedTurnRoom(t);
    const { A, H } = room.users;
    const r = await t.api('PUT', turnPath(room), { token: H.token, body: { order: [A.id, room.outsider.id], bypass: [H.id, 'nobody-at-all'] } });
    expectError(r, 400, 'invalid_reference');
    expect(r.body.error.details.userIds.sort()).toEqual([room.outsider.id, 'nobody-at-all'].sort());
    expect(readable(room, await getTurn(room))).toMatchObject({ order: ['A', 'B', 'C'], bypass: ['H'] });
  });

  it('returns 403 for channel members who are not the creator, and for readers of a public channel', async () => {
    const room = await seedTurnRoom(t, { isPublic: true });
    const { A, H } = room.users;
    const body = { order: [A.id], bypass: [H.id] };
    expectError(await t.api('PUT', turnPath(room), { token: A.token, body }), 403, 'forbidden');
    expectError(await t.api('PUT', turnPath(room), { token: room.outsider.token, body }), 403, 'forbidden');
    // 403 comes before 400: an invalid body from someone without the right is still 403.
    expectError(await t.api('PUT', turnPath(room), { token: A.token, body: { order: 'bad' } }), 403, 'forbidden');
  });

  it('checks 401, then 404, then 403, then 400 wrong_channel_type', async () => {
    const room = await seedTurnRoom(t);
    const { A, H } = room.users;
    const general = await generalChannel(room);
    const body = { order: [A.id], bypass: [H.id] };
    expectError(await t.api('PUT', `/api/channels/${general.id}/turn`, { body }), 401, 'unauthorized');
    expectError(await t.api('PUT', `/api/channels/${general.id}/turn`, { token: room.outsider.token, body }), 404, 'not_found');
    expectError(await t.api('PUT', `/api/channels/${general.id}/turn`, { token: A.token, body }), 403, 'forbidden');
    expectError(await t.api('PUT', `/api/channels/${general.id}/turn`, { token: H.token, body }), 400, 'wrong_channel_type');
    expectError(await t.api('PUT', turnPath(room), { token: room.outsider.token, body }), 404, 'not_found');
  });

  it('stays allowed on a closed channel', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, C, H } = room.users;
    expect((await t.api('PATCH', `/api/channels/${room.channelId}`, { token: H.token, body: { closed: true } })).status).toBe(200);
    const r = await t.api('PUT', turnPath(room), { token: H.token, body: { order: [B.id, C.id, A.id], bypass: [H.id] } });
    expect(r.status).toBe(200);
    expect(readable(room, r.body.turn).order).toEqual(['B', 'C', 'A']);
  });
});

describe('POST /api/channels/:channelId/turn/bypass and /turn/order', () => {
  it('trace 9 without messages: moving the speaker to bypass hands the turn on and wakes the next', async () => {
    const room = await seedTurnRoom(t);
    const { A, B } = room.users;
    // A response does not wait for its events: the ack's turn.updated is taken before the one observed.
    await observe(room, 'turn.updated', () => t.api('POST', turnPath(room, '/ack'), { token: room.guildToken })); // active, speaker A
    const { result, event, woken } = await observe(room, 'turn.updated', () => t.api('POST', turnPath(room, '/bypass'), { token: room.users.H.token, body: { userId: A.id } }));
    expect(result.status).toBe(200);
    expect(readable(room, result.body.turn)).toMatchObject({ order: ['B', 'C'], bypass: ['H', 'A'], speaker: 'B', status: 'active' });
    expect(event).toMatchObject({ reason: 'order', speakerId: B.id });
    expect(woken).toEqual(['B']);
  });

  it('lets a member move itself both ways; moved back, it is appended to the order', async () => {
    const room = await seedTurnRoom(t);
    const { A } = room.users;
    const out = await t.api('POST', turnPath(room, '/bypass'), { token: A.token, body: { userId: A.id } });
    expect(out.status).toBe(200);
    expect(readable(room, out.body.turn)).toMatchObject({ order: ['B', 'C'], bypass: ['H', 'A'] });
    const back = await t.api('POST', turnPath(room, '/order'), { token: A.token, body: { userId: A.id } });
    expect(back.status).toBe(200);
    expect(readable(room, back.body.turn)).toMatchObject({ order: ['B', 'C', 'A'], bypass: ['H'] });
  });

  it('lets the creator, guild owner, admin and guild token move anyone', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, H } = room.users;
    const moves: [string, string, string][] = [
      [H.token, '/bypass', A.id],
      [room.owner.token, '/bypass', B.id],
      [room.admin.token, '/order', A.id],
      [room.guildToken, '/order', B.id],
      [room.guildToken, '/order', H.id],
    ];
    for (const [token, path, userId] of moves) expect((await t.api('POST', turnPath(room, path), { token, body: { userId } })).status).toBe(200);
    expect(readable(room, await getTurn(room))).toMatchObject({ order: ['C', 'A', 'B', 'H'], bypass: [] });
  });

  it('returns 403 when a plain member moves someone else, or a reader of a public channel moves itself', async () => {
    const room = await seedTurnRoom(t, { isPublic: true });
    const { A, B } = room.users;
    expectError(await t.api('POST', turnPath(room, '/bypass'), { token: B.token, body: { userId: A.id } }), 403, 'forbidden');
    expectError(await t.api('POST', turnPath(room, '/order'), { token: A.token, body: { userId: room.users.H.id } }), 403, 'forbidden');
    expectError(await t.api('POST', turnPath(room, '/order'), { token: room.outsider.token, body: { userId: room.outsider.id } }), 403, 'forbidden');
    expectError(await t.api('POST', turnPath(room, '/order'), { token: room.outsider.token, body: {} }), 403, 'forbidden');
    expect(readable(room, await getTurn(room))).toMatchObject({ order: ['A', 'B', 'C'], bypass: ['H'] });
  });

  it('returns 400 bad_request for a user not in the list it is moved from, and changes nothing', async () => {
    const room = await seedTurnRoom(t);
    const { A, H } = room.users;
    expectBadRequest(await t.api('POST', turnPath(room, '/bypass'), { token: H.token, body: { userId: H.id } }), 'userId');
    expectBadRequest(await t.api('POST', turnPath(room, '/order'), { token: H.token, body: { userId: A.id } }), 'userId');
    expectBadRequest(await t.api('POST', turnPath(room, '/order'), { token: H.token, body: { userId: room.outsider.id } }), 'userId');
    // Unknown fields are ignored; once A is in bypass, moving it there again is a 400.
    expect((await t.api('POST', turnPath(room, '/bypass'), { token: A.token, body: { userId: A.id, extra: 1 } })).status).toBe(200);
    expectBadRequest(await t.api('POST', turnPath(room, '/bypass'), { token: A.token, body: { userId: A.id } }), 'userId');
    expect(readable(room, await getTurn(room))).toMatchObject({ order: ['B', 'C'], bypass: ['H', 'A'] });
  });

  it('returns 400 bad_request for a missing or malformed userId', async () => {
    const room = await seedTurnRoom(t);
    const { H } = room.users;
    for (const body of [{}, { userId: '' }, { userId: 7 }, { userId: 'x'.repeat(129) }]) {
      expectBadRequest(await t.api('POST', turnPath(room, '/bypass'), { token: H.token, body }), 'userId');
      expectBadRequest(await t.api('POST', turnPath(room, '/order'), { token: H.token, body }), 'userId');
    }
    expectError(await t.api('POST', turnPath(room, '/bypass'), { token: H.token, rawBody: '{', headers: { 'content-type': 'application/json' } }), 400, 'bad_request');
  });

  it('returns 400 wrong_channel_type on other channel types after the 404/403 checks', async () => {
    const room = await seedTurnRoom(t);
    const { A, H } = room.users;
    const general = await generalChannel(room);
    for (const path of ['/bypass', '/order']) {
      const url = `/api/channels/${general.id}/turn${path}`;
      expectError(await t.api('POST', url, { token: room.outsider.token, body: { userId: A.id } }), 404, 'not_found');
      expectError(await t.api('POST', url, { token: A.token, body: { userId: H.id } }), 403, 'forbidden');
      expectError(await t.api('POST', url, { token: A.token, body: { userId: A.id } }), 400, 'wrong_channel_type');
      expectError(await t.api('POST', url, { token: H.token, body: { userId: A.id } }), 400, 'wrong_channel_type');
    }
  });
});

describe('POST /api/channels/:channelId/turn/ack', () => {
  it('starts a round from idle and wakes the first speaker with reason ack', async () => {
    const room = await seedTurnRoom(t);
    const { result, event, woken } = await observe(room, 'turn.updated', () => t.api('POST', turnPath(room, '/ack'), { token: room.owner.token }));
    expect(result.status).toBe(200);
    expect(readable(room, result.body.turn)).toMatchObject({ status: 'active', round: 1, speaker: 'A', spoken: [], passed: [] });
    expect(event).toMatchObject({ reason: 'ack', status: 'active', round: 1 });
    expect(woken).toEqual(['A']);
  });

  it('is a no-op while a round is running: same turn, no event', async () => {
    const room = await seedTurnRoom(t);
    await t.api('POST', turnPath(room, '/ack'), { token: room.admin.token });
    const before = await getTurn(room);
    await expectNoTurnEvent(room, async () => {
      const r = await t.api('POST', turnPath(room, '/ack'), { token: room.admin.token });
      expect(r.status).toBe(200);
      expect(r.body.turn).toEqual(before);
    });
  });

  it('does nothing with an empty order', async () => {
    const room = await seedTurnRoom(t);
    const { A, B, C, H } = room.users;
    await t.api('PUT', turnPath(room), { token: H.token, body: { order: [], bypass: [H.id, A.id, B.id, C.id] } });
    const r = await t.api('POST', turnPath(room, '/ack'), { token: room.guildToken });
    expect(r.status).toBe(200);
    expect(r.body.turn).toMatchObject({ status: 'idle', round: 0, speakerId: null });
  });

  it('is allowed to guild owner/admin and the guild token only', async () => {
    const room = await seedTurnRoom(t, { isPublic: true });
    for (const token of [room.users.H.token, room.users.A.token, room.outsider.token]) {
      expectError(await t.api('POST', turnPath(room, '/ack'), { token }), 403, 'forbidden');
    }
    expect((await getTurn(room)).status).toBe('idle');
    for (const token of [room.owner.token, room.admin.token, room.guildToken]) {
      expect((await t.api('POST', turnPath(room, '/ack'), { token })).status).toBe(200);
    }
  });

  it('checks 401, then 404, then 403, then 400 wrong_channel_type', async () => {
    const room = await seedTurnRoom(t);
    const general = await generalChannel(room);
    const url = `/api/channels/${general.id}/turn/ack`;
    expectError(await t.api('POST', url), 401, 'unauthorized');
    expectError(await t.api('POST', url, { token: room.outsider.token }), 404, 'not_found');
    expectError(await t.api('POST', url, { token: room.users.H.token }), 403, 'forbidden');
    expectError(await t.api('POST', url, { token: room.owner.token }), 400, 'wrong_channel_type');
    expectError(await t.api('POST', '/api/channels/nope/turn/ack', { token: room.owner.token }), 404, 'not_found');
  });
});

describe('membership changes apply to the turn (rule 5)', () => {
  it('a member added to the channel is appended to the order, or to bypass when asked', async () => {
    const room = await seedTurnRoom(t);
    const { event } = await observe(room, 'turn.updated', () =>
      t.api('POST', `/api/channels/${room.channelId}/members`, { token: room.users.H.token, body: { userIds: [room.outsider.id] } }),
    );
    expect(event.reason).toBe('membership');
    expect(readable(room, await getTurn(room)).order).toEqual(['A', 'B', 'C', 'X']);
    await t.api('DELETE', `/api/channels/${room.channelId}/members/${room.outsider.id}`, { token: room.users.H.token });
    const joined = await t.api('POST', `/api/channels/${room.channelId}/join`, { token: room.admin.token, body: { bypass: true } });
    expect(joined.body).toEqual({ joined: true });
    expect(readable(room, await getTurn(room))).toMatchObject({ order: ['A', 'B', 'C'], bypass: ['H', 'admin'] });
  });

  it('a member who leaves mid-round is taken out of every list and the next speaker is woken', async () => {
    const room = await seedTurnRoom(t);
    await t.api('POST', turnPath(room, '/ack'), { token: room.guildToken }); // speaker A
    const pending = nextEvent(room.sockets.B, 'turn.updated', 5000, (d: { reason: string }) => d.reason === 'membership');
    const r = await t.api('POST', `/api/channels/${room.channelId}/leave`, { token: room.users.A.token });
    expect(r.body).toEqual({ left: true });
    const event = await pending;
    expect(event).toMatchObject({ reason: 'membership', speakerId: room.users.B.id, wakeup: true });
    expect(readable(room, await getTurn(room))).toMatchObject({ order: ['B', 'C'], speaker: 'B', status: 'active' });
  });

  it('does not wake the remover when removing the speaker makes the remover the speaker', async () => {
    const room = await seedTurnRoom(t);
    await t.api('POST', turnPath(room, '/ack'), { token: room.guildToken }); // speaker A
    const u = room.users;
    const put = await t.api('PUT', turnPath(room), { token: room.guildToken, body: { order: [u.A.id, u.H.id, u.B.id, u.C.id], bypass: [] } });
    expect(put.status).toBe(200);
    const pending = nextEvent(room.sockets.H, 'turn.updated', 5000, (d: { reason: string }) => d.reason === 'membership');
    const r = await t.api('DELETE', `/api/channels/${room.channelId}/members/${u.A.id}`, { token: u.H.token });
    expect(r.status).toBe(204);
    expect(await pending).toMatchObject({ reason: 'membership', speakerId: u.H.id, wakeup: false });
  });

  it('removing a member from the guild removes it from the turn of its channels', async () => {
    const room = await seedTurnRoom(t);
    await t.api('POST', turnPath(room, '/ack'), { token: room.guildToken }); // speaker A
    const pending = nextEvent(room.sockets.B, 'turn.updated', 5000, (d: { reason: string }) => d.reason === 'membership');
    const r = await t.api('DELETE', `/api/guilds/${room.guildId}/members/${room.users.A.id}`, { token: room.owner.token });
    expect(r.status).toBe(204);
    expect(await pending).toMatchObject({ reason: 'membership', speakerId: room.users.B.id, wakeup: true });
    expect(readable(room, await getTurn(room))).toMatchObject({ order: ['B', 'C'], bypass: ['H'], speaker: 'B' });
  });
});
