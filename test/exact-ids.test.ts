/**
 * Ids compare exactly on both databases: on MySQL/MariaDB every table uses a NO PAD binary
 * collation (migration 2026120670), so an id sent with a trailing space names nothing. Before,
 * `"<id> "` found the rows of `<id>` on MySQL while the code went on with the id as sent: a
 * member removed that way kept its sockets in the private channel's room, got no channel.left
 * and stayed in the turn order.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, emitAck, recordEvents, seedGuild, startTestNode, TEST_DB, type TestNode } from './helpers/harness.js';
import { postMessage } from './helpers/messages.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

const padded = (id: string) => encodeURIComponent(`${id} `);

describe('ids with a trailing space', () => {
  it('name nobody: removing, demoting, or removing under a padded guild id is answered as for an unknown id and changes nothing', async () => {
    const g = await seedGuild(t, 2);
    const [member, admin] = g.members;
    expect((await t.api('PATCH', `/api/guilds/${g.guildId}/members/${admin.id}`, { token: g.owner.token, body: { role: 'admin' } })).status).toBe(200);
    const ch = await createChannel(t, g.owner.token, { guildId: g.guildId, name: 'secret', xType: 'discuss', memberUserIds: [member.id] });
    const socket = await t.socket(member.token);
    expect((await emitAck(socket, 'join_channel', { channelId: ch.id })).ok).toBe(true);
    const left = recordEvents(socket, 'channel.left');

    // Each is answered as for an id that names nobody, and changes nothing.
    const asFor = async (method: string, path: (id: string) => string, id: string, body?: unknown) => {
      const [withPadding, unknown] = [await t.api(method, path(padded(id)), { token: g.owner.token, body }), await t.api(method, path('nobody'), { token: g.owner.token, body })];
      expect([withPadding.status, withPadding.body?.error?.code]).toEqual([unknown.status, unknown.body?.error?.code]);
    };
    await asFor('DELETE', (id) => `/api/guilds/${g.guildId}/members/${id}`, member.id);
    await asFor('DELETE', (id) => `/api/channels/${ch.id}/members/${id}`, member.id);
    await asFor('PATCH', (id) => `/api/guilds/${g.guildId}/members/${id}`, admin.id, { role: 'member' });
    await asFor('DELETE', (id) => `/api/guilds/${id}/members/${member.id}`, g.guildId);

    const members = (await t.api('GET', `/api/guilds/${g.guildId}/members`, { token: g.owner.token })).body.members;
    expect(members.find((m: { userId: string }) => m.userId === admin.id).role).toBe('admin');
    const channelMembers = (await t.api('GET', `/api/channels/${ch.id}/members`, { token: g.owner.token })).body.members.map((m: { userId: string }) => m.userId);
    expect(channelMembers).toContain(member.id);
    expect((await t.api('GET', `/api/channels/${ch.id}/turn`, { token: g.owner.token })).body.turn.order).toContain(member.id);
    expect(left).toEqual([]);
  });

  it('make another clientMsgId: "k" and "k " are two posts', async () => {
    const g = await seedGuild(t, 1);
    const ch = await createChannel(t, g.owner.token, { guildId: g.guildId, name: 'keys', xType: 'general' });
    const first = await postMessage(t, g.owner.token, ch.id, { content: 'one', clientMsgId: 'k' });
    const second = await postMessage(t, g.owner.token, ch.id, { content: 'two', clientMsgId: 'k ' });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.message.id).not.toBe(first.body.message.id);
    expect(second.body.message.clientMsgId).toBe('k ');
  });
});

describe.runIf(TEST_DB === 'mysql')('the MySQL schema', () => {
  it('uses a NO PAD binary collation on every table and text column', async () => {
    const db = t.node.ctx.database.db;
    const tables = await sql<{ name: string; collation: string }>`
      select table_name as name, table_collation as collation from information_schema.tables where table_schema = database() and table_type = 'BASE TABLE'`.execute(db);
    expect(tables.rows.length).toBeGreaterThan(10);
    expect(tables.rows.filter((r) => !/^utf8mb4_(nopad_bin|0900_bin)$/.test(r.collation))).toEqual([]);
    const columns = await sql<{ name: string; collation: string }>`
      select concat(table_name, '.', column_name) as name, collation_name as collation from information_schema.columns
      where table_schema = database() and collation_name is not null`.execute(db);
    expect(columns.rows.filter((r) => !/^utf8mb4_(nopad_bin|0900_bin)$/.test(r.collation))).toEqual([]);
  });
});
