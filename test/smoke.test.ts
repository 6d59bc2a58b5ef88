import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, emitAck, nextEvent, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

describe('smoke', () => {
  it('serves health and a guild with a channel, and delivers channel.joined', async () => {
    const h = await t.api('GET', '/api/health');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', nodeId: 'test-node' });
    const { owner, members, guildId } = await seedGuild(t, 1);
    const s = await t.socket(members[0].token);
    const joined = nextEvent(s, 'channel.joined');
    const ch = await createChannel(t, owner.token, { guildId, name: 'general', xType: 'general', memberUserIds: [members[0].id] });
    expect(await joined).toMatchObject({ channelId: ch.id, userId: members[0].id, xType: 'general' });
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const list = await t.api('GET', `/api/channels?guildId=${guildId}`, { token: members[0].token });
    expect(list.body.channels[0]).toMatchObject({ id: ch.id, memberCount: 2, isMember: true, lastSeq: 0 });
  });
});
