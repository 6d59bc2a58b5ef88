/**
 * The post transaction as `lib/` runs it (`insertMessageWithNextSeq`), with posts submitted
 * in one tick so that, on MySQL, all but the first few wait and then share one transaction
 * (lib/db/mysql-post-batches.ts). Whatever the batch holds — posts into several channels, a
 * post refused under the lock, a repeated clientMsgId — each post gets its own answer and
 * every channel keeps gapless seqs. On SQLite the same calls run one
 * transaction each, and the same answers must come out.
 */
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMessageWithNextSeq, isDuplicateKeyError, type UnsequencedMessage } from '../lib/db/dialect.js';
import { openDatabase } from '../lib/db/index.js';
import { postReadBack } from '../lib/db/mysql-post-batches.js';
import { errorResponse } from '../lib/http/respond.js';
import { createChannel, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';
import { heldTransaction, lastSeq, list, post as postOverHttp, unsequencedMessage as message, untilALockWait } from './helpers/messages.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t?.close();
});

/** A second handle on the test node's database, opened the way the node opens its own. */
const openDatabaseLike = (node: TestNode) => openDatabase(node.node.ctx.config.db);

const candidates = (channelId: string) => ({ sql: 'select user_id from channel_members where channel_id = ?', parameters: [channelId] });

describe('insertMessageWithNextSeq with many posts ready at once', () => {
  it('stores posts that are ready together in shared transactions, gapless per channel', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const channels = await Promise.all(['x', 'y'].map((name) => createChannel(t, owner.token, { guildId, name, xType: 'general', memberUserIds: [members[0].id] })));
    const { database } = t.node.ctx;
    const before = database.postBatches?.stats();
    const messages = Array.from({ length: 30 }, (_, i) => message(channels[i % 2], i % 3 ? owner.id : members[0].id, `p${i}`));
    const results = await Promise.all(messages.map((m) => insertMessageWithNextSeq(database, m, [], { memberId: m.author_id })));
    for (const ch of channels) {
      const seqs = results.filter((_, i) => messages[i].channel_id === ch.id).map((r) => r!.seq);
      expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
      expect(await lastSeq(t, owner.token, ch.id)).toBe(15);
    }
    if (database.dialect === 'mysql') {
      const after = database.postBatches!.stats();
      expect(after.posts - before!.posts).toBe(30);
      // All but the first few waited for a slot and went together.
      expect(after.batches - before!.batches).toBeLessThan(10);
    }
  });

  it('splits a backlog of long posts into batches of bounded size, and stores every one', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'long', xType: 'general' });
    const { database } = t.node.ctx;
    const before = database.postBatches?.stats();
    const messages = Array.from({ length: 100 }, (_, i) => message(ch, owner.id, `${i}:`.padEnd(16000, 'x')));
    const results = await Promise.all(messages.map((m) => insertMessageWithNextSeq(database, m, [], { memberId: owner.id })));
    expect(results.map((r) => r!.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const page = await list(t, owner.token, ch.id, '?after=0&limit=100');
    expect(page.messages.map((m) => (m.content as string).length)).toEqual(Array(100).fill(16000));
    if (database.dialect === 'mysql') {
      const after = database.postBatches!.stats();
      expect(after.posts - before!.posts).toBe(100);
      // Two alone, then at most about half a million characters per batch (32 such posts), not 64 posts at once.
      expect(after.batches - before!.batches).toBeGreaterThanOrEqual(5);
    }
  });

  it('gives each post its own answer and each channel gapless seqs', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [member, outsider] = members;
    const channels = await Promise.all(['one', 'two', 'three'].map((name) => createChannel(t, owner.token, { guildId, name, xType: 'general', memberUserIds: [member.id] })));
    const closed = await createChannel(t, owner.token, { guildId, name: 'closed', xType: 'general', memberUserIds: [member.id] });
    expect((await t.api('PATCH', `/api/channels/${closed.id}`, { token: owner.token, body: { closed: true } })).status).toBe(200);
    const { database } = t.node.ctx;
    const post = (m: UnsequencedMessage) => insertMessageWithNextSeq(database, m, [], { memberId: m.author_id, alsoRead: candidates(m.channel_id) });
    const stored = await post(message(channels[0], owner.id, 'before', 'client-1'));
    expect(stored?.seq).toBe(1);

    // Submitted in one tick: on MySQL the first ones go out alone, the rest wait and go together.
    const valid = Array.from({ length: 30 }, (_, i) => message(channels[i % 3], i % 2 ? owner.id : member.id, `post ${i}`));
    const attempts = [
      ...valid.slice(0, 12).map((m) => post(m)),
      post(message(channels[1], outsider.id, 'not a member')),
      post(message(closed, member.id, 'closed channel')),
      post(message(channels[0], owner.id, 'same clientMsgId', 'client-1')).then(
        () => 'stored again',
        (err: unknown) => (isDuplicateKeyError(err) ? 'duplicate key' : err),
      ),
      ...valid.slice(12).map((m) => post(m)),
    ];
    const answers = await Promise.all(attempts);

    expect(answers[12]).toBeNull(); // not a member: nothing stored
    expect(answers[13]).toBeNull(); // closed: nothing stored
    expect(answers[14]).toBe('duplicate key');
    const results = [...answers.slice(0, 12), ...answers.slice(15)] as { seq: number; createdAt: number; alsoReadRows: { user_id: string }[] }[];
    for (const [c, ch] of channels.entries()) {
      const mine = valid.map((m, i) => ({ m, r: results[i] })).filter(({ m }) => m.channel_id === ch.id);
      const first = c === 0 ? 2 : 1; // channel one already holds 'before'
      // Gapless seqs after the ones already there (concurrent posts have no order among them).
      expect(mine.map(({ r }) => r.seq).sort((a, b) => a - b)).toEqual(mine.map((_, i) => first + i));
      // The post-commit read of each post is its own channel's members.
      for (const { r } of mine) expect(r.alsoReadRows.map((row) => row.user_id).sort()).toEqual([member.id, owner.id].sort());
      // What each answer says is what is stored under its seq, and createdAt never decreases along seq.
      const page = await list(t, owner.token, ch.id, '?after=0&limit=100');
      const bySeq = new Map(page.messages.map((m) => [m.seq as number, m]));
      for (const { m, r } of mine) {
        expect(bySeq.get(r.seq)?.content).toBe(m.content);
        expect(Date.parse(bySeq.get(r.seq)!.createdAt as string)).toBe(r.createdAt);
      }
      expect(page.messages.map((m) => m.seq)).toEqual(page.messages.map((_, i) => i + 1));
      const times = page.messages.map((m) => Date.parse(m.createdAt as string));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(await lastSeq(t, owner.token, ch.id)).toBe(first + mine.length - 1);
    }
    expect(await lastSeq(t, owner.token, closed.id)).toBe(0);
  });
  it('lets posts to other channels pass a batch that waits for a channel lock', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const [locked, free] = await Promise.all(['locked', 'free'].map((name) => createChannel(t, owner.token, { guildId, name, xType: 'general' })));
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') {
      // SQLite serialises every write through one file lock; there is no group commit to test.
      expect(database.postBatches).toBeUndefined();
      return;
    }
    const post = (ch: { id: string; guildId: string }, content: string) => insertMessageWithNextSeq(database, message(ch, owner.id, content), [], { memberId: owner.id });
    // Another transaction holds the channel's row lock until we let it go.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let lockTaken!: () => void;
    const taken = new Promise<void>((resolve) => (lockTaken = resolve));
    const holder = database.db.transaction().execute(async (trx) => {
      await sql`select id from channels where id = ${locked.id} for update`.execute(trx);
      lockTaken();
      await held;
    });
    await taken;
    // Enough posts to the locked channel to fill every batch slot: each waits for the lock.
    const waiting = [post(locked, 'w1'), post(locked, 'w2'), post(locked, 'w3')];
    let waitingDone = false;
    void Promise.all(waiting).then(() => (waitingDone = true));
    // Posts to the other channel still get through while the lock is held.
    const passed = await Promise.all([post(free, 'f1'), post(free, 'f2'), post(free, 'f3')]);
    expect(passed.map((r) => r!.seq).sort()).toEqual([1, 2, 3]);
    expect(waitingDone).toBe(false);
    release();
    await holder;
    expect((await Promise.all(waiting)).map((r) => r!.seq).sort()).toEqual([1, 2, 3]);
  });
  it('tries a post again when the database picks it as a deadlock victim', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'deadlock', xType: 'general' });
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') {
      expect(database.postBatches).toBeUndefined(); // SQLite queues writers on one lock: no deadlock to meet
      return;
    }
    // T writes many rows (so the database picks the post, the lighter transaction, as the
    // victim), locks the author's membership row, waits until the post holds the channel row
    // and waits for that membership row, then asks for the channel row: a deadlock.
    let lockedMembership!: () => void;
    const membershipLocked = new Promise<void>((resolve) => (lockedMembership = resolve));
    let postWaiting!: () => void;
    const waiting = new Promise<void>((resolve) => (postWaiting = resolve));
    await sql`create table deadlock_weight (n int)`.execute(database.db);
    const other = database.db.transaction().execute(async (trx) => {
      await sql`insert into deadlock_weight (n) select seq from messages union all select 1 from channel_members`.execute(trx);
      for (let i = 0; i < 5; i++) await sql`insert into deadlock_weight (n) select n from deadlock_weight`.execute(trx);
      await sql`update channel_members set joined_at = joined_at where channel_id = ${ch.id} and user_id = ${owner.id}`.execute(trx);
      lockedMembership();
      await waiting;
      await sql`update channels set name = name where id = ${ch.id}`.execute(trx);
    });
    await membershipLocked;
    const posted = insertMessageWithNextSeq(database, message(ch, owner.id, 'victim'), [], { memberId: owner.id });
    // The post is waiting for a lock once the server lists it as such.
    await untilALockWait(database.db);
    postWaiting();
    await other;
    expect((await posted)!.seq).toBe(1);
    expect((await list(t, owner.token, ch.id)).messages.map((x) => x.content)).toEqual(['victim']);
    await sql`drop table deadlock_weight`.execute(database.db);
  });
  it('answers a post that an earlier attempt already committed with what that attempt stored', async () => {
    // On MySQL a batch that fails after its COMMIT (the connection drops during the read-back)
    // is tried again; its posts then meet their own ids and must not be stored twice.
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'again', xType: 'general' });
    const { database } = t.node.ctx;
    const m = message(ch, owner.id, 'once');
    const first = await insertMessageWithNextSeq(database, m, [], { memberId: owner.id, alsoRead: candidates(ch.id) });
    const again = insertMessageWithNextSeq(database, m, [], { memberId: owner.id, alsoRead: candidates(ch.id) });
    if (database.dialect === 'mysql') expect(await again).toEqual(first);
    else await expect(again).rejects.toSatisfy(isDuplicateKeyError);
    expect(await lastSeq(t, owner.token, ch.id)).toBe(1);
    expect((await list(t, owner.token, ch.id)).messages.map((x) => x.content)).toEqual(['once']);
  });
  it('stores backslashes and quotes verbatim, even where the server reads backslashes literally', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'escapes', xType: 'general' });
    const content = String.raw`a \' b \\ c \" d'); select 1; -- e`;
    const post = async () => {
      const r = await t.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content } });
      expect(r.status).toBe(201);
      return r.body.message;
    };
    if (t.node.ctx.database.dialect !== 'mysql') {
      expect((await post()).content).toBe(content);
      return;
    }
    // mysql2 escapes with backslashes: a server in NO_BACKSLASH_ESCAPES mode must not be able
    // to read them otherwise. New connections take the global mode; the node turns it off.
    const { db } = t.node.ctx.database;
    const before = (await sql<{ m: string }>`select @@global.sql_mode as m`.execute(db)).rows[0].m;
    await sql`set global sql_mode = ${`${before},NO_BACKSLASH_ESCAPES`.replace(/^,/, '')}`.execute(db);
    try {
      const fresh = await openDatabaseLike(t);
      try {
        const modes = (await sql<{ m: string }>`select @@session.sql_mode as m`.execute(fresh.db)).rows[0].m;
        expect(modes).not.toContain('NO_BACKSLASH_ESCAPES');
      } finally {
        await fresh.destroy();
      }
    } finally {
      await sql`set global sql_mode = ${before}`.execute(db);
    }
    expect((await post()).content).toBe(content);
  });

  it('reads a batch back by message id, whatever the length of the channel log', async () => {
    const { database } = t.node.ctx;
    const { owner, guildId } = await seedGuild(t, 1);
    const channel = await createChannel(t, owner.token, { guildId, name: 'long-log', xType: 'general' });
    const posted = [];
    for (let i = 0; i < 60; i++) posted.push(await postOverHttp(t, owner.token, channel.id, `m${i}`));
    if (database.dialect !== 'mysql') return; // the read-back is MySQL's batch statement
    // The plan, not a timing: the event side of the join must be looked up through
    // channel_events_ref (one row per message), never through the channel's whole log.
    // A log and a message table much larger than the channels table, as in a running node.
    const base = Number(posted[posted.length - 1].seq);
    for (let k = 0; k < 4; k++) {
      const rows = Array.from(
        { length: 500 },
        (_, i) => sql`(${`b${k}-${i}-${channel.id.slice(0, 20)}`}, ${channel.id}, ${guildId}, ${base + 1 + k * 500 + i}, ${owner.id}, 'x', '[]', 1)`,
      );
      await sql`insert into messages (id, channel_id, guild_id, seq, author_id, content, mentions, created_at) values ${sql.join(rows)}`.execute(database.db);
    }
    await sql`analyze table messages, channels`.execute(database.db);
    const readBack = postReadBack(posted.slice(-15).map((m) => m.id as string));
    const plan = await database.db.executeQuery<{ table: string; key: string | null; type: string }>(CompiledQuery.raw(`explain ${readBack.sql}`, [...readBack.parameters]));
    const events = plan.rows.find((r) => r.table === 'e');
    expect(events).toMatchObject({ key: 'channel_events_ref', type: 'ref' });
    // The messages by their ids first, then each one's channel by its key: started from the
    // channels, the join reads every message of the batch's channels.
    expect(plan.rows.map((r) => r.table)).toEqual(['m', 'c', 'e']);
    expect(plan.rows.find((r) => r.table === 'm')).toMatchObject({ key: 'PRIMARY', type: 'range' });
    expect(plan.rows.find((r) => r.table === 'c')).toMatchObject({ key: 'PRIMARY', type: 'eq_ref' });
  });

  it('answers a batch that meets a lock held past the lock wait channel by channel: one more wait for the locked one, the others at once', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // SQLite: one writer, no row locks
    const { owner, guildId } = await seedGuild(t, 0);
    const [locked, free, other] = await Promise.all(['lw-locked', 'lw-free', 'lw-other'].map((name) => createChannel(t, owner.token, { guildId, name, xType: 'general' })));
    const { db } = database;
    const lockWaits = async () => Number((await sql<{ Value: string }>`show global status like 'Innodb_row_lock_waits'`.execute(db)).rows[0].Value);
    // New connections take the global lock wait: a second handle whose connections wait 1 s.
    const before = Number((await sql<{ v: number }>`select @@global.innodb_lock_wait_timeout as v`.execute(db)).rows[0].v);
    await sql`set global innodb_lock_wait_timeout = 1`.execute(db);
    const fresh = await openDatabaseLike(t);
    try {
      const holder = await heldTransaction(db, async (trx) => void (await sql`select id from channels where id = ${locked.id} for update`.execute(trx)));
      const waitsBefore = await lockWaits();
      // A gate holds the post slot, so that the five go out together behind it.
      const gate = insertMessageWithNextSeq(fresh, message(free, owner.id, 'gate'), [], { memberId: owner.id, alsoRead: { sql: 'select sleep(0.05)', parameters: [] } });
      const posts = [
        message(locked, owner.id, 'l1'),
        message(locked, owner.id, 'l2'),
        message(free, owner.id, 'f1'),
        message(other, owner.id, 'o1'),
        message(other, owner.id, 'o2'),
      ];
      const errors: unknown[] = [];
      const answers = posts.map((m) =>
        insertMessageWithNextSeq(fresh, m, [], { memberId: owner.id }).then(
          (r) => r?.seq,
          (err: { code?: string }) => (errors.push(err), err.code),
        ),
      );
      await gate;
      const got = await Promise.all(answers);
      const waits = (await lockWaits()) - waitsBefore;
      holder.release();
      await holder.done;
      expect(got).toEqual(['ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_WAIT_TIMEOUT', 2, 1, 2]);
      // The batch's wait and one more for the locked channel's posts, not one per halving.
      expect(waits).toBe(2);
      expect(await lastSeq(t, owner.token, locked.id)).toBe(0);
      // Over HTTP such a post is answered 503 db_unavailable (retry later), not 500.
      const answer = errorResponse(errors[0]);
      expect(answer.status).toBe(503);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('db_unavailable');
    } finally {
      await sql`set global innodb_lock_wait_timeout = ${before}`.execute(db);
      await fresh.destroy();
    }
  });
});
