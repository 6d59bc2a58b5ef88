/**
 * The statements of a MySQL post batch are per batch, not per post or per channel
 * (lib/db/mysql-post-statements.ts): one seq bump over all the batch's channels checks each
 * channel's own authors, one insert stores the batch's messages, one insert per channel type
 * logs their events.
 * Whatever a batch holds, each post must get what it would get alone: its own answer (a
 * refused author among members), gapless seqs, event positions in seq order, and the delivery
 * a post alone logs. On SQLite the same calls run one transaction each; the answers are the same.
 */
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMessageWithNextSeq, lockChannel, type UnsequencedMessage } from '../lib/db/dialect.js';
import { removeChannelMemberships } from '../lib/channels/membership.js';
import { Outbox } from '../lib/realtime/outbox.js';
import { SESSION_SETTINGS } from '../lib/db/mysql.js';
import { batchStatements } from '../lib/db/mysql-post-statements.js';
import { isoTime } from '../lib/ids.js';
import { wakeDeliverySubquery } from '../lib/messages/wake-recipients.js';
import { createChannel, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';
import { heldTransaction, unsequencedMessage as message, untilALockWait } from './helpers/messages.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t?.close();
});

type Channel = { id: string; guildId: string; xType: string };

/** As the post path stores a plain post: author checked under the lock, unguarded channels only, its event logged. */
const post = (channel: Channel, m: UnsequencedMessage) =>
  insertMessageWithNextSeq(t.node.ctx.database, m, [], {
    memberId: m.author_id,
    unguardedOnly: true,
    event: { data: { id: m.id, content: m.content }, wake: wakeDeliverySubquery(channel.xType, t.node.ctx.database.dialect) },
  });

/**
 * The wake subquery as a post alone ran it before batches were built per channel (parameters,
 * the mapped members as a derived table): what every logged delivery must equal, byte for byte.
 */
function deliveryAlone(xType: string, channelId: string, authorId: string): Promise<string> {
  const mysql = t.node.ctx.database.dialect === 'mysql';
  const agg = (col: string, reason: string) =>
    mysql
      ? `json_object('wake', coalesce(json_arrayagg(${col}), json_array()), 'wakeReasons', coalesce(json_objectagg(${col}, '${reason}'), json_object()))`
      : `json_object('wake', json_group_array(${col}), 'wakeReasons', json_group_object(${col}, '${reason}'))`;
  const text =
    xType === 'general'
      ? `select ${agg('user_id', 'general')} from channel_members where channel_id = ? and user_id <> ?`
      : `select ${agg('w.user_id', xType === 'triage' ? 'on_duty' : 'listener')} from (select w.user_id from channel_wake_users w join channel_members m on m.channel_id = w.channel_id and m.user_id = w.user_id where w.channel_id = ?) w where w.user_id <> ?`;
  return t.node.ctx.database.db.executeQuery<{ d: string }>(CompiledQuery.raw(`select concat((${text})) as d`, [channelId, authorId])).then((r) => r.rows[0].d);
}

const lastPos = async (channelId: string) =>
  Number((await t.node.ctx.database.db.selectFrom('channels').select('last_pos').where('id', '=', channelId).executeTakeFirstOrThrow()).last_pos);

async function loggedPosts(channelId: string, fromPos: number) {
  const rows = await t.node.ctx.database.db
    .selectFrom('channel_events')
    .select(['pos', 'data', 'delivery', 'ref'])
    .where('channel_id', '=', channelId)
    .where('event', '=', 'message.created')
    .where('pos', '>', fromPos)
    .orderBy('pos')
    .execute();
  return rows.map((r) => ({ pos: Number(r.pos), data: JSON.parse(r.data) as { id: string; content: string; seq: number; createdAt: string }, delivery: r.delivery, ref: r.ref }));
}

/** Posts that keep every batch slot busy, so that what is submitted right after them waits and goes together. */
async function fillSlots(channel: Channel, authorId: string) {
  return Array.from({ length: 3 }, (_, i) => post(channel, message(channel, authorId, `filler ${i}`)));
}

describe('a post batch with several posts per channel', () => {
  it('stores the posts of every member author and refuses only the one who is not a member', async () => {
    const { owner, members, guildId } = await seedGuild(t, 4);
    const [a, b, c, outsider] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'many-authors', xType: 'general', memberUserIds: [a.id, b.id, c.id] });
    const filler = await createChannel(t, owner.token, { guildId, name: 'filler', xType: 'general' });
    const before = await lastPos(ch.id);
    const stats = t.node.ctx.database.postBatches?.stats();
    const fillers = await fillSlots(filler, owner.id);
    const authors = [a, b, owner, c, outsider, a, b, c, owner, a];
    const messages = authors.map((u, i) => message(ch, u.id, `post ${i}`));
    const answers = await Promise.all(messages.map((m) => post(ch, m)));
    await Promise.all(fillers);

    expect(answers[4]).toBeNull(); // the outsider: nothing stored
    const stored = messages.map((m, i) => ({ m, r: answers[i] })).filter((_, i) => i !== 4);
    // Gapless seqs, in arrival order within the channel.
    expect(stored.map(({ r }) => r!.seq)).toEqual(stored.map((_, i) => i + 1));
    // Event positions contiguous after the channel's earlier events, in seq order.
    expect(stored.map(({ r }) => r!.event?.pos)).toEqual(stored.map((_, i) => before + i + 1));
    const logged = await loggedPosts(ch.id, before);
    expect(logged.map((e) => e.ref)).toEqual(stored.map(({ m }) => m.id));
    for (const [i, { m, r }] of stored.entries()) {
      expect(logged[i].data).toEqual({ id: m.id, content: m.content, seq: r!.seq, createdAt: isoTime(r!.createdAt) });
      expect(logged[i].delivery).toBe(r!.event!.delivery);
      expect(logged[i].delivery).toBe(await deliveryAlone('general', ch.id, m.author_id));
    }
    const rows = await t.node.ctx.database.db.selectFrom('messages').select(['id', 'seq']).where('channel_id', '=', ch.id).orderBy('seq').execute();
    expect(rows.map((r) => r.id)).toEqual(stored.map(({ m }) => m.id));
    expect(await lastPos(ch.id)).toBe(before + stored.length);
    if (stats) {
      const after = t.node.ctx.database.postBatches!.stats();
      expect(after.posts - stats.posts).toBe(3 + stored.length);
      // The posts shared batches (the refused one cost a few halvings, never a refusal).
      expect(after.batches - stats.batches).toBeLessThan(3 + stored.length);
    }
  });

  it('logs the events of a batch over channels of several types as posts alone would', async () => {
    const { owner, members, guildId } = await seedGuild(t, 3);
    const [a, b, mapped] = members;
    const general = await createChannel(t, owner.token, { guildId, name: 'g', xType: 'general', memberUserIds: [a.id, b.id, mapped.id] });
    const triage = await createChannel(t, owner.token, { guildId, name: 't', xType: 'triage', memberUserIds: [a.id, b.id], wakeUserIds: [mapped.id, a.id] });
    const custom = await createChannel(t, owner.token, { guildId, name: 'c', xType: 'custom', memberUserIds: [a.id, b.id], wakeUserIds: [mapped.id, b.id] });
    const filler = await createChannel(t, owner.token, { guildId, name: 'filler', xType: 'general' });
    const channels = [general, triage, custom];
    const before = new Map(await Promise.all(channels.map(async (ch) => [ch.id, await lastPos(ch.id)] as const)));
    const fillers = await fillSlots(filler, owner.id);
    const authors = [a, b, owner, mapped];
    const posts = Array.from({ length: 18 }, (_, i) => {
      const ch = channels[i % 3];
      const author = ch === general ? authors[i % 4] : [a, b, owner][i % 3];
      return { ch, m: message(ch, author.id, `post ${i}`) };
    });
    const answers = await Promise.all(posts.map(({ ch, m }) => post(ch, m)));
    await Promise.all(fillers);

    for (const ch of channels) {
      const mine = posts.map((p, i) => ({ ...p, r: answers[i]! })).filter((p) => p.ch === ch);
      const start = before.get(ch.id)!;
      expect(mine.map(({ r }) => r.seq)).toEqual(mine.map((_, i) => i + 1));
      expect(mine.map(({ r }) => r.event?.pos)).toEqual(mine.map((_, i) => start + i + 1));
      const logged = await loggedPosts(ch.id, start);
      expect(logged.map((e) => e.ref)).toEqual(mine.map(({ m }) => m.id));
      expect(logged.map((e) => e.data.seq)).toEqual(mine.map(({ r }) => r.seq));
      for (const [i, { m, r }] of mine.entries()) {
        expect(logged[i].data).toEqual({ id: m.id, content: m.content, seq: r.seq, createdAt: isoTime(r.createdAt) });
        expect(logged[i].delivery).toBe(r.event!.delivery);
        expect(logged[i].delivery).toBe(await deliveryAlone(ch.xType, ch.id, m.author_id));
      }
      // Somebody is woken in each (the mapped member, unless the author), so the comparison means something.
      expect(JSON.parse(logged[0].delivery!).wake).toContain(mapped.id);
    }
  });

  it('refuses only the posts to a closed channel and of an author who is a member of another channel of the batch, not of theirs', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [a, b] = members;
    // a is a member of x but not of y; the owner, an author in x, is a member of y: counting
    // y's members among every author of the batch would let a's post to y through.
    const x = await createChannel(t, owner.token, { guildId, name: 'x', xType: 'general', memberUserIds: [a.id, b.id] });
    const y = await createChannel(t, owner.token, { guildId, name: 'y', xType: 'general', memberUserIds: [b.id] });
    const z = await createChannel(t, owner.token, { guildId, name: 'z', xType: 'general', memberUserIds: [a.id, b.id] });
    expect((await t.api('PATCH', `/api/channels/${z.id}`, { token: owner.token, body: { closed: true } })).status).toBe(200);
    const filler = await createChannel(t, owner.token, { guildId, name: 'filler', xType: 'general' });
    const before = new Map(await Promise.all([x, y].map(async (ch) => [ch.id, await lastPos(ch.id)] as const)));
    const stats = t.node.ctx.database.postBatches?.stats();
    const fillers = await fillSlots(filler, owner.id);
    const plan: [Channel, { id: string }, boolean][] = [
      [x, owner, true],
      [y, b, true],
      [y, a, false], // not a member of y
      [z, a, false], // closed
      [x, a, true],
      [y, b, true],
      [z, b, false], // closed
      [x, owner, true],
      [x, b, true],
    ];
    const posts = plan.map(([ch, u], i) => ({ ch, m: message(ch, u.id, `post ${i}`) }));
    const answers = await Promise.all(posts.map(({ ch, m }) => post(ch, m)));
    await Promise.all(fillers);

    expect(answers.map((r) => r !== null)).toEqual(plan.map(([, , ok]) => ok));
    for (const ch of [x, y]) {
      const mine = posts.map((p, i) => ({ ...p, r: answers[i]! })).filter((p, i) => p.ch === ch && plan[i][2]);
      const start = before.get(ch.id)!;
      expect(mine.map(({ r }) => r.seq)).toEqual(mine.map((_, i) => i + 1));
      expect(mine.map(({ r }) => r.event?.pos)).toEqual(mine.map((_, i) => start + i + 1));
      const rows = await t.node.ctx.database.db.selectFrom('messages').select(['id', 'seq']).where('channel_id', '=', ch.id).orderBy('seq').execute();
      expect(rows.map((r) => [r.id, Number(r.seq)])).toEqual(mine.map(({ m, r }) => [m.id, r.seq]));
      const logged = await loggedPosts(ch.id, start);
      expect(logged.map((e) => e.ref)).toEqual(mine.map(({ m }) => m.id));
      expect(await lastPos(ch.id)).toBe(start + mine.length);
    }
    const closedRows = await t.node.ctx.database.db.selectFrom('messages').select('id').where('channel_id', '=', z.id).execute();
    expect(closedRows).toEqual([]);
    if (stats) {
      const after = t.node.ctx.database.postBatches!.stats();
      expect(after.posts - stats.posts).toBe(3 + 6);
      expect(after.batches - stats.batches).toBeLessThan(3 + 6);
    }
  });

  it('sees a removal that commits while the batch waits for the channel lock, in the authors and in the wake set', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // SQLite: one writer at a time, nothing waits inside a transaction
    const { owner, members, guildId } = await seedGuild(t, 3);
    const [a, b, c] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'removed', xType: 'general', memberUserIds: [a.id, b.id, c.id] });
    // A membership change: takes the channel lock, removes b and c, commits when we let it.
    const removal = await heldTransaction(database.db, async (trx) => {
      await sql`select id from channels where id = ${ch.id} for update`.execute(trx);
      await sql`delete from channel_members where channel_id = ${ch.id} and user_id in (${b.id}, ${c.id})`.execute(trx);
    });
    const authors = [a, b, a, a, b, a];
    const messages = authors.map((u, i) => message(ch, u.id, `post ${i}`));
    const answers = Promise.all(messages.map((m) => post(ch, m)));
    await untilALockWait(database.db);
    removal.release();
    await removal.done;
    const results = await answers;
    expect(results.map((r) => r === null)).toEqual(authors.map((u) => u === b));
    const stored = results.filter((r) => r !== null);
    expect(stored.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    for (const r of stored) expect(JSON.parse(r.event!.delivery!)).toEqual({ wake: [owner.id], wakeReasons: { [owner.id]: 'general' } });
  });

  it('checks an author stored before by the members version: a removal refuses the removed author while the batch waits for the lock, and the others post on', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // the version check is the MySQL batches'
    const { owner, members, guildId } = await seedGuild(t, 3);
    const [a, b, c] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'versioned', xType: 'general', memberUserIds: [a.id, b.id, c.id] });
    const version = async () => Number((await database.db.selectFrom('channels').select('members_version').where('id', '=', ch.id).executeTakeFirstOrThrow()).members_version);
    const before = await version();
    // Stored once each: the batches now check a and b by the channel's members version.
    for (const u of [a, b]) expect(await post(ch, message(ch, u.id, `first of ${u.id}`))).not.toBeNull();

    // c leaves: the version moves on, and a, checked against the member rows once more, posts on.
    await database.db.transaction().execute(async (trx) => {
      await lockChannel(trx, database.dialect, ch.id);
      await removeChannelMemberships(trx, t.node.ctx, new Outbox(), [ch.id], c.id, owner.id);
    });
    expect(await version()).toBe(before + 1);
    expect((await post(ch, message(ch, a.id, 'after c left')))?.seq).toBe(3);

    // b is removed by a transaction that holds the channel lock while a batch of a's and b's
    // posts (both known by version) waits for it.
    const removal = await heldTransaction(database.db, async (trx) => {
      await lockChannel(trx, database.dialect, ch.id);
      await removeChannelMemberships(trx, t.node.ctx, new Outbox(), [ch.id], b.id, owner.id);
    });
    const authors = [a, b, a, b, a];
    const answers = Promise.all(authors.map((u, i) => post(ch, message(ch, u.id, `racing ${i}`))));
    await untilALockWait(database.db);
    removal.release();
    await removal.done;
    const results = await answers;
    expect(results.map((r) => r === null)).toEqual(authors.map((u) => u === b));
    expect(results.filter((r) => r !== null).map((r) => r.seq)).toEqual([4, 5, 6]);
    expect(await version()).toBe(before + 2);
    // b stays refused; a posts on.
    expect(await post(ch, message(ch, b.id, 'after removal'))).toBeNull();
    expect((await post(ch, message(ch, a.id, 'still here')))?.seq).toBe(7);
  });

  it('logs the events of a batch by message id, never by a scan of the messages', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // the event insert is MySQL's batch statement
    const { owner, members, guildId } = await seedGuild(t, 2);
    const channels = [
      await createChannel(t, owner.token, { guildId, name: 'plan-g', xType: 'general', memberUserIds: [members[0].id] }),
      await createChannel(t, owner.token, { guildId, name: 'plan-t', xType: 'triage', memberUserIds: [members[0].id], wakeUserIds: [members[1].id] }),
    ];
    for (const ch of channels) {
      const posts = [owner, members[0], owner].map((u) => ({
        message: message(ch, u.id, 'x'),
        memberId: u.id,
        unguardedOnly: true,
        event: { data: '{}', wake: wakeDeliverySubquery(ch.xType, 'mysql') },
      }));
      const statements = batchStatements(posts);
      const insert = statements[statements.length - 1];
      expect(insert.sql).toMatch(/^insert into channel_events/);
      // The plan, not a timing: an INSERT … SELECT locks what it reads, so each message must be
      // found by its primary key from the batch's rows.
      const plan = await database.db.executeQuery<{ table: string; key: string | null; type: string }>(CompiledQuery.raw(`explain ${insert.sql}`, [...insert.parameters]));
      expect(plan.rows.find((r) => r.table === 'pm')).toMatchObject({ key: 'PRIMARY', type: 'eq_ref' });
      expect(plan.rows.find((r) => r.table === 'pc')).toMatchObject({ key: 'PRIMARY', type: 'eq_ref' });
    }
  });

  it('takes the seqs of a batch over several channels with one bump by primary key and stores its messages without a scan', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // the bump and the message insert are MySQL's batch statements
    const { owner, members, guildId } = await seedGuild(t, 1);
    const one = await createChannel(t, owner.token, { guildId, name: 'plan-1', xType: 'general', memberUserIds: [members[0].id] });
    const two = await createChannel(t, owner.token, { guildId, name: 'plan-2', xType: 'general' });
    const [low, high] = [one, two].sort((p, q) => (p.id < q.id ? -1 : 1));
    const posts = [
      [low, owner],
      [low, members[0]],
      [high, owner],
    ].map(([ch, u]) => ({
      message: message(ch as Channel, (u as { id: string }).id, 'x'),
      memberId: (u as { id: string }).id,
      unguardedOnly: true,
      event: { data: '{}', wake: wakeDeliverySubquery((ch as Channel).xType, 'mysql') },
    }));
    const statements = batchStatements(posts);
    const bumps = statements.filter((s) => s.sql.startsWith('update channels'));
    expect(bumps).toHaveLength(1);
    const inserts = statements.filter((s) => s.sql.startsWith('insert into messages'));
    expect(inserts).toHaveLength(1);
    type Plan = { table: string; key: string | null; type: string };
    const explain = async (s: { sql: string; parameters: readonly unknown[] }) =>
      (await database.db.executeQuery<Plan>(CompiledQuery.raw(`explain ${s.sql}`, [...s.parameters]))).rows;
    // The plans, not a timing: the bump locks the channel rows it reads, so it must read them
    // by the primary key (in ascending order), never scan the table.
    const bump = await explain(bumps[0]);
    expect(bump.find((r) => r.table === 'channels')).toMatchObject({ key: 'PRIMARY', type: 'range' });
    // An INSERT … SELECT locks what it reads: the batch's rows drive, each channel found by its primary key.
    const insert = await explain(inserts[0]);
    expect(insert.find((r) => r.table === 'c')).toMatchObject({ key: 'PRIMARY', type: 'eq_ref' });
    expect(insert.filter((r) => r.table === 'messages' || r.table === 'channels')).toEqual([]);
    // And the statements store what posts alone would: seqs 1, 2 in the first channel, 1 in the second.
    await database.db.connection().execute(async (conn) => {
      await sql`start transaction`.execute(conn);
      for (const s of statements) await conn.executeQuery(CompiledQuery.raw(s.sql, [...s.parameters]));
      const rows = await conn.selectFrom('messages').select(['id', 'seq']).where('channel_id', 'in', [low.id, high.id]).orderBy('channel_id').orderBy('seq').execute();
      expect(rows.map((r) => [r.id, Number(r.seq)])).toEqual(posts.map((p, i) => [p.message.id, i < 2 ? i + 1 : 1]));
      await sql`rollback`.execute(conn);
    });
  });

  it("checks each channel's own authors in the one bump, never an author of another channel", async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // the one bump over several channels is MySQL's batch statement
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [a, b] = members;
    // a is a member of x only; the owner, who posts in x, is a member of y too.
    const x = await createChannel(t, owner.token, { guildId, name: 'own-x', xType: 'general', memberUserIds: [a.id, b.id] });
    const y = await createChannel(t, owner.token, { guildId, name: 'own-y', xType: 'general', memberUserIds: [b.id] });
    const run = (authors: [Channel, string][]) => {
      const posts = authors
        .map(([ch, author]) => ({ message: message(ch, author, 'x'), memberId: author, unguardedOnly: true }))
        .sort((p, q) => (p.message.channel_id < q.message.channel_id ? -1 : p.message.channel_id > q.message.channel_id ? 1 : 0));
      return database.db.connection().execute(async (conn) => {
        await sql`start transaction`.execute(conn);
        try {
          for (const s of batchStatements(posts)) await conn.executeQuery(CompiledQuery.raw(s.sql, [...s.parameters]));
          return 'stored';
        } catch (err) {
          return (err as { code?: string }).code;
        } finally {
          await sql`rollback`.execute(conn);
        }
      });
    };
    expect(
      await run([
        [x, owner.id],
        [y, b.id],
        [y, owner.id],
      ]),
    ).toBe('stored');
    expect(
      await run([
        [x, owner.id],
        [y, b.id],
        [y, a.id],
      ]),
    ).toBe('ER_BAD_NULL_ERROR');
    expect(
      await run([
        [x, owner.id],
        [y, a.id],
      ]),
    ).toBe('ER_BAD_NULL_ERROR');
    expect(
      await run([
        [x, a.id],
        [y, owner.id],
      ]),
    ).toBe('stored');
  });

  it('keeps the seqs of a channel in batch order when its posts ask for different conditions', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // several bumps in one transaction: MySQL's batch statements
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [a] = members;
    const x = await createChannel(t, owner.token, { guildId, name: 'mixed-x', xType: 'general', memberUserIds: [a.id] });
    const y = await createChannel(t, owner.token, { guildId, name: 'mixed-y', xType: 'general', memberUserIds: [a.id] });
    const [low, high] = [x, y].sort((p, q) => (p.id < q.id ? -1 : 1));
    const logged = (ch: Channel) => ({ data: '{}', wake: wakeDeliverySubquery(ch.xType, 'mysql') });
    // Logged and checked, then neither, then logged again, in one channel; then the other.
    const posts = [
      { message: message(low, a.id, '1'), memberId: a.id, unguardedOnly: true, event: logged(low) },
      { message: message(low, owner.id, '2') },
      { message: message(low, a.id, '3'), memberId: a.id, unguardedOnly: true, event: logged(low) },
      { message: message(high, owner.id, '1') },
      { message: message(high, a.id, '2'), memberId: a.id, unguardedOnly: true, event: logged(high) },
    ];
    const statements = batchStatements(posts);
    // In channel order: low (logged), low and high (neither), high (logged).
    expect(statements.filter((s) => s.sql.startsWith('update channels'))).toHaveLength(3);
    const startPos = new Map([
      [low.id, await lastPos(low.id)],
      [high.id, await lastPos(high.id)],
    ]);
    await database.db.connection().execute(async (conn) => {
      await sql`start transaction`.execute(conn);
      try {
        for (const s of statements) await conn.executeQuery(CompiledQuery.raw(s.sql, [...s.parameters]));
        for (const ch of [low, high]) {
          const mine = posts.filter((p) => p.message.channel_id === ch.id);
          const rows = await conn.selectFrom('messages').select(['id', 'seq']).where('channel_id', '=', ch.id).orderBy('seq').execute();
          expect(rows.map((r) => [r.id, Number(r.seq)])).toEqual(mine.map((p, i) => [p.message.id, i + 1]));
          const events = await conn
            .selectFrom('channel_events')
            .select(['ref', 'pos'])
            .where('channel_id', '=', ch.id)
            .where('pos', '>', startPos.get(ch.id)!)
            .orderBy('pos')
            .execute();
          expect(events.map((e) => [e.ref, Number(e.pos)])).toEqual(mine.filter((p) => p.event).map((p, i) => [p.message.id, startPos.get(ch.id)! + i + 1]));
        }
      } finally {
        await sql`rollback`.execute(conn);
      }
    });
  });

  it('keeps strict mode and UTC on every connection, so a NULL seq in a multi-row insert fails', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // SQLite: one post per transaction, no multi-row insert
    // Whatever the server's default sql_mode, the node's connections turn strict mode on.
    await database.db.connection().execute(async (conn) => {
      await sql.raw(`set session sql_mode = ''`).execute(conn);
      await sql.raw(SESSION_SETTINGS).execute(conn);
      expect((await sql<{ m: string }>`select @@session.sql_mode as m`.execute(conn)).rows[0].m).toContain('STRICT_TRANS_TABLES');
      // And UTC, so that unix_timestamp(now(3)) stamps posts without a daylight-saving hour to misread.
      await sql.raw(`set session time_zone = '+05:00'`).execute(conn);
      await sql.raw(SESSION_SETTINGS).execute(conn);
      expect((await sql<{ z: string }>`select @@session.time_zone as z`.execute(conn)).rows[0].z).toBe('+00:00');
      await sql`create temporary table fx_null_seq (seq bigint not null)`.execute(conn);
      await sql`set @fx_seq = null`.execute(conn);
      await expect(sql`insert into fx_null_seq (seq) values (1), (@fx_seq + 1)`.execute(conn)).rejects.toMatchObject({ code: 'ER_BAD_NULL_ERROR' });
      await sql`drop temporary table fx_null_seq`.execute(conn);
    });
  });
});
