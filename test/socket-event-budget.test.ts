/**
 * lib/realtime/socket-event-budget.ts: per-socket counting of client events over the last
 * 10 s (agent-rooms.md "Flood control"), with the clock as a parameter.
 */
import { describe, expect, it } from 'vitest';
import { createSocketEventBudget, type SocketEventVerdict } from '../lib/realtime/socket-event-budget.js';

/** The verdicts of `n` events at `atMs`. */
const verdicts = (budget: ReturnType<typeof createSocketEventBudget>, n: number, atMs: number) => {
  const seen: Record<SocketEventVerdict, number> = { ok: 0, limited: 0, disconnect: 0 };
  for (let i = 0; i < n; i++) seen[budget.count(atMs)]++;
  return seen;
};

describe('createSocketEventBudget', () => {
  it('lets the limit through, refuses up to twice it, then ends the session', () => {
    const b = createSocketEventBudget(1000);
    expect(verdicts(b, 5000, 0)).toEqual({ ok: 1000, limited: 1000, disconnect: 3000 });
  });

  it('counts over the last ten seconds, not per second', () => {
    const b = createSocketEventBudget(10);
    for (let s = 0; s < 10; s++) expect(b.count(s * 1000)).toBe('ok');
    expect(b.count(9_999)).toBe('limited');
    // At 10 s the events of second 0 (one) leave the window.
    expect(b.count(10_000)).toBe('limited');
    expect(verdicts(b, 1, 11_000)).toEqual({ ok: 0, limited: 1, disconnect: 0 });
  });

  it('forgets everything after ten quiet seconds', () => {
    const b = createSocketEventBudget(3);
    expect(verdicts(b, 7, 0)).toEqual({ ok: 3, limited: 3, disconnect: 1 });
    expect(verdicts(b, 3, 10_000)).toEqual({ ok: 3, limited: 0, disconnect: 0 });
    expect(verdicts(b, 3, 60_000)).toEqual({ ok: 3, limited: 0, disconnect: 0 });
  });

  it('keeps a client rejoining hundreds of channels within the default', () => {
    const b = createSocketEventBudget(1000);
    expect(verdicts(b, 800, 5_000)).toEqual({ ok: 800, limited: 0, disconnect: 0 });
  });

  it('spreads a steady rate over the window: 150 events a second against 1000 per 10 s', () => {
    const b = createSocketEventBudget(1000);
    const seen = { ok: 0, limited: 0, disconnect: 0 };
    for (let s = 0; s < 10; s++) {
      const v = verdicts(b, 150, s * 1000);
      for (const k of Object.keys(seen) as SocketEventVerdict[]) seen[k] += v[k];
    }
    expect(seen).toEqual({ ok: 1000, limited: 500, disconnect: 0 });
  });

  it('does not count a clock that steps back as new time', () => {
    const b = createSocketEventBudget(2);
    expect(verdicts(b, 2, 50_000)).toEqual({ ok: 2, limited: 0, disconnect: 0 });
    expect(verdicts(b, 1, 40_000)).toEqual({ ok: 0, limited: 1, disconnect: 0 });
  });

  it('is off at 0', () => {
    expect(verdicts(createSocketEventBudget(0), 100_000, 0)).toEqual({ ok: 100_000, limited: 0, disconnect: 0 });
  });
});
