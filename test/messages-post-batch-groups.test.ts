/**
 * The statements of a MySQL post batch are per channel, not per post
 * (lib/db/mysql-post-statements.ts): one seq bump checks every author of a channel's posts at
 * once, one insert stores the batch's messages, one insert per channel type logs their events.
 * Whatever a batch holds, each post must get what it would get alone: its own answer (a
 * refused author among members), gapless seqs, event positions in seq order, and the delivery
 * a post alone logs. On SQLite the same calls run one transaction each; the answers are the same.
 */
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMessageWithNextSeq, type UnsequencedMessage } from '../lib/db/dialect.js';
import { SESSION_SQL_MODE } from '../lib/db/mysql.js';
import { batchStatements } from '../lib/db/mysql-post-statements.js';
import { isoTime, newId } from '../lib/ids.js';
import { wakeDeliverySubquery } from '../lib/messages/wake-recipients.js';
import { createChannel, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t?.close();
});

type Channel = { id: string; guildId: string; xType: string };

function message(channel: Channel, authorId: string, content: string): UnsequencedMessage {
  return {
    id: newId(),
    channel_id: channel.id,
    guild_id: channel.guildId,
    author_id: authorId,
    content,
    reply_to_id: null,
    mentions: '[]',
    client_msg_id: null,
    edited_at: null,
    deleted_at: null,
  };
}

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

  it('sees a removal that commits while the batch waits for the channel lock, in the authors and in the wake set', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // SQLite: one writer at a time, nothing waits inside a transaction
    const { owner, members, guildId } = await seedGuild(t, 3);
    const [a, b, c] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'removed', xType: 'general', memberUserIds: [a.id, b.id, c.id] });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let lockTaken!: () => void;
    const taken = new Promise<void>((resolve) => (lockTaken = resolve));
    // A membership change: takes the channel lock, removes b and c, commits when we let it.
    const removal = database.db.transaction().execute(async (trx) => {
      await sql`select id from channels where id = ${ch.id} for update`.execute(trx);
      await sql`delete from channel_members where channel_id = ${ch.id} and user_id in (${b.id}, ${c.id})`.execute(trx);
      lockTaken();
      await held;
    });
    await taken;
    const authors = [a, b, a, a, b, a];
    const messages = authors.map((u, i) => message(ch, u.id, `post ${i}`));
    const answers = Promise.all(messages.map((m) => post(ch, m)));
    for (let i = 0; i < 200; i++) {
      const w = await sql<{ n: number }>`select count(*) as n from information_schema.innodb_lock_waits`.execute(database.db);
      if (Number(w.rows[0].n) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    release();
    await removal;
    const results = await answers;
    expect(results.map((r) => r === null)).toEqual(authors.map((u) => u === b));
    const stored = results.filter((r) => r !== null);
    expect(stored.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    for (const r of stored) expect(JSON.parse(r.event!.delivery!)).toEqual({ wake: [owner.id], wakeReasons: { [owner.id]: 'general' } });
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

  it('keeps strict mode on every connection, so a NULL seq in a multi-row insert fails', async () => {
    const { database } = t.node.ctx;
    if (database.dialect !== 'mysql') return; // SQLite: one post per transaction, no multi-row insert
    // Whatever the server's default sql_mode, the node's connections turn strict mode on.
    await database.db.connection().execute(async (conn) => {
      await sql.raw(`set session sql_mode = ''`).execute(conn);
      await sql.raw(SESSION_SQL_MODE).execute(conn);
      expect((await sql<{ m: string }>`select @@session.sql_mode as m`.execute(conn)).rows[0].m).toContain('STRICT_TRANS_TABLES');
      await sql`create temporary table fx_null_seq (seq bigint not null)`.execute(conn);
      await sql`set @fx_seq = null`.execute(conn);
      await expect(sql`insert into fx_null_seq (seq) values (1), (@fx_seq + 1)`.execute(conn)).rejects.toMatchObject({ code: 'ER_BAD_NULL_ERROR' });
      await sql`drop temporary table fx_null_seq`.execute(conn);
    });
  });
});
