/**
 * The MySQL post path when the connection of a post's transaction is lost with the whole
 * multi-statement query sent: the server goes on running it, up to the commit, whatever the
 * node sees. The node ends that session before it tries again, and answers each post with
 * what is stored: stored once, never answered "refused" when an attempt committed, never an
 * error when a retry stores it (lib/db/mysql-post-batches.ts). The connection runs through a
 * TCP proxy that drops it; the channel lock is held by another transaction to hold the post
 * where the drop should find it. MySQL only: SQLite is in-process.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMessageWithNextSeq, type InsertMessageOptions, type UnsequencedMessage } from '../lib/db/dialect.js';
import { openDatabase, type DatabaseHandle } from '../lib/db/index.js';
import { wakeDeliverySubquery } from '../lib/messages/wake-recipients.js';
import { createChannel, seedGuild, sleep, startTestNode, TEST_DB, type TestNode } from './helpers/harness.js';
import { heldTransaction, unsequencedMessage, untilALockWait } from './helpers/messages.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

let t: TestNode;
let proxy: TcpProxy;
/** A second handle on the node's database (its own pool and post batches) whose connections go through `proxy`. */
let proxied: DatabaseHandle;
beforeAll(async () => {
  t = await startTestNode();
  if (TEST_DB !== 'mysql') return;
  const cfg = t.node.ctx.config.db as Extract<TestNode['node']['ctx']['config']['db'], { type: 'mysql' }>;
  proxy = await startTcpProxy({ host: cfg.host, port: cfg.port });
  proxied = await openDatabase({ ...cfg, host: '127.0.0.1', port: proxy.port });
});
afterAll(async () => {
  await proxied?.destroy();
  await proxy?.close();
  await t?.close();
});

/** As the node posts into a general channel: author checked under the lock, event logged, and an optional read after the commit. */
const asPosted = (authorId: string, alsoRead?: string): InsertMessageOptions => ({
  memberId: authorId,
  unguardedOnly: true,
  event: { data: { content: 'x' }, wake: wakeDeliverySubquery('general', 'mysql') },
  ...(alsoRead ? { alsoRead: { sql: alsoRead, parameters: [] } } : {}),
});

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: String((error as { code?: unknown }).code ?? error) }),
  );

/** Transactions waiting for a lock. */
const lockWaits = async () =>
  Number((await sql<{ n: number }>`select count(*) as n from information_schema.innodb_trx where trx_state = 'LOCK WAIT'`.execute(t.node.ctx.database.db)).rows[0].n);

/** The rows stored in `channelId`, by seq. */
const storedIn = async (channelId: string) =>
  (await sql<{ id: string; seq: number }>`select id, seq from messages where channel_id = ${channelId} order by seq`.execute(t.node.ctx.database.db)).rows.map((r) => ({
    id: r.id,
    seq: Number(r.seq),
  }));

describe('a post whose connection is lost with its transaction sent', () => {
  it('while it waits for the channel lock: stored once, by the retry, and answered with that seq', async () => {
    if (TEST_DB !== 'mysql') return;
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'lost-alone', xType: 'general' });
    const db = t.node.ctx.database.db;
    const holder = await heldTransaction(db, async (trx) => void (await sql`select id from channels where id = ${ch.id} for update`.execute(trx)));
    const m = unsequencedMessage(ch, owner.id, 'alone');
    const answer = settle(insertMessageWithNextSeq(proxied, m, [], asPosted(owner.id)));
    await untilALockWait(db);
    proxy.drop();
    proxy.restore();
    // The session that lost its connection is ended (killed: it waited for the lock too); the retry then waits alone.
    for (let i = 0; i < 200 && (await lockWaits()) === 0; i++) await sleep(10);
    await sleep(200);
    expect(await lockWaits()).toBe(1);
    holder.release();
    await holder.done;
    const got = await answer;
    expect(got).toMatchObject({ value: { seq: 1 } });
    expect(await storedIn(ch.id)).toEqual([{ id: m.id, seq: 1 }]);
  });

  it('after its batch committed, the author removed before the retry: answered with what was stored, not refused', async () => {
    if (TEST_DB !== 'mysql') return;
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [m1, m2] = members;
    const gateChannel = await createChannel(t, owner.token, { guildId, name: 'lost-gate', xType: 'general' });
    const ch = await createChannel(t, owner.token, { guildId, name: 'lost-batch', xType: 'general', memberUserIds: [m1.id, m2.id] });
    // The gate holds the post slot for a moment, so that the two posts go out together behind it.
    const gate = insertMessageWithNextSeq(proxied, unsequencedMessage(gateChannel, owner.id, 'gate'), [], asPosted(owner.id, 'select sleep(0.05) as s'));
    const posts: UnsequencedMessage[] = [unsequencedMessage(ch, m1.id, 'by m1'), unsequencedMessage(ch, m2.id, 'by m2')];
    // The read after the commit keeps the batch's query running while the connection drops.
    const answers = posts.map((m) => settle(insertMessageWithNextSeq(proxied, m, [], asPosted(m.author_id, 'select sleep(1.5) as s'))));
    await gate;
    for (let i = 0; i < 200 && (await storedIn(ch.id)).length < 2; i++) await sleep(10);
    expect((await storedIn(ch.id)).map((r) => r.id).sort()).toEqual(posts.map((m) => m.id).sort());
    expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${m1.id}`, { token: owner.token })).status).toBe(204);
    proxy.drop();
    proxy.restore();
    const stored = await storedIn(ch.id);
    const got = await Promise.all(answers);
    // Each post answered with its stored seq; nothing stored twice.
    expect(stored).toHaveLength(2);
    expect(got.map((a) => ('value' in a ? a.value?.seq : a))).toEqual(posts.map((m) => stored.find((r) => r.id === m.id)!.seq));
    expect(await storedIn(ch.id)).toEqual(stored);
  });

  it('when the database then goes silent: answered as the database unavailable within seconds, not after connect timeouts', { timeout: 40_000 }, async () => {
    if (TEST_DB !== 'mysql') return;
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'lost-silent', xType: 'general' });
    const db = t.node.ctx.database.db;
    const cfg = t.node.ctx.config.db as Extract<TestNode['node']['ctx']['config']['db'], { type: 'mysql' }>;
    // Its own proxy and handle: this one's network never comes back.
    const silent = await startTcpProxy({ host: cfg.host, port: cfg.port });
    const handle = await openDatabase({ ...cfg, host: '127.0.0.1', port: silent.port });
    const holder = await heldTransaction(db, async (trx) => void (await sql`select id from channels where id = ${ch.id} for update`.execute(trx)));
    try {
      const answer = settle(insertMessageWithNextSeq(handle, unsequencedMessage(ch, owner.id, 'silent'), [], asPosted(owner.id)));
      await untilALockWait(db);
      // The post's connection is lost; the `kill` of its session and any read after it get a connection that never answers.
      silent.drop();
      silent.restore();
      silent.freeze();
      const lostAt = Date.now();
      const got = await answer;
      // The lost connection's own error (503 db_unavailable over REST), after the kill's bound, not mysql2's 10 s connect timeout (twice).
      expect(got).toEqual({ error: expect.stringMatching(/^(PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE)$/) });
      expect(Date.now() - lostAt).toBeLessThan(5000);
    } finally {
      holder.release();
      await holder.done;
      await silent.close();
      await handle.destroy();
    }
  });
});
