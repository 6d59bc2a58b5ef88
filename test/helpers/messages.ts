/**
 * Small helpers of the message suites: post, list, read a channel's lastSeq, join a socket
 * to a channel room — all over the real HTTP API and real sockets; and a message row for the
 * suites that call the post transaction of lib/ directly.
 */
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { UnsequencedMessage } from '../../lib/db/dialect.js';
import type { Db } from '../../lib/db/index.js';
import type { MemberKind } from '../../lib/db/schema.js';
import { newId } from '../../lib/ids.js';
import { emitAck, type ApiResponse, type RestFixture, type TestNode, type TestUser } from './harness.js';

export const postMessage = (t: RestFixture, token: string, channelId: string, body: unknown): Promise<ApiResponse> =>
  t.api('POST', `/api/channels/${channelId}/messages`, { token, body });

/** Posts and asserts 201; returns the message. */
export async function post(t: RestFixture, token: string, channelId: string, content: string, extra: Record<string, unknown> = {}) {
  const r = await postMessage(t, token, channelId, { content, ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.message as { id: string; seq: number; content: string; mentions: string[]; [k: string]: any };
}

/** GET …/messages with the given query string; asserts 200. */
export async function list(t: RestFixture, token: string, channelId: string, query = '') {
  const r = await t.api('GET', `/api/channels/${channelId}/messages${query}`, { token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as { messages: { id: string; seq: number; [k: string]: any }[]; hasMore: boolean };
}

/** The channel's lastSeq as GET /api/channels/:id reports it. */
export async function lastSeq(t: RestFixture, token: string, channelId: string): Promise<number> {
  const r = await t.api('GET', `/api/channels/${channelId}`, { token });
  expect(r.status).toBe(200);
  return r.body.channel.lastSeq;
}

/** Subscribes a socket to a channel room and asserts the ack. */
export async function joinRoom(socket: Socket, channelId: string) {
  expect(await emitAck(socket, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
}

/** Uploads a small file through POST /api/files (multipart built by fetch's FormData); asserts 201. */
export async function upload(t: TestNode, user: TestUser, name: string, data: string, type = 'text/plain') {
  const form = new FormData();
  form.append('file', new Blob([data], { type }), name);
  const r = await t.api('POST', '/api/files', { token: user.token, rawBody: form });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.file as { id: string; name: string; size: number; mime: string };
}

/** A plain message row (no reply, no mentions) as `insertMessageWithNextSeq` takes it. */
export function unsequencedMessage(channel: { id: string; guildId: string }, authorId: string, content: string, clientMsgId: string | null = null): UnsequencedMessage {
  return {
    id: newId(),
    channel_id: channel.id,
    guild_id: channel.guildId,
    author_id: authorId,
    content,
    reply_to_id: null,
    mentions: '[]',
    client_msg_id: clientMsgId,
    edited_at: null,
    deleted_at: null,
  };
}

/**
 * Makes `userIds` members of the guild and of the channel (as `kind`), as rows in bulk: for
 * suites that need channels of tens of thousands of members, which Center's emulator and
 * the HTTP API would take minutes to enroll. Chunked, so no statement binds too many values.
 */
export async function insertMembers(db: Db, channel: { id: string; guildId: string }, userIds: readonly string[], kind: MemberKind = 'person') {
  for (let i = 0; i < userIds.length; i += 1000) {
    const chunk = userIds.slice(i, i + 1000);
    await db
      .insertInto('guild_members')
      .values(chunk.map((user_id) => ({ guild_id: channel.guildId, user_id, role: 'member' as const, joined_at: 0, kind })))
      .execute();
    await db
      .insertInto('channel_members')
      .values(chunk.map((user_id) => ({ channel_id: channel.id, user_id, joined_at: 0 })))
      .execute();
  }
}

/**
 * Runs `work` in a MySQL transaction and keeps it open, its locks held, until `release()`;
 * resolves once `work` has run. `done` settles when the transaction has committed.
 */
export async function heldTransaction(db: Db, work: (trx: Db) => Promise<void>): Promise<{ release: () => void; done: Promise<void> }> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let workDone!: () => void;
  const ran = new Promise<void>((resolve) => (workDone = resolve));
  const done = db.transaction().execute(async (trx) => {
    await work(trx);
    workDone();
    await held;
  });
  await Promise.race([ran, done]);
  return { release, done };
}

/** Resolves once MySQL lists a transaction waiting for a lock (or after about 2 s, when none came to wait). */
export async function untilALockWait(db: Db): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const w = await sql<{ n: number }>`select count(*) as n from information_schema.innodb_lock_waits`.execute(db);
    if (Number(w.rows[0].n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
