/**
 * The access policies handlers declare (lib/http/access-policy.ts), resolved against a real
 * database and Center: a table of policy × caller → what it answers (the standing it hands
 * over, or 404/403/409 as api.md "Who sees what" says), and which id each policy is about.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../lib/center/client.js';
import { HttpError } from '../lib/errors.js';
import * as channelAccess from '../lib/channels/channel-access-policies.js';
import * as fileAccess from '../lib/files/file-access-policy.js';
import * as guildAccess from '../lib/guilds/guild-access-policies.js';
import { channelReaders } from '../lib/guilds/standing.js';
import * as callerAccess from '../lib/http/access-policy.js';
import type { AccessPolicy } from '../lib/http/access-policy.js';
import * as messageAccess from '../lib/messages/message-access-policies.js';

const policies = { ...callerAccess, ...guildAccess, ...channelAccess, ...messageAccess, ...fileAccess };
import { createChannel, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';
import { insertMembers } from './helpers/messages.js';

type Caller = 'owner' | 'member' | 'channelMember' | 'outsider' | 'guildToken' | 'otherGuildToken' | 'none';
type Outcome = 'ok' | 401 | 403 | 404 | 409;

let t: TestNode;
const principals = {} as Record<Exclude<Caller, 'none'>, Principal>;
const ids = { guildId: '', openChannel: '', privateChannel: '', closedChannel: '', message: '', unknown: 'no-such-id' };

beforeAll(async () => {
  t = await startTestNode();
  const { owner, members, guildId } = await seedGuild(t, 2);
  const [member, channelMember] = members;
  const outsider = await t.centerApi.user('outsider');
  const other = await seedGuild(t, 0);
  ids.guildId = guildId;
  // Created by the guild token, so the owner reads them as a guild admin, not as a channel member.
  const guildToken = await t.centerApi.guildToken(guildId);
  ids.openChannel = (await createChannel(t, guildToken, { guildId, name: 'open', xType: 'general', isPublic: true, memberUserIds: [channelMember.id] })).id;
  ids.privateChannel = (await createChannel(t, guildToken, { guildId, name: 'private', xType: 'general', memberUserIds: [channelMember.id] })).id;
  ids.closedChannel = (await createChannel(t, guildToken, { guildId, name: 'closed', xType: 'general', memberUserIds: [channelMember.id] })).id;
  expect((await t.api('PATCH', `/api/channels/${ids.closedChannel}`, { token: guildToken, body: { closed: true } })).status).toBe(200);
  const posted = await t.api('POST', `/api/channels/${ids.openChannel}/messages`, { token: channelMember.token, body: { content: 'hello' } });
  ids.message = posted.body.message.id;
  const introspect = async (token: string) => (await t.node.ctx.center.introspect(token))!;
  principals.owner = await introspect(owner.token);
  principals.member = await introspect(member.token);
  principals.channelMember = await introspect(channelMember.token);
  principals.outsider = await introspect(outsider.token);
  principals.guildToken = await introspect(guildToken);
  principals.otherGuildToken = await introspect(await t.centerApi.guildToken(other.guildId));
}, 60_000);
afterAll(async () => t?.close());

/** What resolving `policy` for `caller` about `id` answers: 'ok' or the error's status. */
async function outcome(policy: AccessPolicy, caller: Caller, id: string): Promise<Outcome> {
  try {
    await policy.resolve(t.node.ctx, caller === 'none' ? null : principals[caller], id);
    return 'ok';
  } catch (err) {
    if (err instanceof HttpError) return err.status as Outcome;
    throw err;
  }
}

describe('channelReaders: the re-check of the joins of one channel together', () => {
  // After a restart every member of a large channel rejoins it at once, and the realtime node
  // re-checks those joins in one call: more users than one statement may bind on SQLite (32,766).
  it('answers as requireReadableChannel does for each principal, for any number of them', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [member, outsiderOfChannel] = members;
    const channel = await createChannel(t, owner.token, { guildId, name: 'large', xType: 'general', memberUserIds: [member.id] });
    const rejoining = Array.from({ length: 33_000 }, (_, i) => `rejoining-${i}`);
    await insertMembers(t.node.ctx.database.db, channel, rejoining);
    const introspect = async (token: string) => (await t.node.ctx.center.introspect(token))!;
    const cast = [await introspect(member.token), await introspect(outsiderOfChannel.token), principals.outsider, await introspect(await t.centerApi.guildToken(guildId))];
    const users = rejoining.map((userId): Principal => ({ kind: 'user', userId, name: '' }));
    const oks = await channelReaders(t.node.ctx.database.db, channel.id, [...cast, ...users]);
    expect(oks.slice(0, cast.length)).toEqual([true, false, false, true]);
    expect(oks.slice(cast.length).every((ok) => ok)).toBe(true);
  }, 60_000);
});

describe('access policies', () => {
  const table: [keyof typeof policies, keyof typeof ids, Partial<Record<Exclude<Caller, 'none'>, Outcome>>][] = [
    ['anyCaller', 'unknown', { owner: 'ok', outsider: 'ok', guildToken: 'ok' }],
    ['userOnly', 'unknown', { owner: 'ok', outsider: 'ok', guildToken: 403 }],
    ['guildMember', 'guildId', { owner: 'ok', member: 'ok', guildToken: 'ok', outsider: 404, otherGuildToken: 404 }],
    ['guildMember', 'unknown', { owner: 404, guildToken: 404 }],
    ['guildAdmin', 'guildId', { owner: 'ok', guildToken: 'ok', member: 403, outsider: 404 }],
    ['channelReader', 'openChannel', { owner: 'ok', member: 'ok', channelMember: 'ok', guildToken: 'ok', outsider: 404, otherGuildToken: 404 }],
    ['channelReader', 'privateChannel', { owner: 'ok', member: 404, channelMember: 'ok', guildToken: 'ok', outsider: 404 }],
    ['channelReader', 'unknown', { owner: 404 }],
    ['channelReaderUser', 'openChannel', { owner: 'ok', member: 'ok', guildToken: 403, outsider: 404 }],
    ['channelMemberUser', 'openChannel', { channelMember: 'ok', member: 403, owner: 403, guildToken: 403, outsider: 404 }],
    ['channelMemberOrGuildAdmin', 'openChannel', { channelMember: 'ok', owner: 'ok', guildToken: 'ok', member: 403, outsider: 404 }],
    ['channelAuthor', 'openChannel', { channelMember: 'ok', member: 403, guildToken: 403, outsider: 404 }],
    ['channelAuthor', 'closedChannel', { channelMember: 409, member: 404, owner: 403 }],
    ['channelAdmin', 'openChannel', { owner: 'ok', guildToken: 'ok', channelMember: 403, member: 403, outsider: 404 }],
    ['channelGuildAdmin', 'privateChannel', { owner: 'ok', guildToken: 'ok', channelMember: 403, member: 404 }],
    ['messageReader', 'message', { owner: 'ok', member: 'ok', channelMember: 'ok', guildToken: 'ok', outsider: 404 }],
    ['messageEditor', 'message', { channelMember: 'ok', owner: 403, guildToken: 403, outsider: 404 }],
    ['messageDeleter', 'message', { channelMember: 'ok', owner: 'ok', guildToken: 'ok', member: 403, outsider: 404 }],
    ['fileReader', 'unknown', { owner: 404, guildToken: 404 }],
  ];

  for (const [name, target, expected] of table) {
    it(`${name} on ${target}: ${JSON.stringify(expected)}`, async () => {
      const policy = policies[name] as AccessPolicy;
      const got: Record<string, Outcome> = {};
      for (const caller of Object.keys(expected) as Exclude<Caller, 'none'>[]) got[caller] = await outcome(policy, caller, ids[target]);
      expect(got).toEqual(expected);
    });
  }

  it('hands over what the endpoint needs: the guild standing, the channel view, the message, the narrowed principal', async () => {
    const standing = await policies.guildAdmin.resolve(t.node.ctx, principals.owner, ids.guildId);
    expect(standing.access).toMatchObject({ guildId: ids.guildId, role: 'owner', isGuildToken: false });
    const view = await policies.channelReader.resolve(t.node.ctx, principals.member, ids.openChannel);
    expect(view.access).toMatchObject({ channel: { id: ids.openChannel }, isMember: false, isGuildAdmin: false, canAdmin: false });
    const message = await policies.messageReader.resolve(t.node.ctx, principals.owner, ids.message);
    expect(message.access.row.id).toBe(ids.message);
    expect(message.access.view.channel.id).toBe(ids.openChannel);
    const user = await policies.userOnly.resolve(t.node.ctx, principals.member, '');
    expect(user.principal).toEqual(principals.member);
    expect((await policies.open.resolve(t.node.ctx, null, '')).principal).toBeNull();
  });

  it('names whether a token is needed and what each policy is about', () => {
    const all = (Object.values(policies) as unknown[]).filter((p): p is AccessPolicy => typeof p === 'object' && p !== null && 'resolve' in p);
    expect(all.filter((p) => !p.auth).map((p) => p.name)).toEqual(['open']);
    expect(Object.fromEntries(all.map((p) => [p.name, p.target ?? null]))).toEqual({
      open: null,
      'any-caller': null,
      'user-only': null,
      'guild-member': 'guildId',
      'guild-admin': 'guildId',
      'channel-reader': 'channelId',
      'channel-reader-user': 'channelId',
      'channel-member-user': 'channelId',
      'channel-member-or-guild-admin': 'channelId',
      'channel-author': 'channelId',
      'channel-admin': 'channelId',
      'channel-guild-admin': 'channelId',
      'message-reader': 'messageId',
      'message-editor': 'messageId',
      'message-deleter': 'messageId',
      'file-reader': 'fileId',
    });
    for (const p of all) expect(p.who.length, p.name).toBeGreaterThan(0);
  });
});
