import type { Server as HttpServer } from 'node:http';
import { Server, type Namespace, type Socket } from 'socket.io';
import { z } from 'zod';
import type { Principal } from '../lib/center/client.js';
import type { AppContext } from '../lib/context.js';
import type { StreamRef } from '../lib/db/dialect.js';
import { badRequest, HttpError, notFound } from '../lib/errors.js';
import { authenticateSession } from '../lib/http/auth.js';
import { jsonBoundsProblem } from '../lib/http/json-bounds.js';
import { isOriginAllowed } from '../lib/http/cors.js';
import { channelReaders, requireReadableChannel } from '../lib/guilds/standing.js';
import { createLogger } from '../lib/logger.js';
import type { EmitMessage, RealtimeOp } from '../lib/realtime/emitter.js';
import { readStream, streamHeads, streamKey, toEmit, type StoredEvent } from '../lib/realtime/event-log.js';
import { rooms } from '../lib/realtime/rooms.js';
import { createSocketEventBudget } from '../lib/realtime/socket-event-budget.js';
import type { ClusterLink } from './cluster.js';
import { deliverHere, dispatchEmits, leaveHere, payloadFor, setGuildRoom, type OpsSink } from './dispatch.js';
import { withFields } from '../lib/objects.js';
import type { Ack, ClientToServerEvents, StreamAck, InterServerEvents, PositionedLeave, ServerToClientEvents } from './events.js';
import { answerEngineRefusals } from './engine-refusals.js';
import { coalesceFrames, MAX_UNSENT_BYTES, unsentBytes } from './frame-coalescing.js';
import { jsonParser } from './json-parser.js';
import { watchSession } from './session-watch.js';
import { startAccessSweep } from './access-sweep.js';
import { createStreamDelivery } from './stream-delivery.js';
import { createTypingThrottle } from './typing-throttle.js';
import { createOnlineUsersQuery, createUserSocketCounter } from './user-socket-count.js';

const log = createLogger('realtime');

interface SocketData {
  principal: Principal;
  /** The guilds whose rooms the socket joins on connect. */
  guildIds: string[];
  /** No other socket of this user was connected when this one was accepted. */
  firstSocket: boolean;
  /** The user stream's head when the socket was accepted, and the position after which it receives user events live. */
  userHead: number;
  userBase: number;
}
type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** A membership re-check waiting for its batch. */
interface Recheck {
  principal: Principal;
  resolve(ok: boolean): void;
  reject(err: unknown): void;
}

export type RealtimeNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

const channelPayload = z.object({ channelId: z.string().min(1).max(64) });
const joinPayload = z.object({ channelId: z.string().min(1).max(64), since: z.number().int().min(0).optional() });
const resumePayload = z.object({ since: z.number().int().min(0) });

export interface RealtimeApp extends OpsSink {
  io: Server;
  nsp: RealtimeNamespace;
  /** Which of these users hold a socket on this node now (across realtime processes with Redis). */
  onlineAmong(userIds: readonly string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** Interval of the catch-up poll of the streams a realtime process delivers (realtime/stream-delivery.ts). */
export const STREAM_POLL_MS = 1000;

const errorAck = (code: string, message: string): Ack => ({ ok: false, error: { code, message } });

/**
 * A client event's payload and ack, whatever the client sent: socket.io passes the ack as
 * the last argument, so `emit('join_channel', cb)` arrives as (cb) with no payload.
 */
function splitArgs(args: unknown[]): { payload: unknown; reply: (a: Ack) => void } {
  const last = args[args.length - 1];
  const reply = typeof last === 'function' ? (last as (a: Ack) => void) : () => undefined;
  const payload = args.length > 0 && typeof args[0] !== 'function' ? args[0] : undefined;
  return { payload, reply };
}

/**
 * The payload of a client event, or undefined when it breaks the bounds of every body
 * (api.md "Errors": 32 levels, 100,000 values); such a payload is malformed, like any other.
 */
const boundedPayload = (payload: unknown) => (jsonBoundsProblem(payload) === null ? payload : undefined);

/** What an error thrown while handling a client event becomes in its ack (no internals). */
function ackFor(err: unknown): Ack {
  if (err instanceof HttpError) return errorAck(err.code, err.message);
  log.error('socket event failed', { error: err instanceof Error ? err.message : String(err) });
  return errorAck('internal', 'internal error');
}

export interface RealtimeOptions {
  /** The other realtime processes of the node (Redis); part of the server from its first connection on. */
  cluster?: ClusterLink;
  /** Interval of the catch-up poll (default STREAM_POLL_MS). */
  streamPollMs?: number;
}

/** The client → server events of realtime.md. */
const CLIENT_EVENTS: ReadonlySet<string> = new Set(['join_channel', 'leave_channel', 'resume_user', 'typing'] satisfies (keyof ClientToServerEvents)[]);

/** Events of a replay read from the log and sent at a time. */
const REPLAY_PAGE_EVENTS = 256;

/** Where socket.io's engine takes its requests (socket.io's default path): upgrades there are its own. */
export const REALTIME_ENGINE_PATH = '/socket.io/';

/**
 * Builds the socket.io server on `httpServer` (namespace `/realtime`): token auth on connect,
 * user/guild rooms, join/leave/typing, presence. `ctx` gives the database and Center client.
 */
export function createRealtimeApp(httpServer: HttpServer, ctx: AppContext, opts: RealtimeOptions = {}): RealtimeApp {
  const io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(httpServer, {
    ...(opts.cluster ? { adapter: opts.cluster.adapter } : {}),
    cors: {
      origin: (origin, cb) => cb(null, !origin || isOriginAllowed(origin, ctx.config.corsOrigins)),
      credentials: false,
    },
    // `cors` only answers long-polling requests; a browser's websocket handshake carries its
    // Origin too and is checked here (clients that send no Origin, such as agents, pass).
    allowRequest: (req, cb) => {
      const origin = req.headers.origin;
      cb(null, !origin || isOriginAllowed(origin, ctx.config.corsOrigins));
    },
    maxHttpBufferSize: 64 * 1024,
    parser: jsonParser,
  });
  coalesceFrames(io);
  answerEngineRefusals(io);
  // socket.io serves its main namespace `/` to anyone, with no middleware: a socket there
  // would sit on the node unauthenticated for as long as it answers pings. Only /realtime is served.
  io.of('/').use((_socket, next) => next(new Error('not_found')));
  const nsp = io.of('/realtime') as RealtimeNamespace;
  const db = ctx.database.db;
  const countUserSockets = createUserSocketCounter(nsp, opts.cluster);
  const onlineAmong = createOnlineUsersQuery(nsp, opts.cluster);
  const mayRelayTyping = createTypingThrottle(opts.cluster);
  /** Offline announcements in progress: `close()` lets them finish while the database is still open. */
  const offlineChecks = new Set<Promise<void>>();
  /** Each accepted socket's token and its first introspection, for the session watch (kept off socket.data, which the Redis adapter shares). */
  const sessions = new WeakMap<RealtimeSocket, { token: string; expiresAt?: number; cachedUntil: number }>();
  const roomOf = (s: StreamRef) => ('channel' in s ? rooms.channel(s.channel) : rooms.user(s.user));
  const delivery = createStreamDelivery({
    db,
    // Each process delivers streams to its own sockets; the others get the emits through `stream_emits` (or the log).
    deliverLocally: (emit) => deliverHere(nsp, emit),
    hasSubscribers: (s) => nsp.adapter.rooms.has(roomOf(s)),
    pollMs: opts.streamPollMs ?? STREAM_POLL_MS,
  });
  const accessSweep = startAccessSweep(nsp, db, ctx.config.tokenCacheSeconds * 1000);
  /**
   * A user's `channel.left` goes out only after the channel's events queued before it (a
   * catch-up from the log, say): nothing of the channel may reach the member after it.
   */
  const afterChannelOf = (e: EmitMessage): StreamRef | undefined =>
    e.event === 'channel.left' && 'user' in e.to && typeof e.data.channelId === 'string' ? { channel: e.data.channelId } : undefined;
  nsp.on('stream_emits', (emits: unknown) => {
    if (Array.isArray(emits)) for (const e of emits as EmitMessage[]) delivery.receive(e, afterChannelOf(e));
  });

  /**
   * A reader who lost access leaves the channel's rooms once every event up to `pos` (the
   * stream's position when the access was lost, or where the process that received the leave
   * applied it) was delivered here: not before events committed ahead of the loss, on any
   * process, whether they are queued, late or only in the log.
   */
  const leaveAt = (leave: PositionedLeave, passOn: boolean) =>
    delivery.at({ channel: leave.channelId }, leave.pos, (delivered) => {
      leaveHere(nsp, [leave.userId], leave.channelId);
      if (passOn && opts.cluster) nsp.serverSideEmit('stream_leaves', [{ userId: leave.userId, channelId: leave.channelId, pos: delivered }]);
    });
  nsp.on('stream_leaves', (leaves: unknown) => {
    if (Array.isArray(leaves)) for (const l of leaves as PositionedLeave[]) leaveAt(l, false);
  });

  /**
   * Applies what API requests produced, in order: positioned emits go through the stream
   * delivery here and are passed to the other processes; others are broadcast. A reader's
   * channel room leave waits for the channel's events up to its position (`leaveAt`).
   */
  function apply(ops: readonly RealtimeOp[]) {
    let forward: EmitMessage[] = [];
    const passOn = () => {
      if (forward.length > 0 && opts.cluster) nsp.serverSideEmit('stream_emits', forward);
      forward = [];
    };
    for (const op of ops) {
      if ('emit' in op) {
        const to = op.emit.to;
        // Unpositioned (a raw internal call): still after what is queued on its channel, such as a room leave.
        if (op.emit.pos === undefined) delivery.after('channel' in to ? { channel: to.channel } : null, () => dispatchEmits(nsp, [op.emit]));
        else {
          delivery.receive(op.emit, afterChannelOf(op.emit));
          forward.push(op.emit);
        }
        continue;
      }
      passOn();
      if ('leave' in op) leaveAt(op.leave, true);
      else setGuildRoom(nsp, op.guild.userId, op.guild.guildId, op.guild.member);
    }
    passOn();
  }

  /** Log reads in flight, by stream and range: the joins of one step with the same `since` read the log once. */
  const reads = new Map<string, Promise<StoredEvent[]>>();
  function sharedRead(stream: StreamRef, since: number, upTo: number): Promise<StoredEvent[]> {
    const key = `${streamKey(stream)}:${since}:${upTo}`;
    let read = reads.get(key);
    if (!read) {
      read = readStream(db, stream, since, upTo).finally(() => reads.delete(key));
      reads.set(key, read);
    }
    return read;
  }

  /** Membership re-checks waiting for the next turn of the event loop, by channel. */
  const rechecks = new Map<string, Recheck[]>();
  /** Whether `principal` may still read the channel; the re-checks of one join step share one query. */
  function stillReadable(principal: Principal, channelId: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let batch = rechecks.get(channelId);
      if (!batch) {
        const waiting: Recheck[] = (batch = []);
        rechecks.set(channelId, waiting);
        setImmediate(() => {
          rechecks.delete(channelId);
          channelReaders(
            db,
            channelId,
            waiting.map((w) => w.principal),
          ).then(
            (oks) => waiting.forEach((w, i) => w.resolve(oks[i])),
            (err: unknown) => waiting.forEach((w) => w.reject(err)),
          );
        });
      }
      batch.push({ principal, resolve, reject });
    });
  }

  /**
   * Sends `socket` the events of `stream` with `since < pos <= upTo`, marked `replayed`, a page
   * at a time; false when some of them are no longer retained (nothing sent, unless the trim
   * took the rest of the range while earlier pages went out: the client resyncs from what it
   * has). Null when the socket was closed for not reading: a page goes out only while the
   * socket holds less than MAX_UNSENT_BYTES unsent, so one that asks for replays and reads
   * nothing costs the process that much memory and a page, not the log's size per join.
   * `cancelled` (a leave_channel sent meanwhile) stops it before the next page.
   */
  async function replay(socket: RealtimeSocket, stream: StreamRef, since: number, upTo: number, cancelled = () => false): Promise<boolean | null> {
    const userId = socket.data.principal.kind === 'user' ? socket.data.principal.userId : null;
    // Stored events are typed by name only here: the log holds what the server emitted.
    const send = socket.emit.bind(socket) as (event: string, data: Record<string, unknown>) => boolean;
    for (let after = since; after < upTo;) {
      const until = Math.min(upTo, after + REPLAY_PAGE_EVENTS);
      const page = await sharedRead(stream, after, until);
      if (page.length !== until - after) return false;
      if (!socket.connected) return null;
      if (cancelled()) return true;
      // Checked right before a page goes out (other joins of this socket may have sent theirs meanwhile).
      if (unsentBytes(socket.conn) > MAX_UNSENT_BYTES) {
        log.warn('closing a realtime connection that does not read its replay', { socketId: socket.id, stream: streamKey(stream) });
        socket.disconnect(true);
        return null;
      }
      for (const e of page) send(e.event, withFields(payloadFor(toEmit(stream, e), userId), { replayed: true }));
      after = until;
      // A turn of the event loop between pages: with SQLite's synchronous reads a long replay
      // would otherwise hold the loop to its end (no other socket served, no leave read).
      if (after < upTo) await new Promise((resolve) => setImmediate(resolve));
    }
    return true;
  }

  // Everything asynchronous happens here, before the connection is accepted, so that the
  // socket is in its user and guild rooms by the time the client sees `connect`: an event
  // emitted right after (e.g. channel.joined) cannot slip past it.
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const fromQuery = socket.handshake.query.access_token;
    const token = typeof auth?.token === 'string' ? auth.token : typeof fromQuery === 'string' ? fromQuery : null;
    (async () => {
      const session = await authenticateSession(ctx, token);
      const principal = session.principal;
      sessions.set(socket, { token: token!, expiresAt: session.expiresAt, cachedUntil: session.cachedUntil });
      socket.data.principal = principal;
      if (principal.kind === 'guild') {
        socket.data.guildIds = [principal.guildId];
        socket.data.firstSocket = false;
        return;
      }
      const stream = { user: principal.userId };
      const [guilds, heads] = await Promise.all([db.selectFrom('guild_members').select('guild_id').where('user_id', '=', principal.userId).execute(), streamHeads(db, [stream])]);
      socket.data.guildIds = guilds.map((g) => g.guild_id);
      socket.data.userHead = heads.get(streamKey(stream)) ?? 0;
      // Counted before joining: two first sockets connecting at once may both announce
      // online, but a user who comes online is never left unannounced. Bounded in time: the
      // connection never waits on a realtime process that does not answer.
      socket.data.firstSocket = (await countUserSockets(principal.userId)) === 0;
    })().then(
      () => next(),
      (err: unknown) => {
        if (err instanceof HttpError) return next(new Error(err.status === 503 ? 'center_unavailable' : 'unauthorized'));
        log.error('connect setup failed', { error: err instanceof Error ? err.message : String(err) });
        next(new Error('internal'));
      },
    );
  });

  nsp.on('connection', (socket: RealtimeSocket) => {
    registerClientEvents(socket);
    const { principal, guildIds } = socket.data;
    const session = sessions.get(socket);
    if (session) {
      const deps = { center: ctx.center, db, cacheMs: ctx.config.tokenCacheSeconds * 1000 };
      const stopWatching = watchSession(deps, session.token, principal, session, (code, message) => {
        socket.emit('session.ended', { code, message });
        socket.disconnect(true);
      });
      socket.on('disconnect', stopWatching);
    }
    if (principal.kind === 'guild') {
      void socket.join(rooms.guild(principal.guildId));
      return;
    }
    socket.data.userBase = delivery.track({ user: principal.userId }, socket.data.userHead);
    void socket.join([rooms.user(principal.userId), ...guildIds.map(rooms.guild)]);
    if (socket.data.firstSocket) announcePresence(principal.userId, guildIds, 'online');
    socket.on('disconnect', () => {
      const task = (async () => {
        if ((await countUserSockets(principal.userId)) > 0) return;
        const current = await db.selectFrom('guild_members').select('guild_id').where('user_id', '=', principal.userId).execute();
        // A socket accepted meanwhile may have counted this one as still connected (so it announced
        // no online) and joined its rooms only now: counted again, it keeps the user online.
        if ((await countUserSockets(principal.userId)) > 0) return;
        announcePresence(
          principal.userId,
          current.map((g) => g.guild_id),
          'offline',
        );
      })()
        .catch((err: unknown) => log.warn('presence failed', { error: err instanceof Error ? err.message : String(err) }))
        .finally(() => offlineChecks.delete(task));
      offlineChecks.add(task);
    });
  });

  /** Tells the user's guilds that it came online (first socket) or went offline (last socket; counted across processes with the Redis adapter). */
  function announcePresence(userId: string, guildIds: string[], status: 'online' | 'offline') {
    if (guildIds.length > 0) nsp.to(guildIds.map(rooms.guild)).emit('presence', { userId, status });
  }

  /**
   * The per-socket flood limit (agent-rooms.md): every client event counts; over the limit an
   * event is not handled (its ack answers `rate_limited`; typing, with no ack, is dropped);
   * over twice it the session ends and the socket is disconnected.
   */
  function limitClientEvents(socket: RealtimeSocket) {
    const budget = createSocketEventBudget(ctx.config.socketEventsPer10s);
    let ended = false;
    socket.use((packet, next) => {
      const verdict = ended ? 'disconnect' : budget.count(Date.now());
      if (verdict === 'ok') return next();
      if (verdict === 'limited') {
        const reply = packet[packet.length - 1];
        if (typeof reply === 'function') reply(errorAck('rate_limited', 'too many events from this socket; slow down'));
        return;
      }
      if (ended) return;
      ended = true;
      log.warn('socket disconnected for flooding', { limitPer10s: ctx.config.socketEventsPer10s });
      // engine.io sends what is queued (this event) before it closes the connection.
      socket.emit('session.ended', { code: 'rate_limited', message: 'too many events from this socket' });
      socket.disconnect(true);
    });
  }

  function registerClientEvents(socket: RealtimeSocket) {
    limitClientEvents(socket);
    // An event the contract does not know gets its ack answered rather than left to time out.
    socket.use((packet, next) => {
      if (CLIENT_EVENTS.has(packet[0])) return next();
      const reply = packet[packet.length - 1];
      if (typeof reply === 'function') reply(errorAck('bad_request', `unknown event; the events are ${[...CLIENT_EVENTS].join(', ')}`));
    });
    const principal = socket.data.principal;
    const userId = principal.kind === 'user' ? principal.userId : null;

    /**
     * Joins of this socket still on their way into a room, by channel: a `leave_channel` sent
     * after a `join_channel` is answered at once, while the join waits for its checks and its
     * place in the stream's queue; the leave marks those joins so they do not enter the room.
     */
    const joinsInFlight = new Map<string, Set<{ left: boolean }>>();

    socket.on('join_channel', (...args: unknown[]) => {
      const { payload, reply } = splitArgs(args);
      const parsed = joinPayload.safeParse(boundedPayload(payload));
      if (!parsed.success) return reply(errorAck('bad_request', 'expected {channelId, since?} with since an integer >= 0'));
      const { channelId, since } = parsed.data;
      const stream = { channel: channelId };
      const channelRooms = rooms.ofChannelSubscriber(channelId, userId);
      const join = { left: false };
      const inFlight = joinsInFlight.get(channelId) ?? new Set();
      joinsInFlight.set(channelId, inFlight.add(join));
      requireReadableChannel(db, principal, channelId)
        // In the stream's queue: every event up to `pos` is replayed (or was before), every later one arrives live.
        .then(() =>
          delivery.subscribe(stream, async (pos): Promise<StreamAck | null> => {
            if (!socket.connected) return null;
            if (since !== undefined && since > pos) throw badRequest(`since is above the channel stream's position ${pos}`);
            // Left again before getting here: the join took place and was undone, so nothing is sent.
            if (join.left) return { ok: true, pos };
            await socket.join(channelRooms);
            // A removal that committed between the check and this step sent its room leave too
            // early, and the log up to `pos` may hold events after it: check again now that the
            // socket is in the room, before anything is replayed (a later removal's leave arrives
            // after this join and takes it out as usual). Still in the queued step, so no live
            // event reaches the socket before its replay, and none at all if it fails.
            if (!(await stillReadable(principal, channelId))) {
              for (const room of channelRooms) void socket.leave(room);
              throw notFound('channel');
            }
            // A leave_channel sent meanwhile takes the socket out of the rooms itself, and ends the replay.
            const replayed = since === undefined || (await replay(socket, stream, since, pos, () => join.left));
            if (replayed === null) return null;
            return replayed ? { ok: true, pos } : { ok: true, pos, resync: true };
          }),
        )
        .then((ack) => ack && reply(ack))
        .catch((err: unknown) => {
          // The user may not read the channel: a subscription the socket still holds (its room change was lost) ends with this answer.
          if (err instanceof HttpError && err.code === 'not_found') for (const room of channelRooms) void socket.leave(room);
          reply(ackFor(err));
        })
        .finally(() => {
          inFlight.delete(join);
          if (inFlight.size === 0 && joinsInFlight.get(channelId) === inFlight) joinsInFlight.delete(channelId);
        });
    });

    socket.on('resume_user', (...args: unknown[]) => {
      const { payload, reply } = splitArgs(args);
      const parsed = resumePayload.safeParse(boundedPayload(payload));
      if (!parsed.success) return reply(errorAck('bad_request', 'expected {since} with since an integer >= 0'));
      if (!userId) return reply(errorAck('bad_request', 'a guild token has no user stream'));
      const { since } = parsed.data;
      const stream = { user: userId };
      delivery
        .subscribe(stream, async (pos): Promise<StreamAck | null> => {
          if (since > pos) throw badRequest(`since is above the user stream's position ${pos}`);
          // Events after `userBase` reach this socket live (it is in its user room since it connected).
          const replayed = await replay(socket, stream, since, Math.min(pos, socket.data.userBase));
          if (replayed === null) return null;
          return replayed ? { ok: true, pos } : { ok: true, pos, resync: true };
        })
        .then((ack) => ack && reply(ack))
        .catch((err: unknown) => reply(ackFor(err)));
    });

    socket.on('leave_channel', (...args: unknown[]) => {
      const { payload, reply } = splitArgs(args);
      const parsed = channelPayload.safeParse(boundedPayload(payload));
      if (!parsed.success) return reply(errorAck('bad_request', 'expected {channelId}'));
      const { channelId } = parsed.data;
      for (const join of joinsInFlight.get(channelId) ?? []) join.left = true;
      void socket.leave(rooms.channel(channelId));
      if (userId) void socket.leave(rooms.channelUser(channelId, userId));
      reply({ ok: true });
    });

    socket.on('typing', (payload) => {
      const parsed = channelPayload.safeParse(boundedPayload(payload));
      if (!parsed.success || !userId) return;
      const { channelId } = parsed.data;
      mayRelayTyping(userId, channelId)
        .then(async (allowed) => {
          if (!allowed) return;
          const view = await requireReadableChannel(db, principal, channelId);
          if (view.isMember) nsp.to(rooms.channel(channelId)).except(rooms.user(userId)).emit('typing', { channelId, userId });
        })
        .catch(() => undefined);
    });
  }

  return {
    io,
    nsp,
    onlineAmong,
    apply,
    async close() {
      delivery.close();
      await accessSweep.stop();
      // Disconnecting starts the offline announcements; they finish before the adapter (Redis)
      // and the database close, so users of this process are announced offline to the others.
      // `local`: with the Redis adapter a plain disconnectSockets() reaches every process's sockets.
      nsp.local.disconnectSockets(true);
      await Promise.all([...offlineChecks]);
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}
