import type { Principal } from '../center/client.js';
import type { AppContext } from '../context.js';
import { CompiledQuery } from 'kysely';
import type { Db } from '../db/index.js';
import { allocateSeq, insertMessageWithNextSeq, isDuplicateKeyError, messageTime, type UnsequencedMessage } from '../db/dialect.js';
import { busyConflict, CONCURRENT_CHANGE_ATTEMPTS, HttpError } from '../errors.js';
import { requireReadableChannel, type ChannelRow, type ChannelView } from '../guilds/standing.js';
import { knownChannel, rememberChannel } from '../channels/channel-facts.js';
import type { ChannelRef } from '../channels/membership.js';
import { fileUrl, requireUsableAttachments, type Attachment } from '../files/attachments.js';
import type { MessageAttachmentTable } from '../db/schema.js';
import { newId } from '../ids.js';
import { withFields } from '../objects.js';
import { emitTo, type EmitMessage } from '../realtime/emitter.js';
import { inTransaction, type Outbox } from '../realtime/outbox.js';
import { applyTurnEvents, hasTurnEngine, type Turn } from '../turns/turn-store.js';
import { applyInterceptedCommand } from './intercepted-commands.js';
import { requireAuthorInChannel } from './message-access.js';
import { findByClientMsgId, requireReplyTarget, toMessages } from './message-queries.js';
import { interceptedCommand, type InterceptedCommand } from './message-rules.js';
import { toMessage, type Message, type MessageRow } from './message-shape.js';
import { NOTHING_TO_GIVE_BACK, postRateOf, takePostToken } from './flood-limits.js';
import { resolveMentions } from './resolve-mentions.js';
import { forgetRefusal, recentlyRefused, rememberRefusal } from './refused-authors.js';
import { toWakeCandidates, wakeCandidatesQuery, wakeDeliverySubquery, wakeRecipients } from './wake-recipients.js';
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
 * engine (and, when it last read it, no agent loop limit: channel-facts.ts) is one round
 * trip: the access rules (member of the channel and of its guild, channel open) are
 * conditions of the seq bump, checked under the channel lock. When that stores
 * nothing, and for every other post, the channel is read first and the checks answer in
 * api.md's order (404, 403, 409).
 */
export async function postToChannel(ctx: AppContext, principal: Principal, channelId: string, input: CreateMessageInput): Promise<CreateMessageResult> {
  const known = knownChannel(channelId);
  const authorId = principal.kind === 'user' ? principal.userId : undefined;
  if (authorId && known && !hasTurnEngine(known.x_type) && !known.guarded && isPlainPost(input) && !recentlyRefused(channelId, authorId)) {
    // Over the flood limit here, the access checks below still answer first (a 404 or 403 before a 429).
    const posted = await storeAndAnnounce(ctx, withFields(input, { channel: known, authorId })).catch((err: unknown) => {
      if (err instanceof HttpError && err.code === 'rate_limited') return 'rate_limited' as const;
      throw err;
    });
    // Refused under the lock (removed, or the channel closed): the author's next posts here read first.
    if (posted === null) rememberRefusal(channelId, authorId);
    else if (posted !== 'rate_limited') return posted;
  }
  const view = await requireReadableChannel(ctx.database.db, principal, channelId);
  rememberChannel(view.channel);
  const created = await createMessage(ctx, view, principal, input);
  if (authorId) forgetRefusal(channelId, authorId);
  return created;
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
    const token = await takePostToken(ctx.database, ctx.config, view.channel.id, author.userId);
    try {
      const applied = await applyInterceptedCommand(ctx, view.channel, author.userId, command);
      if (!applied) await token.giveBack();
      return applied;
    } catch (err) {
      await token.giveBack();
      throw err;
    }
  }
  return storeAndAnnounce(ctx, withFields(input, { channel: view.channel, authorId: author.userId, attachmentIds: input.attachmentIds ?? [] }));
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
  // The flood limit's statement runs alongside the checks (docs/operating-limits.md); a post
  // that stores nothing gives its token back, and an input error answers before a 429. A post
  // with nothing to check (no mention markup, attachment or reply, the limit off: the bulk of
  // an agent room's traffic) skips the round of promises.
  const [checks, taken] = hasNothingToCheck(ctx, input)
    ? nothingToCheck(input.content)
    : await Promise.allSettled([
        Promise.all([
          resolveMentions(ctx.center, input.content),
          requireUsableAttachments(db, authorId, input.attachmentIds ?? [], now),
          input.replyToId ? requireReplyTarget(db, channel.id, input.replyToId) : undefined,
        ]),
        takePostToken(ctx.database, ctx.config, channel.id, authorId),
      ]);
  if (checks.status === 'rejected' || taken.status === 'rejected') {
    if (taken.status === 'fulfilled') await taken.value.giveBack();
    // A retry gets what its first attempt stored, even where the retry alone would now be
    // refused (expired attachment, Center down, over the flood limit: a retry takes no token).
    const earlier = await storedUnder(db, channel.id, authorId, input.clientMsgId);
    if (earlier) return earlier;
    throw checks.status === 'rejected' ? checks.reason : (taken as PromiseRejectedResult).reason;
  }
  const token = taken.value;
  const [{ content, mentions }, attachmentRows, replyTarget] = checks.value;
  const attachments: Attachment[] = attachmentRows.map((a) => ({ id: a.file_id, name: a.name, size: a.size, mime: a.mime, url: fileUrl(a.file_id), expired: false }));
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
  let stored: Message | null;
  try {
    // Each path hands its events over itself, after its commit.
    stored =
      hasTurnEngine(channel.x_type) || isGuarded(channel)
        ? await storeUnderLock(ctx, channel, unsequenced, attachmentRows, attachments, { mentions, replyToAuthorId: replyTarget?.authorId ?? null })
        : await storeMessage(ctx, channel, unsequenced, attachmentRows, attachments);
  } catch (err) {
    await token.giveBack();
    // A duplicate key means the seq bump matched (a NULL seq fails first), so the author passed the checks.
    const earlier = isDuplicateKeyError(err) ? await storedUnder(db, channel.id, authorId, input.clientMsgId) : undefined;
    if (earlier) return earlier;
    throw err;
  }
  if (!stored) {
    await token.giveBack();
    return null;
  }
  return { created: true, message: stored };
}

/** No mention markup (`resolveMentions` would return the content as it is), no attachment, no reply target, no flood limit. */
const hasNothingToCheck = (ctx: AppContext, input: PostMessageInput) =>
  !input.content.includes('<@') && !input.attachmentIds?.length && !input.replyToId && postRateOf(ctx.config) === null;

/** What the checks of `storeAndAnnounce` settle to for a post that has nothing to check. */
const nothingToCheck = (content: string) =>
  [
    { status: 'fulfilled', value: [{ content, mentions: [] as string[] }, [] as AttachmentRow[], undefined] },
    { status: 'fulfilled', value: NOTHING_TO_GIVE_BACK },
  ] as const;

/** What an earlier post of this author stored in this channel under `clientMsgId` (the answer to a retry), if any. */
async function storedUnder(db: Db, channelId: string, authorId: string, clientMsgId: string | null | undefined): Promise<PostMessageResult | undefined> {
  if (!clientMsgId) return undefined;
  const row = await findByClientMsgId(db, channelId, authorId, clientMsgId);
  return row ? { created: false, message: (await toMessages(db, [row]))[0] } : undefined;
}

/** A channel with an agent loop limit counts its posts under the channel lock (loop-guard.ts). */
const isGuarded = (channel: PostChannel) => channel.agent_loop_limit !== undefined && channel.agent_loop_limit !== null;

/**
 * Channels without a turn engine or a loop guard: seq, message, attachments and the logged
 * `message.created` (whose wake set is read under the lock) in one transaction — one round
 * trip on MySQL; then the event as logged is handed over. Null when nothing was stored (closed
 * channel, the author is not a member, or the channel has a loop limit after all: the caller
 * reads the channel and takes the guarded path).
 */
async function storeMessage(ctx: AppContext, channel: ChannelRef, message: UnsequencedMessage, rows: AttachmentRow[], attachments: Attachment[]) {
  const { dialect } = ctx.database;
  // seq and createdAt are placeholders here, set from the stored row.
  const data = toMessage(withFields(message, { seq: 0, created_at: 0 }), attachments);
  const event = { data, wake: wakeDeliverySubquery(channel.x_type, dialect) };
  const at = await insertMessageWithNextSeq(ctx.database, message, rows, { memberId: message.author_id, event, unguardedOnly: true });
  if (at === null) return null;
  const stored = toMessage(withFields(message, { seq: at.seq, created_at: at.createdAt }), attachments);
  const emit: EmitMessage = at.event
    ? withFields(JSON.parse(at.event.delivery ?? '{}') as object, { to: { channel: channel.id }, event: 'message.created' as const, data: stored, pos: at.event.pos })
    : emitTo.channel(channel.id, 'message.created', stored, {});
  ctx.emitter.publish([emit]);
  return stored;
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
  channel: PostChannel,
  message: UnsequencedMessage,
  rows: AttachmentRow[],
  attachments: Attachment[],
  refs: { mentions: readonly string[]; replyToAuthorId: string | null },
): Promise<Message | null> {
  const { dialect } = ctx.database;
  return inTransaction(ctx, async (trx, outbox) => {
    const seq = await allocateSeq(trx, dialect, channel.id, message.author_id);
    if (seq === null) return null;
    // Taken under the lock, so createdAt never decreases along seq (on the clock the post batches use too).
    const row: MessageRow = withFields(message, { seq, created_at: await messageTime(trx, dialect) });
    await trx.insertInto('messages').values(row).execute();
    if (rows.length > 0)
      await trx
        .insertInto('message_attachments')
        .values(rows.map((a) => withFields(a, { message_id: row.id })))
        .execute();
    const guard = await countMessageInLoopGuard(trx, outbox, channel.id, message.author_id);
    let wakes: Wakes;
    if (hasTurnEngine(channel.x_type)) {
      const replyToAuthorId = channel.replies_wake ? refs.replyToAuthorId : null;
      wakes = await applyMessageToTurn(trx, ctx, outbox, channel, message.author_id, refs.mentions, replyToAuthorId);
    } else {
      const query = wakeCandidatesQuery(channel);
      const candidates = query ? (await trx.executeQuery(CompiledQuery.raw(query.sql, [...query.parameters]))).rows : [];
      const typeWakes = wakeRecipients(channel.x_type, message.author_id, toWakeCandidates(channel.x_type, candidates as { user_id: string }[]));
      wakes = guard.tripped ? await withoutAgents(trx, channel.id, typeWakes) : typeWakes;
    }
    // message.created first, then what the transaction queued (the loop guard's event, turn.updated).
    const stored = toMessage(row, attachments);
    outbox.pushFirst(emitTo.channel(channel.id, 'message.created', stored, wakes));
    return stored;
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
