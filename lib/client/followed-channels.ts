/**
 * The channels a client follows, and the membership bookkeeping around them: what it
 * remembers of the channels it left, the memberships that change while a channel listing is
 * read, and where a channel's stream starts (its head, or `joinBacklogEvents` back for a
 * membership newer than the client's start).
 */
import type { Channel, ChannelXType } from '../realtime/events.js';
import type { FabricClientOptions } from './client-types.js';
import { stopTimers, type StreamFollow } from './stream-follow.js';
import { RecentKeys, StreamOrder } from './stream-order.js';
import { initialTurnWake, type TurnWakeState } from './turn-wake.js';

export interface ChannelState extends StreamFollow {
  id: string;
  xType: ChannelXType | null;
  /** Highest message seq seen: where a REST resync starts. */
  lastSeq: number;
  seen: RecentKeys;
  /** The join in flight, so that a listing and a channel.joined do not subscribe twice. */
  joining: Promise<void> | null;
  /** What the agent was told about its turn here (turn-wake.ts). */
  turnWake: TurnWakeState;
  /** The node's stream went back below this client's position: the next join acknowledged is caught up through REST (see `rewind`). */
  resyncOnAck: boolean;
  /** Joined with `join()`: kept on reconnect even when not in the member listing. */
  byHand: boolean;
  /** The position the stream started at when that was the channel's head in the first listing (see startAtMembership). */
  listedHead: number | null;
}

/**
 * Where a channel's stream starts: `since` of its first join (null: at the ack), the seq a
 * REST resync pages from, and whether that is its head in the client's first listing.
 */
export type Start = { pos: number | null; lastSeq: number; listedHead?: true };

/** What happened to a channel's membership while a listing was read. */
export type MembershipChange = 'joined' | 'left';

/** How many left channels the client remembers (their position, and leaves that drop a follow in flight). */
const LEFT_MEMORY = 1000;
const DEFAULT_JOIN_BACKLOG_EVENTS = 300;
export const DEFAULT_MAX_WAITING_EVENTS = 1000;

export class FollowedChannels {
  private readonly byId = new Map<string, ChannelState>();
  /**
   * Channels left (or dropped from the listing), most recent last, at most LEFT_MEMORY: how
   * many times (a follow in flight compares it to drop itself after a leave), and the position
   * and seq reached, so that following the channel again does not deliver those events twice.
   */
  private readonly left = new Map<string, { leaves: number; pos: number | null; lastSeq: number }>();
  /**
   * Channels the application left with `leave()`, most recent last, at most LEFT_MEMORY: the
   * listing does not follow them again (the user is still a member) until `join()`, or a new
   * membership (`channel.joined`), says otherwise.
   */
  private readonly leftByApp = new Set<string>();
  /** Per channel listing in flight, the channels joined or left meanwhile: newer than the listing (see FabricClient.subscribeAll). */
  private readonly listingsInFlight = new Set<Map<string, MembershipChange>>();

  constructor(private readonly opts: Pick<FabricClientOptions, 'joinBacklogEvents' | 'maxWaitingEvents'>) {}

  get(id: string): ChannelState | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  values(): IterableIterator<ChannelState> {
    return this.byId.values();
  }

  entries(): IterableIterator<[string, ChannelState]> {
    return this.byId.entries();
  }

  /** How many times the channel was left: a follow in flight that sees it change drops itself. */
  leaves(id: string): number {
    return this.left.get(id)?.leaves ?? 0;
  }

  /** The channel's state, created with `start` when it is not followed yet. */
  getOrCreate(id: string, xType: ChannelXType | null, start: Start): ChannelState {
    let state = this.byId.get(id);
    if (!state) {
      state = {
        id,
        xType,
        stream: new StreamOrder(start.pos, this.opts.maxWaitingEvents ?? DEFAULT_MAX_WAITING_EVENTS),
        lastSeq: start.lastSeq,
        seen: new RecentKeys(),
        subscribed: false,
        joining: null,
        caughtUpTo: 0,
        attempt: 0,
        turnWake: initialTurnWake(),
        resyncOnAck: false,
        byHand: false,
        listedHead: start.listedHead ? start.pos : null,
      };
      this.byId.set(id, state);
    }
    state.xType ??= xType;
    return state;
  }

  /** Stops following a channel and remembers how far it got; `leave` also drops a follow in flight. */
  forget(channelId: string, leave: boolean): void {
    const state = this.byId.get(channelId);
    if (state) stopTimers(state);
    this.byId.delete(channelId);
    const before = this.left.get(channelId);
    this.left.delete(channelId);
    this.left.set(channelId, {
      leaves: (before?.leaves ?? 0) + (leave ? 1 : 0),
      pos: state ? state.stream.lastPos : (before?.pos ?? null),
      lastSeq: state ? state.lastSeq : (before?.lastSeq ?? 0),
    });
    if (this.left.size > LEFT_MEMORY) this.left.delete(this.left.keys().next().value!);
  }

  /** The application left the channel (`leave()`): reconnect listings do not follow it again. */
  markLeftByApp(id: string): void {
    this.leftByApp.delete(id);
    this.leftByApp.add(id);
    if (this.leftByApp.size > LEFT_MEMORY) this.leftByApp.delete(this.leftByApp.values().next().value!);
  }

  /** `join()` or a new membership: the channel may be followed again. */
  clearLeftByApp(id: string): void {
    this.leftByApp.delete(id);
  }

  isLeftByApp(id: string): boolean {
    return this.leftByApp.has(id);
  }

  /** A channel listing starts: the returned map collects the memberships that change until `listingDone`. */
  listingStarted(): Map<string, MembershipChange> {
    const meanwhile = new Map<string, MembershipChange>();
    this.listingsInFlight.add(meanwhile);
    return meanwhile;
  }

  listingDone(meanwhile: Map<string, MembershipChange>): void {
    this.listingsInFlight.delete(meanwhile);
  }

  noteMembership(channelId: string, change: MembershipChange): void {
    for (const meanwhile of this.listingsInFlight) meanwhile.set(channelId, change);
  }

  /** A channel followed from where it stands now: the position the node reported (the join ack's when it reports none). */
  headStart(channel: Channel): Start {
    return { pos: channel.eventPos ?? null, lastSeq: channel.lastSeq };
  }

  /**
   * A channel the user became a member of after the client started: `joinBacklogEvents`
   * back from where it stands now, so that the replay covers what followed the membership
   * (with each message's own `wakeup`), but not before a position already delivered here.
   */
  backlogStart(channel: Pick<Channel, 'id' | 'eventPos' | 'lastSeq'>): Start {
    const back = Math.max(0, this.opts.joinBacklogEvents ?? DEFAULT_JOIN_BACKLOG_EVENTS);
    const before = this.left.get(channel.id);
    const pos = channel.eventPos === undefined ? null : Math.max(0, channel.eventPos - back, before?.pos ?? 0);
    return { pos, lastSeq: Math.max(0, channel.lastSeq - back, before?.lastSeq ?? 0) };
  }

  /**
   * The node refused `since` as above its position (its database restored from a backup): the
   * positions and seqs after the restore point were given again to other events. The stream
   * forgets its position and holds what arrives; the next join goes without `since`, and its
   * ack is caught up through REST from `joinBacklogEvents` messages before the last seq seen
   * (what was delivered already is skipped by id), so that messages stored after the restore
   * under seqs this client had seen are not skipped.
   */
  rewind(state: ChannelState): void {
    const back = Math.max(0, this.opts.joinBacklogEvents ?? DEFAULT_JOIN_BACKLOG_EVENTS);
    state.stream.reset();
    state.stream.hold();
    state.caughtUpTo = 0;
    state.lastSeq = Math.max(0, state.lastSeq - back);
    state.resyncOnAck = true;
  }

  /**
   * A `channel.joined` that comes after the first listing started the channel at its head (the
   * event was late, or lost and fetched again): the membership committed while that listing
   * was read, so what was posted between the two is taken again from `joinBacklogEvents`
   * before that head, as for any channel joined after the start. Not once an event past the
   * head was delivered (order comes first). True when the start moved back.
   */
  startAtMembership(state: ChannelState): boolean {
    const head = state.listedHead;
    state.listedHead = null;
    if (head === null || state.stream.lastPos !== head) return false;
    const start = this.backlogStart({ id: state.id, eventPos: head, lastSeq: state.lastSeq });
    if (start.pos === null || start.pos >= head) return false;
    state.stream.restartAt(start.pos);
    state.lastSeq = start.lastSeq;
    return true;
  }
}
