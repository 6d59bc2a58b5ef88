/**
 * The project's own fuzz suite: seeded and bounded, over every route of handlers/routes.ts
 * (read from the table, so a new route is fuzzed without touching this file), every role and
 * token state (owner, admin, guild token, channel member, guild member outside the private
 * channel, outsider, revoked token, no token), the socket events and the internal channel.
 * It asserts: no 5xx; every 4xx (but HEAD's) is the error JSON with a request id; a private
 * channel's content never reaches a role that may not read it, and nothing those roles send
 * changes it; sockets and the node stay up, and /api/health answers quickly at the end.
 *
 * CI runs a fixed seed and size; by hand: FUZZ_SEED=<n> FUZZ_N=<requests> npx vitest run test/fuzz.test.ts
 * A failure names the seed and the request (its index, role, method, path) to replay it.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../handlers/routes.js';
import type { RealtimeApp } from '../realtime/app.js';
import { createInternalChannel } from '../realtime/internal-channel.js';
import { hostileBody, hostileParam, hostileQuery, hostileValue, prng, type FuzzBody, type Rng } from './helpers/fuzz.js';
import { connectSocket, createChannel, startTestNode, type TestNode } from './helpers/harness.js';
import { filePart } from './helpers/multipart.js';
import { seedWorld, type World } from './helpers/world.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const N = Number(process.env.FUZZ_N ?? 1500);
const SOCKET_EVENTS = Math.max(50, Math.round(N / 5));
const INTERNAL_CALLS = Math.max(50, Math.round(N / 5));
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

let t: TestNode;
let w: World;
/** What only the owner and m1 may read; random per seed, so no generated input can contain it. */
const SECRET = `secret-${SEED}-${Math.random().toString(36).slice(2)}`;
let privateChannelId: string;
let privateMessageId: string;
/** Ids the roles that may write aim at (nothing of the private channel), and every id (for the others). */
let publicIds: string[];
let allIds: string[];
const roles: { name: string; token?: string; mayReadPrivate: boolean; writer: boolean }[] = [];
const failures: string[] = [];

beforeAll(async () => {
  t = await startTestNode();
  w = await seedWorld(t);
  const priv = await createChannel(t, w.owner.token, {
    guildId: w.guildId,
    name: `p-${SECRET}`.slice(0, 100),
    topic: SECRET,
    xType: 'general',
    isPublic: false,
    memberUserIds: [w.m1.id],
  });
  privateChannelId = priv.id;
  privateMessageId = (await t.api('POST', `/api/channels/${priv.id}/messages`, { token: w.owner.token, body: { content: SECRET } })).body.message.id;
  expect((await t.api('PUT', `/api/channels/${priv.id}/canvas`, { token: w.owner.token, body: { format: 'md', content: SECRET } })).status).toBe(201);
  const pub = await createChannel(t, w.owner.token, { guildId: w.guildId, name: 'public', xType: 'general', isPublic: true });
  const discuss = await createChannel(t, w.owner.token, { guildId: w.guildId, name: 'discuss', xType: 'discuss', isPublic: true, memberUserIds: [w.m1.id, w.m2.id] });
  const msg = (await t.api('POST', `/api/channels/${pub.id}/messages`, { token: w.owner.token, body: { content: 'hello' } })).body.message.id;
  const { body, contentType } = filePart('file body');
  const file = (await t.api('POST', '/api/files', { token: w.m1.token, rawBody: body, headers: { 'content-type': contentType } })).body.file?.id ?? 'no-file';
  const revoked = (await t.centerApi.user('revoked')).token;
  await t.centerApi.revoke(revoked);
  const users = [w.owner, w.admin, w.m1, w.m2, w.m3, w.outsider].map((u) => u.id);
  publicIds = [w.guildId, pub.id, discuss.id, msg, file, ...users, 'force-proceed', 'ok'];
  allIds = [...publicIds, privateChannelId, privateMessageId];
  roles.push(
    { name: 'owner', token: w.owner.token, mayReadPrivate: true, writer: true },
    { name: 'admin', token: w.admin.token, mayReadPrivate: false, writer: true },
    { name: 'guild token', token: w.guildToken, mayReadPrivate: true, writer: true },
    { name: 'channel member', token: w.m1.token, mayReadPrivate: true, writer: true },
    { name: 'guild member', token: w.m3.token, mayReadPrivate: false, writer: false },
    { name: 'outsider', token: w.outsider.token, mayReadPrivate: false, writer: false },
    { name: 'revoked token', token: revoked, mayReadPrivate: false, writer: false },
    { name: 'no token', mayReadPrivate: false, writer: false },
  );
}, 60_000);
afterAll(async () => t?.close());

/** Fills a route's `:params` from the ids the role aims at. */
const fillPath = (r: Rng, path: string, ids: readonly string[]) => path.replace(/:(\w+)/g, () => hostileParam(r, ids));

function record(what: string, problem: string) {
  if (failures.length < 50) failures.push(`seed ${SEED}: ${what}: ${problem}`);
}

/** Checks one answer against the suite's invariants; `mayRead`: whether the caller may see the private channel. */
function check(what: string, method: string, status: number, text: string, contentType: string, mayRead: boolean) {
  if (status >= 500) record(what, `${status} ${text.slice(0, 300)}`);
  if (status >= 400 && method !== 'HEAD') {
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!contentType.includes('application/json') || typeof body?.error?.code !== 'string' || typeof body.error.requestId !== 'string') {
      record(what, `${status} without the error JSON: ${text.slice(0, 200)}`);
    }
  }
  if (!mayRead && text.includes(SECRET)) record(what, `${status} leaked private content: ${text.slice(0, 200)}`);
}

async function send(method: string, path: string, token: string | undefined, body: FuzzBody, extra: Record<string, string>) {
  const headers: Record<string, string> = { ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body.contentType) headers['content-type'] = body.contentType;
  const withBody = body.text !== undefined && method !== 'GET' && method !== 'HEAD';
  const res = await fetch(t.url + path, { method, headers, body: withBody ? body.text : undefined });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

describe(`fuzz (seed ${SEED}, ${N} requests)`, () => {
  it('every route, every role: no 5xx, error JSON on every 4xx, no private content to those who may not read it', async () => {
    const r = prng(SEED);
    const plan = Array.from({ length: N }, (_, i) => {
      const route = r.pick(routes).route;
      const role = r.pick(roles);
      const ids = role.writer ? publicIds : allIds;
      const method = r.chance(0.85) ? route.method : r.pick(METHODS);
      const path = fillPath(r, route.path, ids) + hostileQuery(r, ids);
      const body = hostileBody(r, ids);
      const extra: Record<string, string> = r.chance(0.1) ? { 'x-request-id': r.pick(['ok-1', 'x'.repeat(200), 'sp ace']), origin: r.pick(['null', 'https://evil.example']) } : {};
      return { i, role, method, path, body, extra };
    });
    // Four at a time: concurrent requests of different roles meet in the same rows.
    for (let k = 0; k < plan.length; k += 4) {
      await Promise.all(
        plan.slice(k, k + 4).map(async (p) => {
          const what = `#${p.i} ${p.role.name} ${p.method} ${p.path.slice(0, 200)}`;
          try {
            const res = await send(p.method, p.path, p.role.token, p.body, p.extra);
            check(what, p.method, res.status, res.text, res.contentType, p.role.mayReadPrivate);
          } catch (err) {
            record(what, `request failed: ${(err as Error).message}`);
          }
        }),
      );
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('socket events: every ack is {ok} or an error code, outsiders never join the private channel nor see its content', async () => {
    const r = prng(SEED + 1);
    const sockets: { name: string; socket: Socket; mayRead: boolean; seen: string[] }[] = [];
    for (const [name, token, mayRead] of [
      ['channel member', w.m1.token, true],
      ['guild member', w.m3.token, false],
      ['outsider', w.outsider.token, false],
    ] as const) {
      const socket = await connectSocket(t.url, token);
      const seen: string[] = [];
      socket.onAny((event, data) => seen.push(`${event} ${JSON.stringify(data)}`));
      sockets.push({ name, socket, mayRead, seen });
    }
    try {
      for (let i = 0; i < SOCKET_EVENTS; i++) {
        const s = r.pick(sockets);
        const event = r.pick(['join_channel', 'leave_channel', 'typing', 'join_channel', 'nope', 'session.ended']);
        // Within socket.io's 64 KiB per packet: a bigger one closes the connection, as it should.
        const deep = () => JSON.parse('{"channelId":'.repeat(40) + '1' + '}'.repeat(40));
        const payload = r.chance(0.5) ? { channelId: r.chance(0.7) ? r.pick(allIds) : hostileValue(r, 2, allIds) } : r.chance(0.2) ? deep() : hostileValue(r, 2, allIds);
        const what = `socket #${i} ${s.name} ${event} ${JSON.stringify(payload).slice(0, 120)}`;
        if (event === 'typing' || event === 'nope' || event === 'session.ended') {
          s.socket.emit(event, payload);
          continue;
        }
        const ack = await s.socket
          .timeout(5000)
          .emitWithAck(event, payload)
          .catch((err: Error) => ({ timeout: err.message }));
        const valid = ack?.ok === true || (ack?.ok === false && typeof ack.error?.code === 'string');
        if (!valid) record(what, `unexpected ack ${JSON.stringify(ack)}`);
        const joinedPrivate = event === 'join_channel' && (payload as { channelId?: unknown } | null)?.channelId === privateChannelId && ack?.ok === true;
        if (joinedPrivate && !s.mayRead) record(what, 'joined the private channel');
      }
      // Something happens in the private channel: only its members' sockets may hear of it.
      await t.api('POST', `/api/channels/${privateChannelId}/messages`, { token: w.owner.token, body: { content: `${SECRET} again` } });
      await t.api('GET', '/api/health');
      for (const s of sockets) {
        if (!s.socket.connected) record(`socket ${s.name}`, 'was disconnected');
        if (!s.mayRead && s.seen.some((e) => e.includes(SECRET))) record(`socket ${s.name}`, 'received private content');
      }
    } finally {
      for (const s of sockets) s.socket.close();
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('the internal channel: no 5xx, error JSON on every 4xx, with or without the secret', async () => {
    const r = prng(SEED + 2);
    const secret = 'fuzz-internal-secret';
    const { realtime } = t.node as unknown as { realtime: RealtimeApp };
    const internal = createInternalChannel(realtime, secret);
    const paths = ['/internal/emit', '/internal/batch', '/internal/rooms/leave', '/internal/rooms/guild', '/internal/presence', '/internal/nope', '/'];
    for (let i = 0; i < INTERNAL_CALLS; i++) {
      const path = r.pick(paths);
      const method = r.chance(0.8) ? 'POST' : r.pick(METHODS.filter((m) => m !== 'HEAD'));
      const auth = r.pick([`Bearer ${secret}`, `Bearer ${secret}`, 'Bearer wrong', '']);
      const emit = () => ({
        to: r.pick([{ channel: r.pick(allIds) }, { user: r.pick(allIds) }, { guild: w.guildId }, hostileValue(r, 2, allIds)]),
        event: r.pick(['x.y', 'connect', '', 'typing']),
        data: hostileValue(r, 3, allIds),
      });
      const body: FuzzBody = r.chance(0.5)
        ? {
            text: JSON.stringify(
              r.pick([
                { emits: [emit(), emit()] },
                { ops: [{ emit: emit() }, { leave: { userId: r.pick(allIds), channelId: r.pick(allIds) } }] },
                { userId: w.outsider.id, guildId: r.pick(allIds), member: r.pick([false, 'yes']) },
              ]),
            ),
            contentType: 'application/json',
          }
        : hostileBody(r, allIds);
      const headers: Record<string, string> = { ...(auth ? { authorization: auth } : {}), ...(body.contentType ? { 'content-type': body.contentType } : {}) };
      const res = await internal(new Request(`http://internal.test${path}`, { method, headers, body: method === 'GET' ? undefined : body.text }));
      check(`internal #${i} ${method} ${path}`, method, res.status, await res.text(), res.headers.get('content-type') ?? '', true);
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('ends with the node alive, /api/health answering quickly, and the private channel as it was', async () => {
    const health = await fetch(`${t.url}/api/health`, { signal: AbortSignal.timeout(2000) });
    expect(health.status).toBe(200);
    const channel = await t.api('GET', `/api/channels/${privateChannelId}`, { token: w.owner.token });
    expect(channel.body.channel).toMatchObject({ topic: SECRET, isPublic: false, closed: false });
    const message = await t.api('GET', `/api/messages/${privateMessageId}`, { token: w.owner.token });
    expect(message.body.message).toMatchObject({ content: SECRET });
    expect(message.body.message.deletedAt ?? null).toBeNull();
    const canvas = await t.api('GET', `/api/channels/${privateChannelId}/canvas`, { token: w.owner.token });
    expect(canvas.body.canvas).toMatchObject({ content: SECRET });
    for (const who of [w.m3, w.outsider]) {
      expect((await t.api('GET', `/api/channels/${privateChannelId}`, { token: who.token })).status).toBe(404);
    }
  });
});
