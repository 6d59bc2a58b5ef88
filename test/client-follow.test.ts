/**
 * How the client SDK follows channels against the real node: joins the node refuses for a
 * while, channels it is added to (live, or while away) and their first messages, and leaves
 * that overtake a join in flight. Real HTTP and socket.io; what a client sees is what the SDK
 * delivered.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, seedGuild, sleep, startTestNode, type TestNode } from './helpers/harness.js';
import { post } from './helpers/messages.js';
import { closeClients, sdkClient, sdkSubscriber, WAIT } from './helpers/sdk.js';

/** The default node. */
let t: TestNode;
/** A node that allows 3 client events per socket and 10 s (over 3 a join is refused with rate_limited). */
let strict: TestNode;
beforeAll(async () => {
  [t, strict] = await Promise.all([startTestNode(), startTestNode({ env: { FABRIC_BACKEND_GUILD_SOCKET_EVENTS_PER_10S: '3' } })]);
}, 60_000);
afterAll(async () => Promise.all([t?.close(), strict?.close()]));
afterEach(closeClients);

describe('FabricClient: a join the node refuses for a while', () => {
  it('is tried again after rate_limited, once the window is over, and the channel is followed', async () => {
    const { owner, members, guildId } = await seedGuild(strict, 1);
    const [agent] = members;
    const chans = [];
    for (let i = 0; i < 4; i++) chans.push(await createChannel(strict, owner.token, { guildId, name: `c${i}`, xType: 'general', memberUserIds: [agent.id] }));
    const s = sdkClient(strict.url, agent);
    const errors: string[] = [];
    s.c.onError((e) => void errors.push((e as Error & { code?: string }).code ?? e.message));
    await s.c.connect();
    expect(errors).toEqual(['rate_limited']);
    // Four joins against a budget of three: one is refused (reported), and sent again after the window.
    await sleep(11_000);
    for (const ch of chans) await post(strict, owner.token, ch.id, `to ${ch.name}`);
    await expect.poll(() => s.seen.map((d) => d.message.content).sort(), WAIT).toEqual(chans.map((c) => `to ${c.name}`));
    expect(s.c.connected).toBe(true);
    expect(s.reconnects).toEqual([false]);
  }, 40_000);
});
