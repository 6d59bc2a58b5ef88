/**
 * `npm run bench -- --mode recovery`: seconds from a kill -9 of the node to the moment every
 * subscriber has received every event posted before and during the outage, by the SDK's own
 * resume (lib/client: reconnect, join from the last position, replay from the event log). The
 * subscribers and the posters are SDK clients. All-in-one, or (`--split-shape`) split with
 * the realtime process as the one killed: the SDK's socket goes to its URL (`realtimeUrl`).
 */
import { FabricClient, FabricRest, newClientMsgId } from '../../lib/client/index.js';
import { deliveryIntegrity } from '../bench-integrity.js';
import { int, intList, progress, progressDone, values } from './options.js';
import { median, round, seqIntegrity, sleep } from './loops.js';
import { seed } from './seed.js';
import { startTarget } from './target.js';

interface RoundResult {
  /** From the kill to /api/ready answering again. */
  readySeconds: number;
  /** From the kill to the last subscriber's reconnect (its `connected` with reconnect: true). */
  reconnectedSeconds: number;
  /** From the kill to the moment every subscriber had reconnected and had every post begun before the node was ready again. */
  caughtUpSeconds: number;
  /** Posts begun between the kill and the node being ready again (retried by the SDK until it was). */
  postedDuringOutage: number;
  /** Subscribers that had not caught up when the round ended (none, or the figure is a lower bound). */
  behind: number;
}

export async function runRecovery(): Promise<void> {
  const subscribers = int('subscribers-total', 100, 1, 5000);
  const channels = int('channels', 10, 1, 1000);
  const rate = int('rate', 50, 1, 2000);
  const before = int('before', 3, 1, 300);
  const after = int('after', 3, 1, 300);
  const rounds = int('rounds', 3, 1, 20);
  const [backoffBase, backoffMax] = intList('backoff', [250, 10_000], 10, 60_000);
  const split = values['split-shape'] === true;
  const target = await startTarget({ pool: int('pool', 10, 1, 200), apiProcesses: split ? int('api-procs', 2, 1, 16) : 0 });
  // All-in-one: the node; split: the realtime process (started first).
  const node = target.processes[0];
  const clients: FabricClient[] = [];
  const results: RoundResult[] = [];
  let integrity: { lost: number; duplicated: number; outOfOrder: number };
  let seq: { duplicates: number; gaps: number };
  let postErrors = 0;
  try {
    progress(`recovery: seeding ${subscribers + 1} users, ${channels} channels`);
    // User 0 owns the guild, is in every channel and posts; users 1..N subscribe, each to channel i % M.
    const seeded = await seed(target, { users: subscribers + 1, channels });
    const channelIndex = new Map(seeded.channels.map((ch, i) => [ch.id, i]));
    const channelOfUser = (u: number) => seeded.channels[u % channels].id;
    // Per subscriber: the seqs of its channel received, in order, and when.
    const received: number[][] = Array.from({ length: subscribers }, () => []);
    const receivedAt: Map<number, number>[] = Array.from({ length: subscribers }, () => new Map());
    const reconnectedAt: number[] = new Array(subscribers).fill(0);
    progress(`recovery: connecting ${subscribers} SDK subscribers`);
    for (let i = 0; i < subscribers; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, subscribers - i) }, async (_, j) => {
          const s = i + j;
          const user = seeded.users[s + 1];
          const c = new FabricClient({
            url: target.url,
            realtimeUrl: target.realtimeUrl,
            token: user.token,
            userId: user.id,
            backoff: { baseMs: backoffBase, maxMs: backoffMax, factor: 2 },
          });
          c.onMessage((m) => {
            if (m.channelId !== channelOfUser(s + 1)) return;
            received[s].push(m.seq);
            receivedAt[s].set(m.seq, Date.now());
          });
          c.onConnected(({ reconnect }) => {
            if (reconnect) reconnectedAt[s] = Date.now();
          });
          c.onError(() => undefined);
          clients[s] = c;
          await c.connect();
        }),
      );
    }
    // Posters: SDK REST with clientMsgId and retries, paced at --rate over all channels.
    const rest = new FabricRest({ url: target.url, token: seeded.users[0].token, retry: { maxAttempts: 30, backoff: { baseMs: 100, maxMs: 1000, factor: 2 } } });
    const posted = new Map<string, number[]>(seeded.channels.map((ch) => [ch.id, []]));
    /** Per post: its channel, seq and when it was begun. */
    const posts: { channel: number; seq: number; begunAt: number }[] = [];
    let posting = true;
    let n = 0;
    const loops = 8;
    const poster = Promise.all(
      Array.from({ length: loops }, async (_, loop) => {
        const start = Date.now();
        for (let k = 0; posting; k++) {
          const due = start + (k * loops * 1000) / rate;
          if (due > Date.now()) await sleep(due - Date.now());
          if (!posting) break;
          const ch = seeded.channels[(n++ * 7 + loop) % channels];
          const begunAt = Date.now();
          try {
            const r = await rest.post(ch.id, { content: `recovery:${begunAt}`, clientMsgId: newClientMsgId() });
            if (r.message) {
              posted.get(ch.id)!.push(r.message.seq);
              posts.push({ channel: channelIndex.get(ch.id)!, seq: r.message.seq, begunAt });
            }
          } catch (err) {
            postErrors++;
            if (postErrors <= 3) console.error(`\nrecovery: post failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }),
    );
    for (let r = 0; r < rounds; r++) {
      progress(`recovery round ${r + 1}/${rounds}: posting ${before}s`);
      await sleep(before * 1000);
      progress(`recovery round ${r + 1}/${rounds}: kill -9, restart`);
      const killedAt = Date.now();
      await node.kill9();
      await node.restart();
      const readyAt = Date.now();
      progress(`recovery round ${r + 1}/${rounds}: posting ${after}s`);
      await sleep(after * 1000);
      // Everything begun before the node was ready again must reach every subscriber of its channel.
      const due = posts.filter((p) => p.begunAt < readyAt);
      const waitUntil = Date.now() + 30_000;
      let caughtUp = 0;
      let behind = 0;
      for (;;) {
        caughtUp = 0;
        behind = 0;
        for (let s = 0; s < subscribers; s++) {
          let last = 0;
          let missing = false;
          for (const p of due) {
            if (seeded.channels[p.channel].id !== channelOfUser(s + 1)) continue;
            const at = receivedAt[s].get(p.seq);
            if (at === undefined) missing = true;
            else last = Math.max(last, at);
          }
          // Caught up: reconnected (live again) and holding every event due.
          if (missing || reconnectedAt[s] < killedAt) behind++;
          caughtUp = Math.max(caughtUp, last, reconnectedAt[s]);
        }
        if (behind === 0 || Date.now() > waitUntil) break;
        await sleep(200);
      }
      results.push({
        readySeconds: round((readyAt - killedAt) / 1000),
        reconnectedSeconds: round((Math.max(...reconnectedAt) - killedAt) / 1000),
        caughtUpSeconds: round((caughtUp - killedAt) / 1000),
        postedDuringOutage: due.filter((p) => p.begunAt >= killedAt).length,
        behind,
      });
    }
    posting = false;
    await poster;
    progress('recovery: waiting for the last deliveries');
    const allIn = () => received.every((seqs, s) => seqs.length >= posted.get(channelOfUser(s + 1))!.length);
    for (let waited = 0; !allIn() && waited < 15_000; waited += 200) await sleep(200);
    integrity = deliveryIntegrity(received, (s) => channelOfUser(s + 1), posted);
    seq = seqIntegrity(posted);
    progressDone();
  } finally {
    progressDone();
    for (const c of clients) c?.close();
    await target.stop();
  }
  const settings = { subscribers, channels, rate, before, after, rounds, backoff: { baseMs: backoffBase, maxMs: backoffMax }, shape: split ? 'split' : 'all-in-one' };
  const summary = {
    caughtUpSecondsMedian: round(median(results.map((r) => r.caughtUpSeconds))),
    caughtUpSecondsWorst: Math.max(...results.map((r) => r.caughtUpSeconds)),
    readySecondsMedian: round(median(results.map((r) => r.readySeconds))),
  };
  if (values.json) {
    console.log(JSON.stringify({ settings, rounds: results, summary, integrity, seq, postErrors }, null, 2));
    return;
  }
  console.log(
    `\nrecovery settings: ${subscribers} SDK subscribers over ${channels} channels, ${rate} posts/s, kill -9 after ${before}s, ${after}s after the restart, ${rounds} rounds, SDK backoff ${backoffBase}..${backoffMax} ms, ${split ? `split (${target.apiUrls.length} API processes, the realtime process killed)` : 'all-in-one'}`,
  );
  results.forEach((r, i) =>
    console.log(
      `round ${i + 1}: ${split ? 'realtime process' : 'node'} ready ${r.readySeconds}s after the kill, subscribers reconnected by ${r.reconnectedSeconds}s, all caught up at ${r.caughtUpSeconds}s (${r.postedDuringOutage} posts begun during the outage)${r.behind ? ` (${r.behind} still behind: a lower bound)` : ''}`,
    ),
  );
  console.log(`caught up: median ${summary.caughtUpSecondsMedian}s, worst ${summary.caughtUpSecondsWorst}s after the kill (node ready: median ${summary.readySecondsMedian}s)`);
  console.log(
    `deliveries lost ${integrity.lost}  duplicated ${integrity.duplicated}  out of order ${integrity.outOfOrder}  seq duplicates ${seq.duplicates} gaps ${seq.gaps}  post errors ${postErrors}`,
  );
}
