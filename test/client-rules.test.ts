/**
 * The pure parts of the client SDK (lib/client): the per-stream ordering and dedup buffer,
 * the backoff, and the post retry policy.
 */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../lib/client/backoff.js';
import { decideRetry, DEFAULT_RETRY_POLICY, parseRetryAfter, type TryOutcome } from '../lib/client/retry-policy.js';
import { RecentKeys, StreamOrder } from '../lib/client/stream-order.js';
import { initialTurnWake, noteMessageWake, noteTurn, tellOnReread } from '../lib/client/turn-wake.js';

const ev = (pos?: number, tag = '') => ({ pos, tag });
const positions = (events: { pos?: number }[]) => events.map((e) => e.pos);

describe('StreamOrder (one stream, in pos order, once)', () => {
  it('delivers in order, holding events that arrive ahead of a gap until it fills', () => {
    const s = new StreamOrder<{ pos?: number }>(0);
    expect(positions(s.push(ev(1)))).toEqual([1]);
    expect(s.push(ev(3))).toEqual([]);
    expect(s.push(ev(4))).toEqual([]);
    expect(s.hasGap).toBe(true);
    expect(positions(s.push(ev(2)))).toEqual([2, 3, 4]);
    expect(s.hasGap).toBe(false);
    expect(s.lastPos).toBe(4);
  });

  it('drops duplicates: positions already delivered and positions already waiting', () => {
    const s = new StreamOrder<{ pos?: number }>(5);
    expect(s.push(ev(5))).toEqual([]);
    expect(s.push(ev(3))).toEqual([]);
    expect(s.push(ev(7))).toEqual([]);
    expect(s.push(ev(7, 'again'))).toEqual([]);
    expect(s.push(ev(6)).map((e) => `${e.pos}${(e as { tag?: string }).tag}`)).toEqual(['6', '7']);
  });

  it('replay and live events overlapping at the seam come out once each, in order', () => {
    // Rejoined with since 2: live 5 arrives, then the replay 3, 4, 5 (replayed), then live 6.
    const s = new StreamOrder<{ pos?: number }>(2);
    const out = [...s.push(ev(5)), ...s.push(ev(3)), ...s.push(ev(4)), ...s.push(ev(5)), ...s.push(ev(6))];
    expect(positions(out)).toEqual([3, 4, 5, 6]);
  });

  it('with an unknown start, the first event starts the stream; a later ack never goes back', () => {
    const s = new StreamOrder<{ pos?: number }>();
    expect(positions(s.push(ev(10)))).toEqual([10]);
    expect(s.startAt(8)).toEqual([]);
    expect(s.lastPos).toBe(10);
    expect(positions(s.push(ev(11)))).toEqual([11]);
  });

  it('startAt (a join ack) skips what it covers and releases what follows', () => {
    const s = new StreamOrder<{ pos?: number }>(null);
    s.startAt(4);
    expect(s.push(ev(4))).toEqual([]);
    expect(s.push(ev(6))).toEqual([]);
    expect(positions(s.startAt(5))).toEqual([6]);
  });

  it('restartAt takes back positions counted as delivered without being delivered; what waits ahead stays, and it never moves forward', () => {
    const s = new StreamOrder<{ pos?: number }>(5);
    expect(s.push(ev(7))).toEqual([]);
    s.restartAt(2);
    expect(s.lastPos).toBe(2);
    expect(positions(s.push(ev(3)))).toEqual([3]);
    expect(s.push(ev(5))).toEqual([]);
    expect(positions(s.push(ev(4)))).toEqual([4, 5]);
    expect(positions(s.push(ev(6)))).toEqual([6, 7]);
    s.restartAt(9);
    expect(s.lastPos).toBe(7);
  });

  it('holds every arrival during a resync and releases them past the new position, in order', () => {
    const s = new StreamOrder<{ pos?: number }>(3);
    s.hold();
    expect(s.push(ev(12))).toEqual([]);
    expect(s.push(ev(11))).toEqual([]);
    expect(s.push(ev(9))).toEqual([]);
    expect(positions(s.release(10))).toEqual([11, 12]);
    expect(s.lastPos).toBe(12);
  });

  it('keeps at most maxWaiting events behind a gap; the rest stay missing until delivered again', () => {
    const s = new StreamOrder<{ pos?: number }>(1, 3);
    for (let p = 3; p <= 50; p++) expect(s.push(ev(p))).toEqual([]);
    expect(s.waiting).toBe(3);
    // The missing position is still taken, and releases what was kept; the rest is a gap.
    expect(positions(s.push(ev(2)))).toEqual([2, 3, 4, 5]);
    expect(s.hasGap).toBe(true);
    // The replay that fills it (positions after the last delivered) brings them once each.
    const replayed = Array.from({ length: 45 }, (_, i) => i + 6).flatMap((p) => s.push(ev(p)));
    expect(positions(replayed)).toEqual(Array.from({ length: 45 }, (_, i) => i + 6));
    expect(s.hasGap).toBe(false);
  });

  it('keeps at most maxWaiting events while held; those not kept are a gap after the release', () => {
    const s = new StreamOrder<{ pos?: number }>(3, 2);
    s.hold();
    for (const p of [11, 12, 13, 14]) s.push(ev(p));
    expect(s.waiting).toBe(2);
    expect(positions(s.release(10))).toEqual([11, 12]);
    expect(s.hasGap).toBe(true);
    expect(positions([13, 14].flatMap((p) => s.push(ev(p))))).toEqual([13, 14]);
    expect(s.hasGap).toBe(false);
  });

  it('passes events without pos (a node without the event log) straight through, in arrival order', () => {
    const s = new StreamOrder<{ pos?: number; tag: string }>();
    expect(s.push(ev(undefined, 'a')).map((e) => e.tag)).toEqual(['a']);
    s.hold();
    s.push(ev(undefined, 'b'));
    s.push(ev(undefined, 'c'));
    expect(s.release(null).map((e) => e.tag)).toEqual(['b', 'c']);
  });

  it('delivers every permutation of a stream exactly once and in order (with duplicates mixed in)', () => {
    for (let round = 0; round < 200; round++) {
      const n = 1 + (round % 12);
      const arrivals = Array.from({ length: n }, (_, i) => i + 1);
      for (let i = 0; i < n; i++) if ((round + i) % 3 === 0) arrivals.push(i + 1);
      for (let i = arrivals.length - 1; i > 0; i--) {
        const j = (round * 31 + i * 17) % (i + 1);
        [arrivals[i], arrivals[j]] = [arrivals[j], arrivals[i]];
      }
      const s = new StreamOrder<{ pos?: number }>(0);
      const out = arrivals.flatMap((p) => s.push(ev(p)));
      expect(positions(out)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
  });
});

describe('RecentKeys', () => {
  it('says whether a key is new, forgetting the oldest beyond its limit', () => {
    const k = new RecentKeys(2);
    expect([k.add('a'), k.add('a'), k.add('b'), k.add('c'), k.add('a')]).toEqual([true, false, true, true, true]);
  });
});

describe('backoffDelay', () => {
  const opts = { baseMs: 100, maxMs: 1000, factor: 2 };
  it.each([
    [1, 0, 50],
    [1, 1, 100],
    [2, 0, 100],
    [3, 1, 400],
    [5, 1, 1000],
    [30, 0, 500],
  ])('attempt %i with random %d waits %i ms', (attempt, r, ms) => {
    expect(backoffDelay(attempt, opts, () => r)).toBe(ms);
  });

  it('stays between half the ceiling and the ceiling, never zero', () => {
    for (let a = 1; a < 20; a++) {
      const d = backoffDelay(a, opts);
      const ceiling = Math.min(1000, 100 * 2 ** (a - 1));
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
  });
});

describe('decideRetry (posts with clientMsgId)', () => {
  const status = (s: number, retryAfterMs?: number | null): TryOutcome => ({ kind: 'status', status: s, retryAfterMs });
  const first = { attempts: 1, rateLimitedRetries: 0 };

  it.each([
    ['a network error', { kind: 'network' } as TryOutcome, true],
    ['500 internal', status(500), true],
    ['502', status(502), true],
    ['503 db_unavailable', status(503), true],
    ['400 bad_request', status(400), false],
    ['401 unauthorized', status(401), false],
    ['403 forbidden', status(403), false],
    ['404 not_found', status(404), false],
    ['409 channel_closed', status(409), false],
    ['413 payload_too_large', status(413), false],
  ])('after %s: retry = %s', (_name, outcome, retry) => {
    expect(decideRetry(outcome, first, DEFAULT_RETRY_POLICY).retry).toBe(retry);
  });

  it('backs off on transient failures and gives up after maxAttempts tries', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 3, backoff: { baseMs: 100, maxMs: 1000 } };
    const d1 = decideRetry(status(503), { attempts: 1, rateLimitedRetries: 0 }, policy, () => 1);
    const d2 = decideRetry(status(503), { attempts: 2, rateLimitedRetries: 0 }, policy, () => 1);
    expect(d1).toEqual({ retry: true, delayMs: 100, rateLimited: false });
    expect(d2).toEqual({ retry: true, delayMs: 200, rateLimited: false });
    expect(decideRetry(status(503), { attempts: 3, rateLimitedRetries: 0 }, policy)).toEqual({ retry: false });
  });

  it('retries a 429 exactly once, after its Retry-After', () => {
    expect(decideRetry(status(429, 3000), first)).toEqual({ retry: true, delayMs: 3000, rateLimited: true });
    expect(decideRetry(status(429, 3000), { attempts: 2, rateLimitedRetries: 1 })).toEqual({ retry: false });
    // Even when it is the last try for other failures: the 429 retry is its own.
    expect(decideRetry(status(429, 1000), { attempts: 99, rateLimitedRetries: 0 }).retry).toBe(true);
  });

  it('uses a default wait for a 429 without a usable Retry-After, and gives up on an unreasonable one', () => {
    expect(decideRetry(status(429, null), first)).toEqual({ retry: true, delayMs: DEFAULT_RETRY_POLICY.defaultRetryAfterMs, rateLimited: true });
    expect(decideRetry(status(429, 3_600_000), first)).toEqual({ retry: false });
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['7', 7000],
    [' 1 ', 1000],
    ['0', 0],
    ['soon', null],
    [null, null],
    ['-3', null],
  ])('%j → %j ms', (header, ms) => {
    expect(parseRetryAfter(header as string | null)).toBe(ms);
  });

  it('reads an HTTP date relative to now', () => {
    const now = Date.parse('2026-12-06T07:00:00Z');
    expect(parseRetryAfter('Sun, 06 Dec 2026 07:00:05 GMT', now)).toBe(5000);
  });
});

describe('turn wake bookkeeping (re-read after a reconnect)', () => {
  const me = 'me';
  const turn = (updatedAt: string, speakerId: string | null = me) => ({ status: 'active' as const, speakerId, updatedAt });
  const event = (updatedAt: string, wakeup: boolean, reason: 'message' | 'ack' = 'message', speakerId: string | null = me) => ({
    speakerId,
    updatedAt,
    wakeup,
    reason,
  });

  it('tells about a turn nobody told the agent about, once', () => {
    const s = initialTurnWake();
    expect(tellOnReread(s, turn('t1'), me)).toBe(true);
    expect(tellOnReread(s, turn('t1'), me)).toBe(false);
    expect(tellOnReread(s, turn('t2'), me)).toBe(true);
  });

  it("never tells about someone else's turn, an idle turn, or without knowing who the agent is", () => {
    const s = initialTurnWake();
    expect(tellOnReread(s, turn('t1', 'other'), me)).toBe(false);
    expect(tellOnReread(s, { ...turn('t1'), status: 'idle' }, me)).toBe(false);
    expect(tellOnReread(s, turn('t1'), null)).toBe(false);
  });

  it('counts a turn.updated with wakeup as told', () => {
    const s = initialTurnWake();
    noteTurn(s, event('t1', true, 'ack'), me);
    expect(tellOnReread(s, turn('t1'), me)).toBe(false);
  });

  it('counts a woken message.created next to its turn.updated as told, in either order', () => {
    const before = initialTurnWake();
    noteMessageWake(before, me);
    noteTurn(before, event('t1', false), me);
    expect(tellOnReread(before, turn('t1'), me)).toBe(false);

    const after = initialTurnWake();
    noteTurn(after, event('t1', false), me);
    noteMessageWake(after, me);
    expect(tellOnReread(after, turn('t1'), me)).toBe(false);
  });

  it('does not count a turn.updated without wakeup and without a woken message', () => {
    const s = initialTurnWake();
    noteTurn(s, event('t1', false), me);
    expect(tellOnReread(s, turn('t1'), me)).toBe(true);
  });

  it('does not carry a woken message over to a later turn change', () => {
    const s = initialTurnWake();
    noteMessageWake(s, me);
    noteTurn(s, event('t1', false, 'message', 'other'), me);
    noteTurn(s, event('t2', false, 'message'), me);
    expect(tellOnReread(s, turn('t2'), me)).toBe(true);
  });
});

describe('lib/client imports', () => {
  it('imports nothing of the server but the event map (it ships to browsers and plugins)', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const allowed = new Set(['socket.io-client', '../realtime/events.js']);
    for (const file of readdirSync('lib/client')) {
      const source = readFileSync(`lib/client/${file}`, 'utf8');
      for (const [, spec] of source.matchAll(/from '([^']+)'/g)) {
        expect(allowed.has(spec) || /^\.\/[\w-]+\.js$/.test(spec), `${file} imports ${spec}`).toBe(true);
      }
    }
  });
});
