/**
 * What the delivery suites share (realtime.md "Order and once"): a raw socket.io follower that
 * records a channel stream as the node sent it, writers in a channel, and the checks that
 * every subscriber got each position once and in order.
 */
import { io as ioClient, type Socket } from 'socket.io-client';
import { expect } from 'vitest';
import { createChannel, emitAck, sleep, waitFor, type RestFixture, type TestUser } from './harness.js';
import { expectExactStream, lastPos, type SdkClient } from './sdk.js';
import { seedWorld } from './world.js';

/**
 * The wire: a raw socket that joins one channel with `since` on every (re)connect and records
 * the `message.created` frames in arrival order. It never rejoins on a gap: what it records is
 * what the node sent of itself.
 */
export function wireFollower(url: string, token: string, channelId: string) {
  const got: { pos: number; seq: number }[] = [];
  let last = 0;
  let connects = 0;
  const socket: Socket = ioClient(`${url}/realtime`, { auth: { token }, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 500, forceNew: true });
  socket.on('message.created', (m: { pos: number; seq: number }) => {
    got.push({ pos: m.pos, seq: m.seq });
    last = Math.max(last, m.pos);
  });
  const joined = new Promise<void>((resolve, reject) => {
    socket.on('connect', () => {
      connects++;
      void emitAck<any>(socket, 'join_channel', { channelId, since: last }).then((ack) => {
        if (!ack.ok || ack.resync) reject(new Error(`join failed: ${JSON.stringify(ack)}`));
        else resolve();
      });
    });
  });
  return { socket, got, joined, last: () => last, connects: () => connects };
}
export type WireFollower = ReturnType<typeof wireFollower>;

/** What a subscriber lost, got twice, or got after a higher position, of positions 1..head. */
export function deliveryCounts(positions: readonly number[], head: number) {
  const seen = new Set<number>();
  let duplicated = 0;
  let outOfOrder = 0;
  let max = 0;
  for (const pos of positions) {
    if (seen.has(pos)) duplicated++;
    else if (pos < max) outOfOrder++;
    seen.add(pos);
    max = Math.max(max, pos);
  }
  let lost = 0;
  for (let pos = 1; pos <= head; pos++) if (!seen.has(pos)) lost++;
  return { lost, duplicated, outOfOrder };
}

/** Asserts that the wire follower got exactly positions 1..head, in arrival order, with seqs increasing. */
export function expectExactWire(who: string, got: { pos: number; seq: number }[], head: number) {
  expect(
    deliveryCounts(
      got.map((e) => e.pos),
      head,
    ),
    `${who}: nothing lost, duplicated or out of order`,
  ).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  expect(
    got.map((e) => e.pos),
    `${who}: every position once, in order, as sent`,
  ).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  expect(
    got.map((e) => e.seq),
    `${who}: seqs in order`,
  ).toEqual(got.map((e) => e.seq).sort((a, b) => a - b));
}

/** Waits until every subscriber has reached `head`, then checks each stream. */
export async function expectEverySubscriber(head: number, sdk: SdkClient[], wire: WireFollower[] = []) {
  await waitFor('every event at every subscriber', async () => (sdk.every((s) => lastPos(s) >= head) && wire.every((f) => f.last() >= head) ? true : undefined), 30_000);
  // A duplicate on the wire would come right behind: give it the chance to show.
  await sleep(300);
  sdk.forEach((s, i) => {
    expect(
      deliveryCounts(
        s.seen.map((d) => d.message.pos ?? 0),
        head,
      ),
      `SDK subscriber ${i}: nothing lost, duplicated or out of order`,
    ).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
    expectExactStream(`SDK subscriber ${i}`, s.seen, head);
    expect(s.resyncs, `SDK subscriber ${i}: no REST paging`).toEqual([]);
  });
  wire.forEach((f, i) => expectExactWire(`wire subscriber ${i}`, f.got, head));
}

/** A guild (seedWorld) with `count` writers, all members of a fresh general channel. */
export async function writersIn(node: RestFixture, count: number) {
  const w = await seedWorld(node);
  const writers: TestUser[] = [w.m1, w.m2, w.m3, w.admin];
  for (let i = writers.length; i < count; i++) {
    const u = await node.centerApi.user('writer');
    await node.api('POST', `/api/guilds/${w.guildId}/members`, { token: w.owner.token, body: { userIds: [u.id] } });
    writers.push(u);
  }
  const ch = await createChannel(node, w.owner.token, { guildId: w.guildId, name: 'load', xType: 'general', memberUserIds: writers.map((x) => x.id) });
  return { w, writers: writers.slice(0, count), ch };
}

/** The channel stream's last position (`eventPos`), read through REST. */
export const streamHead = async (node: RestFixture, channelId: string, token: string) =>
  (await node.api('GET', `/api/channels/${channelId}`, { token })).body.channel.eventPos as number;
