import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { lockChannel, lockOpenChannelForMember } from '../db/dialect.js';
import type { CanvasTable } from '../db/schema.js';
import { busyConflict, CONCURRENT_CHANGE_ATTEMPTS, notFound } from '../errors.js';
import { requireReadableChannel, type ChannelView } from '../guilds/standing.js';
import type { UserPrincipal } from '../http/auth.js';
import { isoTime } from '../ids.js';
import { emitTo } from '../realtime/emitter.js';
import { inTransaction } from '../realtime/outbox.js';
import { canvasWriteRefusal, type CANVAS_FORMATS } from './canvas-rules.js';

export type CanvasFormat = (typeof CANVAS_FORMATS)[number];

/** The API shape of a canvas (api.md "Canvas"). */
export const toCanvas = (c: CanvasTable) => ({
  channelId: c.channel_id,
  format: c.format as CanvasFormat,
  title: c.title,
  content: c.content,
  sharedBy: c.shared_by,
  version: Number(c.version),
  createdAt: isoTime(c.created_at),
  updatedAt: isoTime(c.updated_at),
});
export type Canvas = ReturnType<typeof toCanvas>;

/** The canvas row of a channel, if one is shared. */
export function findCanvas(db: Db, channelId: string): Promise<CanvasTable | undefined> {
  return db.selectFrom('canvases').selectAll().where('channel_id', '=', channelId).executeTakeFirst();
}

/** The canvas of a channel, or 404. */
export async function requireCanvas(db: Db, channelId: string): Promise<Canvas> {
  const row = await findCanvas(db, channelId);
  if (!row) throw notFound('canvas');
  return toCanvas(row);
}

/**
 * Refuses (403/409) a write the caller may not make, judged on the channel and canvas as
 * they are now. Called before the body is read, and again under the channel lock.
 */
export function requireCanvasWrite(action: 'put' | 'delete', view: ChannelView, userId: string | null, current: { shared_by: string } | undefined, closed: boolean) {
  const refusal = canvasWriteRefusal(action, { userId, isMember: view.isMember, sharedBy: current?.shared_by ?? null, closed });
  if (refusal) throw refusal;
}

async function isClosed(trx: Db, channelId: string): Promise<boolean> {
  const row = await trx.selectFrom('channels').select('closed').where('id', '=', channelId).executeTakeFirst();
  return !!row?.closed;
}

export interface CanvasInput {
  format: CanvasFormat;
  title: string;
  content: string;
}

/**
 * Shares the channel's canvas (version 1) or replaces the caller's own (version + 1), under
 * the channel lock so that concurrent writes, a concurrent close and a concurrent removal of
 * the caller are ordered; then emits `canvas.updated`. The lock's reads see the membership and
 * the open channel as they are now: when they refuse (the caller was removed, or the channel
 * closed, since `view` was read), the channel is read again and the checks answer from it.
 */
export async function putCanvas(ctx: AppContext, principal: UserPrincipal, view: ChannelView, input: CanvasInput): Promise<{ canvas: Canvas; created: boolean }> {
  const channelId = view.channel.id;
  for (let attempt = 1; ; attempt++) {
    const written = await writeAsMember(ctx, channelId, principal.userId, input);
    if (written) return written;
    const now = await requireReadableChannel(ctx.database.db, principal, channelId);
    requireCanvasWrite('put', now, principal.userId, await findCanvas(ctx.database.db, channelId), !!now.channel.closed);
    // Only a membership that flips back and forth between the read and the lock gets here twice.
    if (attempt >= CONCURRENT_CHANGE_ATTEMPTS) throw busyConflict('the channel membership');
  }
}

/** The write of `putCanvas`, or null when the caller is no member of the open channel under its lock. */
async function writeAsMember(ctx: AppContext, channelId: string, userId: string, input: CanvasInput): Promise<{ canvas: Canvas; created: boolean } | null> {
  const { dialect } = ctx.database;
  return inTransaction(ctx, async (trx, outbox) => {
    if (!(await lockOpenChannelForMember(trx, dialect, channelId, userId))) return null;
    const current = await findCanvas(trx, channelId);
    const refusal = canvasWriteRefusal('put', { userId, isMember: true, sharedBy: current?.shared_by ?? null, closed: false });
    if (refusal) throw refusal;
    const now = Date.now();
    let row: CanvasTable;
    if (current) {
      row = { ...current, format: input.format, title: input.title, content: input.content, version: Number(current.version) + 1, updated_at: now };
      await trx
        .updateTable('canvases')
        .set({ format: row.format, title: row.title, content: row.content, version: row.version, updated_at: now })
        .where('channel_id', '=', channelId)
        .execute();
    } else {
      row = { channel_id: channelId, format: input.format, title: input.title, content: input.content, shared_by: userId, version: 1, created_at: now, updated_at: now };
      await trx.insertInto('canvases').values(row).execute();
    }
    const canvas = toCanvas(row);
    outbox.push(emitTo.channel(channelId, 'canvas.updated', { channelId, canvas }));
    return { canvas, created: !current };
  });
}

/** Removes the channel's canvas (its sharer only) and emits `canvas.removed`. */
export async function removeCanvas(ctx: AppContext, view: ChannelView, userId: string | null): Promise<void> {
  const { dialect } = ctx.database;
  const channelId = view.channel.id;
  await inTransaction(ctx, async (trx, outbox) => {
    await lockChannel(trx, dialect, channelId);
    const current = await findCanvas(trx, channelId);
    if (!current) throw notFound('canvas');
    requireCanvasWrite('delete', view, userId, current, await isClosed(trx, channelId));
    await trx.deleteFrom('canvases').where('channel_id', '=', channelId).execute();
    outbox.push(emitTo.channel(channelId, 'canvas.removed', { channelId }));
  });
}
