/**
 * The typed event map (lib/realtime/events.ts) against what the server emits. The type
 * assertions are checked by `tsc --noEmit` (part of `npm test`): the server's API objects must
 * be the map's payloads, and `emitTo` must refuse a wrong event, room or payload. The runtime
 * part checks that what the builders produce passes the internal channel's schema.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Canvas as ServerCanvas } from '../lib/canvas/canvas.js';
import type { Channel as ServerChannel } from '../lib/channels/channel-shape.js';
import type { Message as ServerMessage, toDeletedEvent } from '../lib/messages/message-shape.js';
import { emitTo } from '../lib/realtime/emitter.js';
import { emitMessageSchema } from '../lib/realtime/internal-schemas.js';
import {
  CHANNEL_STREAM_EVENTS,
  USER_STREAM_EVENTS,
  type Canvas,
  type Channel,
  type ChannelStreamEvent,
  type EmitPayload,
  type Message,
  type ServerEventName,
  type ServerToClientEvents,
  type Turn,
  type TurnReason,
} from '../lib/realtime/events.js';
import type { Turn as ServerTurn, TurnReason as ServerTurnReason } from '../lib/turns/turn-store.js';
import type { RealtimeNamespace } from '../realtime/app.js';

describe('the event map against the server', () => {
  it("types the server's API objects as the map's payloads", () => {
    expectTypeOf<ServerMessage>().toMatchTypeOf<Message>();
    expectTypeOf<ServerMessage>().toMatchTypeOf<EmitPayload<'message.created'>>();
    expectTypeOf<ReturnType<typeof toDeletedEvent>>().toMatchTypeOf<EmitPayload<'message.deleted'>>();
    expectTypeOf<ServerTurn>().toMatchTypeOf<Turn>();
    expectTypeOf<ServerTurnReason>().toMatchTypeOf<TurnReason>();
    expectTypeOf<ServerChannel>().toMatchTypeOf<Channel>();
    expectTypeOf<ServerCanvas>().toMatchTypeOf<Canvas>();
    // The realtime namespace is typed by the same map.
    expectTypeOf<Parameters<RealtimeNamespace['emit']>[0]>().toEqualTypeOf<ServerEventName>();
  });

  it('leaves the delivery fields to the node: pos, replayed, wakeup, wakeReason', () => {
    expectTypeOf<EmitPayload<'message.created'>>().not.toHaveProperty('pos');
    expectTypeOf<EmitPayload<'message.created'>>().not.toHaveProperty('wakeup');
    expectTypeOf<EmitPayload<'turn.updated'>>().not.toHaveProperty('wakeReason');
    expectTypeOf<Parameters<ServerToClientEvents['message.created']>[0]>().toHaveProperty('pos').toEqualTypeOf<number>();
    expectTypeOf<Parameters<ServerToClientEvents['turn.updated']>[0]>().toHaveProperty('wakeup').toEqualTypeOf<boolean>();
  });

  it('refuses, at compile time, an emit with a wrong payload, room or event', () => {
    const message = {} as ServerMessage;
    const build = () => [
      // @ts-expect-error a message.created payload must be a message
      emitTo.channel('c', 'message.created', { id: 'x' }),
      // @ts-expect-error channel.joined goes to a user's room, not a channel's
      emitTo.channel('c', 'channel.joined', { channelId: 'c', userId: 'u', xType: 'general', occurredAt: '' }),
      // @ts-expect-error message.created goes to a channel's room
      emitTo.user('u', 'message.created', message),
      // @ts-expect-error not an event of the map
      emitTo.channel('c', 'message.exploded', {}),
      // @ts-expect-error turn.updated needs its reason
      emitTo.channel('c', 'turn.updated', {} as ServerTurn),
      // @ts-expect-error an xType outside the six
      emitTo.user('u', 'channel.left', { channelId: 'c', userId: 'u', xType: 'chat', occurredAt: '' }),
    ];
    expect(typeof build).toBe('function');
  });

  it("builds wire messages that pass the internal channel's schema", () => {
    const now = new Date(0).toISOString();
    const message: ServerMessage = {
      id: 'm',
      channelId: 'c',
      guildId: 'g',
      seq: 1,
      authorId: 'a',
      content: 'hi',
      replyToId: null,
      mentions: [],
      attachments: [],
      clientMsgId: null,
      createdAt: now,
      editedAt: null,
      deletedAt: null,
    };
    const wire = [
      emitTo.channel('c', 'message.created', message, { u1: 'general' }),
      emitTo.channel('c', 'canvas.removed', { channelId: 'c' }),
      emitTo.user('u', 'channel.joined', { channelId: 'c', userId: 'u', xType: 'discuss', occurredAt: now }),
      emitTo.guild('g', 'presence', { userId: 'u', status: 'online' }),
    ];
    for (const w of wire) expect(emitMessageSchema.safeParse(w).success).toBe(true);
    expect(wire[0]).toEqual({ to: { channel: 'c' }, event: 'message.created', data: message, wake: ['u1'], wakeReasons: { u1: 'general' } });
  });

  it('lists each stream event once, in one stream only', () => {
    const all: string[] = [...CHANNEL_STREAM_EVENTS, ...USER_STREAM_EVENTS];
    expect(new Set(all).size).toBe(all.length);
    expectTypeOf<ChannelStreamEvent>().toMatchTypeOf<ServerEventName>();
  });
});
