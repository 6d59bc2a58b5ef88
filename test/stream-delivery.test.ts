/**
 * realtime/stream-delivery.ts without a database (a stream tracked from a known head): events
 * that arrive together are delivered in one step, in position order, once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EmitMessage } from '../lib/realtime/emitter.js';
import { createStreamDelivery } from '../realtime/stream-delivery.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const emitAt = (pos: number): EmitMessage => ({ to: { channel: 'c1' }, event: 'message.created', data: { pos }, pos }) as EmitMessage;
/** Lets `turns` microtask turns pass. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

let close: (() => void) | undefined;
afterEach(() => close?.());

function tracked(head: number) {
  const delivered: number[] = [];
  const delivery = createStreamDelivery({ db: undefined as never, deliverLocally: (e) => void delivered.push(e.pos!), hasSubscribers: () => true, pollMs: 60_000 });
  close = delivery.close;
  delivery.track({ channel: 'c1' }, head);
  return { delivery, delivered };
}

describe('stream delivery', () => {
  it('delivers the events that arrive in one turn in one step, in position order', async () => {
    const { delivery, delivered } = tracked(0);
    for (const pos of range(1, 20)) delivery.receive(emitAt(pos));
    // One step for all of them: a step per event (two turns each) had delivered two by now.
    await turns(4);
    expect(delivered).toEqual(range(1, 20));
  });

  it('orders events that arrive out of order and drops repeats', async () => {
    const { delivery, delivered } = tracked(5);
    for (const pos of [8, 6, 7, 6, 5, 3, 9]) delivery.receive(emitAt(pos));
    await turns(4);
    expect(delivered).toEqual([6, 7, 8, 9]);
    delivery.receive(emitAt(10));
    delivery.receive(emitAt(9));
    await turns(4);
    expect(delivered).toEqual([6, 7, 8, 9, 10]);
  });
});
