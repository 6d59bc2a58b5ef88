import type { Principal } from '../center/client.js';
import type { AppContext } from '../context.js';
import { CompiledQuery } from 'kysely';
import type { Db } from '../db/index.js';
import { allocateSeq, insertMessageWithNextSeq, isDuplicateKeyError, withTransaction, type UnsequencedMessage } from '../db/dialect.js';
import { busyConflict, CONCURRENT_CHANGE_ATTEMPTS } from '../errors.js';
import { requireReadableChannel, type ChannelRow, type ChannelView } from '../guilds/standing.js';
import { knownChannel, rememberChannel } from '../channels/channel-facts.js';
import type { ChannelRef } from '../channels/membership.js';
import { fileUrl, requireUsableAttachments, type Attachment } from '../files/attachments.js';
import type { MessageAttachmentTable } from '../db/schema.js';
import { newId } from '../ids.js';
import { emitTo } from '../realtime/emitter.js';
import { Outbox } from '../realtime/outbox.js';
import { applyTurnEvents, hasTurnEngine, type Turn } from '../turns/turn-store.js';
import { applyInterceptedCommand } from './intercepted-commands.js';
import { requireAuthorInChannel } from './message-access.js';
import { findByClientMsgId, requireReplyTarget, toMessages } from './message-queries.js';
import { interceptedCommand, type InterceptedCommand } from './message-rules.js';
import { toMessage, type Message, type MessageRow } from './message-shape.js';
import { resolveMentions } from './resolve-mentions.js';
import { toWakeCandidates, wakeCandidatesQuery, wakeRecipients } from './wake-recipients.js';
import type { Wakes } from './wake.js';
import { countMessageInLoopGuard, withoutAgents } from '../channels/loop-guard.js';

type AttachmentRow = Omit<MessageAttachmentTable, 'message_id'>;

export interface CreateMessageInput {
  /** Validated by the caller: at most 16000 characters, blank only with attachments. */
  content: string;
  replyToId?: string | null;
  attachmentIds?: readonly string[] | null;
  clientMsgId?: string | null;
}

export type CreateMessageResult = PostMessageResult | { intercepted: InterceptedCommand; turn: Turn | null };

/**
 * `POST /api/channels/:channelId/messages` once the body is parsed (the handler and the
 * benchmark's raw mode both call this). A plain post by a user — no reply, no attachments, no
 * name mentions, not a command — into a channel this process already knows to have no turn
 * engine is one round trip: the access rules (member of the channel and of its guild, channel
 * open) are conditions of the seq bump, checked under the channel lock. When that stores
 * nothing, and for every other post, the channel is read first and the checks answer in
 * api.md's order (404, 403, 409).
 */
export async function postToChannel(ctx: AppContext, principal: Principal, channelId: string, input: CreateMessageInput): Promise<CreateMessageResult> {
  const known = knownChannel(channelId);
  if (principal.kind === 'user' && known && !hasTurnEngine(known.x_type) && isPlainPost(input)) {
    const posted = await storeAndAnnounce(ctx, { ...input, channel: known, authorId: principal.userId });
    if (posted) return posted;
  }
  const view = await requireReadableChannel(ctx.database.db, principal, channelId);
  rememberChannel(view.channel);
  return createMessage(ctx, view, principal, input);
}

/** Needs nothing but the post transaction: no reply target or attachment to check, no name to ask Center for, not a command. */
const isPlainPost = (input: CreateMessageInput) =>
  !input.replyToId && !input.attachmentIds?.length && !input.content.includes('<@user.name:') && interceptedCommand(input.content) === null;

/**
 * What the post does once the caller's view of the channel is known: the author checks
 * (403/409), then either an intercepted command or a stored message. Both check the author's
 * membership and the open channel again under the channel lock; when that refuses (removed or
 * closed since `view` was read), the channel is read again and the same checks answer.
 */
export async function createMessage(ctx: AppContext, view: ChannelView, principal: Principal, input: CreateMessageInput): Promise<CreateMessageResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await createAsChecked(ctx, view, principal, input);
    if (result) return result;
    // Only a membership that flips back and forth between the read and the lock gets here twice.
    if (attempt >= CONCURRENT_CHANGE_ATTEMPTS) throw busyConflict('the channel membership');
    view = await requireReadableChannel(ctx.database.db, principal, view.channel.id);
  }
}

/** `createMessage` against one view of the channel; null when refused under the lock. */
async function createAsChecked(ctx: AppContext, view: ChannelView, principal: Principal, input: CreateMessageInput): Promise<CreateMessageResult | null> {
  const author = requireAuthorInChannel(view, principal, 'posting a message');
  const command = interceptedCommand(input.content);
  if (command) {
    const earlier = await storedUnder(ctx.database.db, view.channel.id, author.userId, input.clientMsgId);
    if (earlier) return earlier; // a retry of a stored message, whatever its content says now
    return applyInterceptedCommand(ctx, view.channel, author.userId, command);
  }
  return storeAndAnnounce(ctx, { ...input, channel: view.channel, authorId: author.userId, attachmentIds: input.attachmentIds ?? [] });
}

/** The channel of a post: its fixed facts, and (once read) the settings that change how a post is stored and wakes. */
export type PostChannel = ChannelRef & Partial<Pick<ChannelRow, 'agent_loop_limit' | 'replies_wake'>>;

export interface PostMessageInput {
  channel: PostChannel;
  authorId: string;
  /** Validated by the caller (length, empty only with attachments, not an intercepted command). */
  content: string;
  replyToId?: string | null;
  attachmentIds?: readonly string[] | null;
  clientMsgId?: string | null;
}

/** `created: false` when the clientMsgId was already used: `message` is the one stored then. */
export interface PostMessageResult {
  created: boolean;
  message: Message;
}

/**
 * Stores a message (the hot path of the node). Checks that need no lock run first, in
 * parallel: name mentions through Center, reply target, attachments. Then one transaction:
 * allocate the seq (lock + bump in one statement; this orders seqs by commit, and its
 * condition is that the channel is open and the author a member of it and of its guild),
 * insert the message and its attachments, apply the turn engine in discuss/work. Without a
 * turn engine the transaction is one round trip on MySQL (dialect.ts insertMessageWithNextSeq),
 * so the channel's lock is never held across the event loop. After commit: `message.created`
 * with per-recipient wake, then `turn.updated` if the turn changed. Null when nothing was
 * stored (the author is not a member, or the channel is closed): the caller reads the channel
 * to say which.
 *
 * A repeated clientMsgId is caught by the unique index `messages_client_msg_uq`: the
 * transaction rolls back (the seq is not used) and the stored message is returned, no event.
 */
async function storeAndAnnounce(ctx: AppContext, input: PostMessageInput): Promise<PostMessageResult | null> {
  const { db } = ctx.database;
  const { channel, authorId } = input;
  const now = Date.now();
  let checked;
  try {
    checked = await Promise.all([
      resolveMentions(ctx.center, input.content),
      requireUsableAttachments(db, authorId, input.attachmentIds ?? [], now),
      input.replyToId ? requireReplyTarget(db, channel.id, input.replyToId) : undefined,
    ]);
  } catch (err) {
    // A retry gets what its first attempt stored, even where the retry alone would now be refused (expired attachment, Center down).
    const earlier = await storedUnder(db, channel.id, authorId, input.clientMsgId);
    if (earlier) return earlier;
    throw err;
  }
  const [{ content, mentions }, attachmentRows, replyTarget] = checked;
  const turnOutbox = new Outbox();
  const unsequenced: UnsequencedMessage = {
    id: newId(),
    channel_id: channel.id,
    guild_id: channel.guild_id,
    author_id: authorId,
    content,
    reply_to_id: input.replyToId ?? null,
    mentions: JSON.stringify(mentions),
    client_msg_id: input.clientMsgId ?? null,
    edited_at: null,
    deleted_at: null,
  };
  let stored: { row: MessageRow; wakes: Wakes } | null;
  try {
    stored = hasTurnEngine(channel.x_type) || isGuarded(channel)
      ? await storeUnderLock(ctx, turnOutbox, channel, unsequenced, attachmentRows, { mentions, replyToAuthorId: replyTarget?.authorId ?? null })
      : await storeMessage(ctx, channel.x_type, unsequenced, attachmentRows);
  } catch (err) {
    // A duplicate key means the seq bump matched (a NULL seq fails first), so the author passed the checks.
    const earlier = isDuplicateKeyError(err) ? await storedUnder(db, channel.id, authorId, input.clientMsgId) : undefined;
    if (earlier) return earlier;
    throw err;
  }
  if (!stored) return null;
  const attachments: Attachment[] = attachmentRows.map((a) => ({ id: a.file_id, name: a.name, size: a.size, mime: a.mime, url: fileUrl(a.file_id), expired: false }));
  const message = toMessage(stored.row, attachments);
  // message.created first, then what the transaction queued (the loop guard's event, turn.updated).
  turnOutbox.pushFirst(emitTo.channel(channel.id, 'message.created', message, stored.wakes));
  turnOutbox.sendTo(ctx.emitter);
  return { created: true, message };
}

/** What an earlier post of this author stored in this channel under `clientMsgId` (the answer to a retry), if any. */
async function storedUnder(db: Db, channelId: string, authorId: string, clientMsgId: string | null | undefined): Promise<PostMessageResult | undefined> {
  if (!clientMsgId) return undefined;
  const row = await findByClientMsgId(db, channelId, authorId, clientMsgId);
  return row ? { created: false, message: (await toMessages(db, [row]))[0] } : undefined;
}

/** A channel with an agent loop limit counts its posts under the channel lock (loop-guard.ts). */
const isGuarded = (channel: PostChannel) => channel.agent_loop_limit !== undefined && channel.agent_loop_limit !== null;

/**
 * Channels without a turn engine or a loop guard: seq, message and attachments in one
 * transaction, and the wake candidates read right after it — all in one round trip on MySQL.
 * Null when nothing was stored (closed channel, the author is not a member, or the channel
 * has a loop limit after all: the caller reads the channel and takes the guarded path).
 */
async function storeMessage(ctx: AppContext, xType: string, message: UnsequencedMessage, attachments: AttachmentRow[]) {
  const alsoRead = wakeCandidatesQuery({ id: message.channel_id, x_type: xType }) ?? undefined;
  const at = await insertMessageWithNextSeq(ctx.database, message, attachments, { alsoRead, memberId: message.author_id, unguardedOnly: true });
  if (at === null) return null;
  const candidates = toWakeCandidates(xType, at.alsoReadRows as { user_id: string }[]);
  return { row: { ...message, seq: at.seq, created_at: at.createdAt }, wakes: wakeRecipients(xType, message.author_id, candidates) };
}

/**
 * Discuss and work channels, and channels with a loop guard: the turn engine and the guard
 * read and write their state under the channel lock, so the message, its attachments, the
 * guard and the new turn state share one transaction. The guard counts the message first (a
 * person's message resets it before its own wakes are computed). Null when nothing was
 * stored (closed channel, or the author is not a member).
 */
async function storeUnderLock(
  ctx: AppContext,
  outbox: Outbox,
  channel: PostChannel,
  message: UnsequencedMessage,
  attachments: AttachmentRow[],
  refs: { mentions: readonly string[]; replyToAuthorId: string | null },
) {
  const { db, dialect } = ctx.database;
  return withTransaction(db, dialect, async (trx) => {
    const seq = await allocateSeq(trx, dialect, channel.id, message.author_id);
    if (seq === null) return null;
    // Taken under the lock, so createdAt never decreases along seq (on one clock).
    const row: MessageRow = { ...message, seq, created_at: Date.now() };
    await trx.insertInto('messages').values(row).execute();
    if (attachments.length > 0) await trx.insertInto('message_attachments').values(attachments.map((a) => ({ ...a, message_id: row.id }))).execute();
    const guard = await countMessageInLoopGuard(trx, outbox, channel.id, message.author_id);
    if (hasTurnEngine(channel.x_type)) {
      const replyToAuthorId = channel.replies_wake ? refs.replyToAuthorId : null;
      return { row, wakes: await applyMessageToTurn(trx, ctx, outbox, channel, message.author_id, refs.mentions, replyToAuthorId) };
    }
    const query = wakeCandidatesQuery(channel);
    const rows = query ? (await trx.executeQuery(CompiledQuery.raw(query.sql, [...query.parameters]))).rows : [];
    const wakes = wakeRecipients(channel.x_type, message.author_id, toWakeCandidates(channel.x_type, rows as { user_id: string }[]));
    return { row, wakes: guard.tripped ? await withoutAgents(trx, channel.id, wakes) : wakes };
  });
}

/**
 * Rule 1 of turns.md inside the post transaction (discuss/work only): mentions, and the reply
 * target's author where replies wake, are restricted to current channel members, read under
 * the lock. Returns who the message wakes (the speaker after it, unless it is the author).
 */
async function applyMessageToTurn(
  trx: Db,
  ctx: AppContext,
  outbox: Outbox,
  channel: { id: string; x_type: string },
  authorId: string,
  mentions: readonly string[],
  replyToAuthorId: string | null,
): Promise<Wakes> {
  const candidates = replyToAuthorId === null ? [...mentions] : [...mentions, replyToAuthorId];
  let members = new Set<string>();
  if (candidates.length > 0) {
    const rows = await trx.selectFrom('channel_members').select('user_id').where('channel_id', '=', channel.id).where('user_id', 'in', candidates).execute();
    members = new Set(rows.map((r) => r.user_id));
  }
  const event = {
    type: 'message' as const,
    actorId: authorId,
    mentions: mentions.filter((id) => members.has(id)),
    replyToAuthorId: replyToAuthorId !== null && members.has(replyToAuthorId) ? replyToAuthorId : null,
  };
  const applied = await applyTurnEvents(trx, ctx, outbox, channel, [event], 'message');
  return applied?.wakes ?? {};
}
