/**
 * The durable event log (realtime.md "Streams, positions and resume"). Every emit to a
 * channel room or a user room is written here in the transaction of the change that caused
 * it, with its stream position; realtime processes deliver from it what was not handed over,
 * and replay from it to clients that resume. Emits to guild rooms are not streamed.
 */
import type { Db, DialectName } from '../db/index.js';
import { takeStreamPositions, type StreamRef } from '../db/dialect.js';
import type { EmitMessage } from './emitter.js';
import { chunksOf, withFields } from '../objects.js';

/** An emit as stored: what it is, and how it is delivered (everything but its address and payload, opaque here). */
export interface StoredEvent {
  pos: number;
  event: string;
  data: Record<string, unknown>;
  /** The emit's delivery fields (`wake`, …), as given. */
  delivery: Record<string, unknown>;
}

/** The stream an emit belongs to, if any. */
export function streamOf(emit: EmitMessage): StreamRef | null {
  if ('channel' in emit.to) return { channel: emit.to.channel };
  if ('user' in emit.to) return { user: emit.to.user };
  return null;
}

export const streamKey = (s: StreamRef) => ('channel' in s ? `channel:${s.channel}` : `user:${s.user}`);

/** The fields of an emit that say how it is delivered: all but its address, name, payload and position. */
export function deliveryOf(emit: EmitMessage): Record<string, unknown> | null {
  const { to: _to, event: _event, data: _data, pos: _pos, ...rest } = emit;
  return Object.keys(rest).length > 0 ? rest : null;
}

/**
 * Writes `emits` to the log inside `trx` and returns them with their positions (emits to
 * guild rooms, and to a channel that no longer exists, unchanged). Positions of one stream
 * follow the order of `emits`. Streams are taken in a fixed order (channels, then users, each
 * by id) so that two transactions never wait on each other's streams crosswise.
 */
export async function appendToLog(trx: Db, dialect: DialectName, emits: readonly EmitMessage[], now = Date.now()): Promise<EmitMessage[]> {
  const byStream = new Map<string, { stream: StreamRef; indexes: number[] }>();
  emits.forEach((emit, i) => {
    const stream = streamOf(emit);
    if (!stream) return;
    const key = streamKey(stream);
    const entry = byStream.get(key) ?? { stream, indexes: [] };
    entry.indexes.push(i);
    byStream.set(key, entry);
  });
  const out = [...emits];
  const keys = [...byStream.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const key of keys) {
    const { stream, indexes } = byStream.get(key)!;
    const last = await takeStreamPositions(trx, dialect, stream, indexes.length);
    if (last === null) continue;
    const first = last - indexes.length + 1;
    const rows = indexes.map((i, k) => {
      const emit = emits[i];
      const delivery = deliveryOf(emit);
      out[i] = withFields(emit, { pos: first + k });
      return { pos: first + k, event: emit.event, data: JSON.stringify(emit.data), delivery: delivery && JSON.stringify(delivery), ref: null, created_at: now };
    });
    if ('channel' in stream)
      await trx
        .insertInto('channel_events')
        .values(rows.map((r) => withFields(r, { channel_id: stream.channel })))
        .execute();
    else
      await trx
        .insertInto('user_events')
        .values(rows.map((r) => withFields(r, { user_id: stream.user })))
        .execute();
  }
  return out;
}

/** The two logs: a stream's table, its key column, and the table that holds each stream's head. */
const LOGS = [
  { events: 'channel_events', key: 'channel_id', heads: 'channels', headKey: 'id' },
  { events: 'user_events', key: 'user_id', heads: 'user_streams', headKey: 'user_id' },
] as const;

/** Events of a stream with `after < pos <= upTo`, in order (those still retained). */
export async function readStream(db: Db, stream: StreamRef, after: number, upTo: number): Promise<StoredEvent[]> {
  if (upTo <= after) return [];
  const log = 'channel' in stream ? LOGS[0] : LOGS[1];
  const rows = await db
    .selectFrom(log.events)
    .select(['pos', 'event', 'data', 'delivery'])
    .where(log.key, '=', 'channel' in stream ? stream.channel : stream.user)
    .where('pos', '>', after)
    .where('pos', '<=', upTo)
    .orderBy('pos')
    .execute();
  return rows.map((r) => ({
    pos: Number(r.pos),
    event: r.event,
    data: JSON.parse(r.data) as Record<string, unknown>,
    delivery: r.delivery ? (JSON.parse(r.delivery) as Record<string, unknown>) : {},
  }));
}

/** The emit a stored event was, addressed to its stream again. */
export function toEmit(stream: StreamRef, e: StoredEvent): EmitMessage {
  return withFields(e.delivery, { to: 'channel' in stream ? { channel: stream.channel } : { user: stream.user }, event: e.event, data: e.data, pos: e.pos }) as EmitMessage;
}

export interface RetentionRules {
  /** Keep events younger than this (0: rule off). */
  hours: number;
  /** Keep the last this many events of every stream (0: rule off). */
  events: number;
}

/** Positions one trim statement deletes at most: each statement's locks stay few and short. */
const TRIM_WINDOW = 2000;
/** Streams read per page while a trim looks for the ones long enough to trim. */
const TRIM_PAGE = 500;

/**
 * Deletes what neither retention rule keeps: events older than `hours` that are not among
 * the last `events` of their stream. Returns how many were deleted.
 *
 * Stream by stream, from each stream's oldest position up, in windows of TRIM_WINDOW
 * positions: each delete is a range of the primary key (stream, pos) at the old end of one
 * stream, so it locks only rows nobody writes, never the head where posts append. (One
 * statement over the whole table locked every row it read, on MySQL, and held every post's
 * event insert until it ended.) A stream's positions have no holes and get younger as they
 * grow, so a window that keeps a row for its age ends that stream's trim.
 */
export async function trimLog(db: Db, rules: RetentionRules, now = Date.now()): Promise<number> {
  const cutoff = rules.hours > 0 ? now - rules.hours * 3600_000 : Number.MAX_SAFE_INTEGER;
  const keep = rules.events;
  let deleted = 0;
  for (const log of LOGS) {
    for (let after = ''; ;) {
      const page = await db
        .selectFrom(log.heads)
        .select([`${log.headKey} as key`, 'last_pos'])
        .where(log.headKey, '>', after)
        .where('last_pos', '>', keep)
        .orderBy(log.headKey)
        .limit(TRIM_PAGE)
        .execute();
      for (const head of page as { key: string; last_pos: number | string }[]) deleted += await trimStream(db, log, head.key, Number(head.last_pos) - keep, cutoff);
      if (page.length < TRIM_PAGE) break;
      after = (page[page.length - 1] as { key: string }).key;
    }
  }
  return deleted;
}

/** Trims one stream up to position `edge` (inclusive), of events created before `cutoff`. */
async function trimStream(db: Db, log: (typeof LOGS)[number], key: string, edge: number, cutoff: number): Promise<number> {
  const oldest = await db
    .selectFrom(log.events)
    .select((eb) => eb.fn.min('pos').as('pos'))
    .where(log.key, '=', key)
    .executeTakeFirst();
  if (oldest?.pos === null || oldest?.pos === undefined) return 0;
  let deleted = 0;
  for (let from = Number(oldest.pos); from <= edge; from += TRIM_WINDOW) {
    const to = Math.min(edge, from + TRIM_WINDOW - 1);
    const r = await db.deleteFrom(log.events).where(log.key, '=', key).where('pos', '>=', from).where('pos', '<=', to).where('created_at', '<', cutoff).executeTakeFirst();
    const n = Number(r.numDeletedRows);
    deleted += n;
    if (n < to - from + 1) break; // a row of this window is young enough to keep: so is everything after it
  }
  return deleted;
}

/** The current heads of several streams, by stream key (0 for a stream with no event yet). */
export async function streamHeads(db: Db, streams: readonly StreamRef[]): Promise<Map<string, number>> {
  const heads = new Map<string, number>();
  const channels = streams.filter((s): s is { channel: string } => 'channel' in s).map((s) => s.channel);
  const users = streams.filter((s): s is { user: string } => 'user' in s).map((s) => s.user);
  for (const ids of chunksOf(channels, HEADS_PER_QUERY)) {
    const rows = await db.selectFrom('channels').select(['id', 'last_pos']).where('id', 'in', ids).execute();
    for (const r of rows) heads.set(streamKey({ channel: r.id }), Number(r.last_pos));
  }
  for (const ids of chunksOf(users, HEADS_PER_QUERY)) {
    const rows = await db.selectFrom('user_streams').select(['user_id', 'last_pos']).where('user_id', 'in', ids).execute();
    for (const r of rows) heads.set(streamKey({ user: r.user_id }), Number(r.last_pos));
  }
  return heads;
}
const HEADS_PER_QUERY = 500;
