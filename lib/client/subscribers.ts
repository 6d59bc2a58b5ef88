/**
 * The handlers registered on a `FabricClient`: the typed ones (`onMessage`, …) and those for a
 * server event by name (`on`). What a handler throws or rejects goes to the error handlers.
 */
import type { ChannelMembershipEvent, Message, ServerEventName, ServerEventPayload, SessionEndedEvent, Turn } from '../realtime/events.js';
import type { MessageInfo, TurnInfo } from './client-types.js';

/** A handler may return a promise: its rejection is reported to onError. */
type Handler<A extends unknown[]> = (...args: A) => unknown;
export interface Handlers {
  message: Handler<[Message, MessageInfo]>;
  turn: Handler<[Turn, TurnInfo]>;
  channelJoined: Handler<[ChannelMembershipEvent]>;
  channelLeft: Handler<[ChannelMembershipEvent]>;
  sessionEnded: Handler<[SessionEndedEvent]>;
  resync: Handler<[{ channelId: string; messages: number }]>;
  connected: Handler<[{ reconnect: boolean }]>;
  disconnected: Handler<[{ reason: string }]>;
  error: Handler<[Error]>;
}

export class Subscribers {
  private readonly handlers: { [K in keyof Handlers]: Handlers[K][] } = {
    message: [],
    turn: [],
    channelJoined: [],
    channelLeft: [],
    sessionEnded: [],
    resync: [],
    connected: [],
    disconnected: [],
    error: [],
  };
  private readonly eventHandlers = new Map<ServerEventName, ((payload: never) => void)[]>();

  /** Adds a typed handler; returns the unsubscribe function. */
  add<K extends keyof Handlers>(kind: K, fn: Handlers[K]): () => void {
    this.handlers[kind].push(fn);
    return () => {
      const i = this.handlers[kind].indexOf(fn);
      if (i >= 0) this.handlers[kind].splice(i, 1);
    };
  }

  /** Adds a handler for a server event by name; returns the unsubscribe function. */
  on<E extends ServerEventName>(event: E, fn: (payload: ServerEventPayload<E>) => void): () => void {
    const list = this.eventHandlers.get(event) ?? [];
    const handler = fn as (payload: never) => void;
    list.push(handler);
    this.eventHandlers.set(event, list);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Calls every handler of `kind`, in the order they were added. */
  call<K extends keyof Handlers>(kind: K, ...args: Parameters<Handlers[K]>): void {
    for (const fn of this.handlers[kind]) this.run(() => (fn as (...a: Parameters<Handlers[K]>) => unknown)(...args), kind !== 'error');
  }

  /** Runs one handler; what it throws or rejects is reported (not for an error handler: no loop). */
  private run(handler: () => unknown, report: boolean): void {
    try {
      const r = handler();
      if (r instanceof Promise) r.catch((err: unknown) => report && this.fail(err));
    } catch (err) {
      if (report) this.fail(err);
    }
  }

  /** Reports an error to the error handlers. */
  fail(err: unknown): void {
    this.call('error', err instanceof Error ? err : new Error(String(err)));
  }

  /** Calls every handler added with `on` for `event`; an async one that rejects is reported too. */
  emitEvent<E extends ServerEventName>(event: E, payload: ServerEventPayload<E>): void {
    for (const fn of this.eventHandlers.get(event) ?? []) this.run(() => (fn as (p: ServerEventPayload<E>) => unknown)(payload), true);
  }
}
