/**
 * realtime/stream-delivery.ts on a real SQLite log: a subscriber that joins a stream while its
 * events are being written and handed over gets every event after what it had seen exactly
 * once and in order — the ones up to the head its join read from the log (its catch-up), the
 * rest live — whichever comes first: the head read or the hand-over. The interleaving is
 * shifted from run to run, and the test checks that both orders happened.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../lib/db/dialect.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../lib/db/index.js';
import type { EmitMessage } from '../lib/realtime/emitter.js';
import { appendToLog, readStream } from '../lib/realtime/event-log.js';
import { createStreamDelivery } from '../realtime/stream-delivery.js';

const SEEN = 5; // events the joining subscriber already has
const LAST = 12; // events in the stream at the end

let dir: string;
let handle: DatabaseHandle;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-join-race-'));
  handle = await openDatabase({ type: 'sqlite', file: path.join(dir, 'g.sqlite') });
  await migrateToLatest(handle.db, () => undefined);
});

afterAll(async () => {
  await handle.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Logs one event of `channel` (its own transaction, as a post's) and returns it with its position. */
async function logEvent(channel: string, n: number): Promise<EmitMessage> {
  const emit = { to: { channel }, event: 'message.created', data: { n }, wake: [], wakeReasons: {} } as unknown as EmitMessage;
  const [stored] = await withTransaction(handle.db, handle.dialect, (trx) => appendToLog(trx, handle.dialect, [emit]));
  return stored;
}

const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('a join racing the hand-over of new events', () => {
  it('gives the joiner each later event once, in order, from its catch-up or live, whichever order they meet in', async () => {
    const headsRead: number[] = [];
    for (let run = 0; run < 48; run++) {
      const channel = `race-${run}`;
      await sql`insert into channels (id, guild_id, name, topic, x_type, created_by, created_at) values (${channel}, 'g1', ${channel}, '', 'general', 'u1', 1)`.execute(handle.db);
      for (let n = 1; n <= SEEN; n++) await logEvent(channel, n);

      let live = false;
      const received: number[] = [];
      const delivery = createStreamDelivery({
        db: handle.db,
        deliverLocally: (e) => {
          if (live) received.push(e.pos!);
        },
        hasSubscribers: () => true,
        pollMs: 60_000,
      });
      try {
        // An earlier subscriber has the stream tracked up to what was logged.
        delivery.track({ channel }, SEEN);
        // The writer: the remaining events, each logged and then handed over, starting a little
        // later in each run; in every other run the hand-over lags behind the log by a few
        // events (as from a slow API process), so the join finds the log ahead of what this
        // process has delivered and catches up while more events arrive. The joiner subscribes now.
        const lag = run % 2 === 0 ? 3 : 0;
        const writer = (async () => {
          await ticks(run % 8);
          const logged: EmitMessage[] = [];
          for (let n = SEEN + 1; n <= LAST; n++) {
            logged.push(await logEvent(channel, n));
            if (logged.length > lag) delivery.receive(logged.shift()!);
            if (run % 3 === 0) await ticks(1);
          }
          for (const emit of logged) {
            await ticks(1);
            delivery.receive(emit);
          }
        })();
        const joined = delivery.subscribe({ channel }, async (head) => {
          headsRead.push(head);
          // What the socket layer does in its join: the catch-up from what the client had up to
          // the head, then the room joined (live from there on). Events handed over meanwhile
          // must wait for the join step: delivered now, they would reach nobody.
          const catchUp = await readStream(handle.db, { channel }, SEEN, head);
          await ticks(2);
          live = true;
          return catchUp.map((e) => e.pos);
        });
        const [catchUp] = await Promise.all([joined, writer]);
        await ticks(3);
        const got = [...catchUp, ...received];
        expect(got, `run ${run}: catch-up ${catchUp.join(',')} then live ${received.join(',')}`).toEqual(Array.from({ length: LAST - SEEN }, (_, i) => SEEN + 1 + i));
      } finally {
        delivery.close();
      }
    }
    // The race was met both ways: joins that read the head before any new event, and joins
    // that read it after some had been logged (their catch-up carried them).
    expect(headsRead.some((h) => h === SEEN)).toBe(true);
    expect(headsRead.some((h) => h > SEEN && h < LAST)).toBe(true);
  });
});
