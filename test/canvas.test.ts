import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasWriteRefusal, type CanvasWriteFacts } from '../lib/canvas/canvas-rules.js';
import { createChannel, emitAck, nextEvent, recordEvents, seedGuild, sleep, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ env: { FABRIC_BACKEND_GUILD_CANVAS_MAX_BYTES: '100' } });
});
afterAll(async () => t?.close());

interface Room {
  guildId: string;
  owner: TestUser;
  sharer: TestUser;
  mate: TestUser;
  reader: TestUser;
  channelId: string;
}

/** A channel with two members (sharer, mate); `reader` and the owner are guild members outside it. */
async function room(isPublic = true): Promise<Room> {
  const g = await seedGuild(t, 3);
  const [sharer, mate, reader] = g.members;
  // Created by the guild token, so that the owner is not a channel member.
  const ch = await createChannel(t, await t.centerApi.guildToken(g.guildId), {
    guildId: g.guildId,
    name: 'design',
    xType: 'general',
    isPublic,
    memberUserIds: [sharer.id, mate.id],
  });
  return { guildId: g.guildId, owner: g.owner, sharer, mate, reader, channelId: ch.id };
}

const canvasPath = (r: Room) => `/api/channels/${r.channelId}/canvas`;
const put = (r: Room, token: string, body: unknown) => t.api('PUT', canvasPath(r), { token, body });
const close = (r: Room) => t.api('PATCH', `/api/channels/${r.channelId}`, { token: r.owner.token, body: { closed: true } });

describe('canvas write rule', () => {
  const base: CanvasWriteFacts = { userId: 'a', isMember: true, sharedBy: null, closed: false };
  it.each<[string, 'put' | 'delete', Partial<CanvasWriteFacts>, number | null]>([
    ['a member shares', 'put', {}, null],
    ['the sharer replaces', 'put', { sharedBy: 'a' }, null],
    ['another member replaces', 'put', { sharedBy: 'b' }, 403],
    ['a non-member shares', 'put', { isMember: false }, 403],
    ['a guild token shares', 'put', { userId: null }, 403],
    ['a member shares in a closed channel', 'put', { closed: true }, 409],
    ['another member replaces in a closed channel (403 first)', 'put', { sharedBy: 'b', closed: true }, 403],
    ['the sharer removes', 'delete', { sharedBy: 'a' }, null],
    ['the sharer removes after leaving the channel', 'delete', { sharedBy: 'a', isMember: false }, null],
    ['another member removes', 'delete', { sharedBy: 'b' }, 403],
    ['a guild token removes', 'delete', { sharedBy: 'a', userId: null }, 403],
    ['the sharer removes in a closed channel', 'delete', { sharedBy: 'a', closed: true }, 409],
  ])('%s (%s) → %s', (_what, action, facts, status) => {
    expect(canvasWriteRefusal(action, { ...base, ...facts })?.status ?? null).toBe(status);
  });
});

describe('PUT /api/channels/:channelId/canvas', () => {
  it('shares a canvas: 201 with version 1 and sharedBy, and emits canvas.updated to the channel after commit', async () => {
    const r = await room();
    const socket = await t.socket(r.mate.token);
    expect(await emitAck(socket, 'join_channel', { channelId: r.channelId })).toEqual({ ok: true, pos: expect.any(Number) });
    const event = nextEvent(socket, 'canvas.updated');
    const res = await put(r, r.sharer.token, { format: 'md', title: 'Plan', content: '# Plan\n- ship' });
    expect(res.status).toBe(201);
    expect(res.body.canvas).toMatchObject({ channelId: r.channelId, format: 'md', title: 'Plan', content: '# Plan\n- ship', sharedBy: r.sharer.id, version: 1 });
    expect(res.body.canvas.createdAt).toBe(res.body.canvas.updatedAt);
    const e = await event;
    expect(e).toEqual({ channelId: r.channelId, canvas: res.body.canvas, pos: expect.any(Number) });
    expect((await t.api('GET', canvasPath(r), { token: r.mate.token })).body.canvas).toEqual(e.canvas);
  });

  it('replaces it for its sharer: 200 with version + 1, createdAt kept, and canvas.updated with each version', async () => {
    const r = await room();
    const socket = await t.socket(r.mate.token);
    await emitAck(socket, 'join_channel', { channelId: r.channelId });
    const seen = recordEvents(socket, 'canvas.updated');
    const lastEvent = nextEvent(socket, 'canvas.updated', 3000, (e: any) => e.canvas.version === 3);
    const first = await put(r, r.sharer.token, { format: 'md', title: 'v1', content: 'one' });
    const second = await put(r, r.sharer.token, { format: 'html', content: '<p>two</p>' });
    expect(second.status).toBe(200);
    expect(second.body.canvas).toMatchObject({ format: 'html', title: '', content: '<p>two</p>', sharedBy: r.sharer.id, version: 2, createdAt: first.body.canvas.createdAt });
    const third = await put(r, r.sharer.token, { format: 'text', title: 'v3', content: 'three' });
    expect(third.body.canvas.version).toBe(3);
    await lastEvent;
    expect(seen.map((e) => e.canvas.version)).toEqual([1, 2, 3]);
  });

  it('returns 403 forbidden when another member tries to replace it, and leaves it unchanged', async () => {
    const r = await room();
    await put(r, r.sharer.token, { format: 'md', content: 'mine' });
    const res = await put(r, r.mate.token, { format: 'md', content: 'yours' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    expect((await t.api('GET', canvasPath(r), { token: r.mate.token })).body.canvas).toMatchObject({ content: 'mine', version: 1 });
  });

  it('returns 403 for a reader of a public channel, a guild owner who is not a member and the guild token', async () => {
    const r = await room();
    const guildToken = await t.centerApi.guildToken(r.guildId);
    for (const token of [r.reader.token, r.owner.token, guildToken]) {
      const res = await put(r, token, { format: 'md', content: 'x' });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
  });

  it('returns 404 for a private channel the caller cannot see and for an unknown channel', async () => {
    const r = await room(false);
    const res = await put(r, r.reader.token, { format: 'md', content: 'x' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    const unknown = await t.api('PUT', '/api/channels/nope/canvas', { token: r.sharer.token, body: { format: 'md', content: 'x' } });
    expect(unknown.status).toBe(404);
  });

  it('returns 409 channel_closed for sharing or replacing in a closed channel', async () => {
    const r = await room();
    await put(r, r.sharer.token, { format: 'md', content: 'before' });
    const other = await room();
    await close(r);
    await close(other);
    const replace = await put(r, r.sharer.token, { format: 'md', content: 'after' });
    expect(replace.status).toBe(409);
    expect(replace.body.error.code).toBe('channel_closed');
    const share = await put(other, other.sharer.token, { format: 'md', content: 'new' });
    expect(share.status).toBe(409);
    expect(share.body.error.code).toBe('channel_closed');
  });

  it('checks 403, then 409, before the body (400)', async () => {
    const r = await room();
    await put(r, r.sharer.token, { format: 'md', content: 'x' });
    await close(r);
    expect((await put(r, r.mate.token, { format: 'pdf' })).status).toBe(403);
    expect((await put(r, r.sharer.token, { format: 'pdf' })).status).toBe(409);
  });

  it('returns 403 to a member removed while its body was still arriving, and stores nothing', async () => {
    const r = await room();
    const bytes = new TextEncoder().encode(JSON.stringify({ format: 'md', content: 'late' }));
    let send!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (send = controller) });
    const answer = fetch(t.url + canvasPath(r), {
      method: 'PUT',
      headers: { authorization: `Bearer ${r.sharer.token}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    send.enqueue(bytes.slice(0, 5));
    await sleep(300); // the access checks have run; the body is being read
    expect((await t.api('DELETE', `/api/channels/${r.channelId}/members/${r.sharer.id}`, { token: r.owner.token })).status).toBe(204);
    send.enqueue(bytes.slice(5));
    send.close();
    const res = await answer;
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await t.api('GET', canvasPath(r), { token: r.mate.token })).status).toBe(404);
  });

  it('returns 413 payload_too_large for content over CANVAS_MAX_BYTES counted in UTF-8 bytes', async () => {
    const r = await room();
    const fits = await put(r, r.sharer.token, { format: 'text', content: 'é'.repeat(50) }); // 100 bytes
    expect(fits.status).toBe(201);
    const over = await put(r, r.sharer.token, { format: 'text', content: 'é'.repeat(51) }); // 51 characters, 102 bytes
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('payload_too_large');
    const huge = await put(r, r.sharer.token, { format: 'text', content: 'x'.repeat(2_000_000) });
    expect(huge.status).toBe(413);
    expect((await t.api('GET', canvasPath(r), { token: r.sharer.token })).body.canvas.version).toBe(1);
  });

  it.each<[string, unknown]>([
    ['an unknown format', { format: 'pdf', content: 'x' }],
    ['no format', { content: 'x' }],
    ['no content', { format: 'md' }],
    ['content that is not a string', { format: 'md', content: 42 }],
    ['a title over 200 characters', { format: 'md', content: 'x', title: 't'.repeat(201) }],
    ['a title over 200 characters of emoji', { format: 'md', content: 'x', title: '🎨'.repeat(201) }],
    ['a title that is not a string', { format: 'md', content: 'x', title: ['t'] }],
    ['a body that is not an object', ['md']],
    ['content with an unpaired surrogate', { format: 'md', content: 'a\ud800b' }],
    ['a title with an unpaired surrogate', { format: 'md', content: 'x', title: '\udfff' }],
  ])('returns 400 bad_request for %s', async (_what, body) => {
    const r = await room();
    const res = await put(r, r.sharer.token, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect((await t.api('GET', canvasPath(r), { token: r.sharer.token })).status).toBe(404);
  });

  it('takes a body up to the 1 MiB of every JSON body even when CANVAS_MAX_BYTES is small (unknown fields are ignored)', async () => {
    const r = await room();
    const res = await put(r, r.sharer.token, { format: 'md', content: 'small', clientNote: 'n'.repeat(100_000) });
    expect(res.status).toBe(201);
    expect(res.body.canvas).not.toHaveProperty('clientNote');
  });

  it('returns 400 for malformed JSON and 415 for a body that is not JSON', async () => {
    const r = await room();
    const malformed = await t.api('PUT', canvasPath(r), { token: r.sharer.token, rawBody: '{"format":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('bad_request');
    const text = await t.api('PUT', canvasPath(r), { token: r.sharer.token, rawBody: 'format=md', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
  });

  it('stores content and a 200-character title verbatim, html included', async () => {
    const r = await room();
    const title = '🎨'.repeat(200);
    const content = '<script>alert("x")</script>\u0000\n  ✓';
    const res = await put(r, r.sharer.token, { format: 'html', title, content });
    expect(res.status).toBe(201);
    const got = await t.api('GET', canvasPath(r), { token: r.reader.token });
    expect(got.body.canvas).toMatchObject({ format: 'html', title, content });
  });

  it('returns 401 unauthorized without a token', async () => {
    const r = await room();
    const res = await t.api('PUT', canvasPath(r), { body: { format: 'md', content: 'x' } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });
});

describe('GET /api/channels/:channelId/canvas', () => {
  it('returns the canvas to every reader: members, public readers, the guild owner and the guild token', async () => {
    const r = await room(false);
    const shared = await put(r, r.sharer.token, { format: 'md', content: 'hello' });
    const guildToken = await t.centerApi.guildToken(r.guildId);
    for (const token of [r.mate.token, r.owner.token, guildToken]) {
      const res = await t.api('GET', canvasPath(r), { token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ canvas: shared.body.canvas });
    }
    const pub = await room(true);
    await put(pub, pub.sharer.token, { format: 'md', content: 'hello' });
    expect((await t.api('GET', canvasPath(pub), { token: pub.reader.token })).status).toBe(200);
  });

  it('returns 404 when no canvas is shared, and to guild members outside a private channel', async () => {
    const r = await room(false);
    const none = await t.api('GET', canvasPath(r), { token: r.sharer.token });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('not_found');
    await put(r, r.sharer.token, { format: 'md', content: 'secret' });
    const hidden = await t.api('GET', canvasPath(r), { token: r.reader.token });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('not_found');
  });
});

describe('DELETE /api/channels/:channelId/canvas', () => {
  it('removes it for its sharer: 204, canvas.removed, then 404; anyone may share a new one at version 1', async () => {
    const r = await room();
    await put(r, r.sharer.token, { format: 'md', content: 'x' });
    const socket = await t.socket(r.mate.token);
    await emitAck(socket, 'join_channel', { channelId: r.channelId });
    const removed = nextEvent(socket, 'canvas.removed');
    const res = await t.api('DELETE', canvasPath(r), { token: r.sharer.token });
    expect(res.status).toBe(204);
    expect(await removed).toEqual({ channelId: r.channelId, pos: expect.any(Number) });
    expect((await t.api('GET', canvasPath(r), { token: r.mate.token })).status).toBe(404);
    const again = await put(r, r.mate.token, { format: 'text', content: 'mine now' });
    expect(again.status).toBe(201);
    expect(again.body.canvas).toMatchObject({ sharedBy: r.mate.id, version: 1 });
  });

  it('returns 403 to other members, the guild owner and the guild token', async () => {
    const r = await room();
    await put(r, r.sharer.token, { format: 'md', content: 'x' });
    for (const token of [r.mate.token, r.owner.token, await t.centerApi.guildToken(r.guildId)]) {
      const res = await t.api('DELETE', canvasPath(r), { token });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect((await t.api('GET', canvasPath(r), { token: r.mate.token })).status).toBe(200);
  });

  it('returns 404 when there is no canvas', async () => {
    const r = await room();
    const res = await t.api('DELETE', canvasPath(r), { token: r.sharer.token });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('returns 409 channel_closed in a closed channel', async () => {
    const r = await room();
    await put(r, r.sharer.token, { format: 'md', content: 'x' });
    await close(r);
    const res = await t.api('DELETE', canvasPath(r), { token: r.sharer.token });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('channel_closed');
  });

  it('lets the sharer remove it after leaving a public channel it still reads', async () => {
    const r = await room();
    await put(r, r.sharer.token, { format: 'md', content: 'x' });
    expect((await t.api('POST', `/api/channels/${r.channelId}/leave`, { token: r.sharer.token })).body).toEqual({ left: true });
    expect((await t.api('DELETE', canvasPath(r), { token: r.sharer.token })).status).toBe(204);
  });
});
