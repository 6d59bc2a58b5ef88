import { describe, expect, it } from 'vitest';
import { newId } from '../lib/ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('newId', () => {
  it('is a UUIDv7 whose timestamp is the time it was made', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after + 1);
  });

  it('sorts in the order the ids were made, unique, even thousands within one millisecond', () => {
    const ids = Array.from({ length: 200_000 }, () => newId());
    for (let i = 1; i < ids.length; i++) if (!(ids[i - 1] < ids[i])) expect.fail(`id ${i} (${ids[i]}) does not sort after ${ids[i - 1]}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) if (!V7.test(id)) expect.fail(`${id} is not a UUIDv7`);
    // More ids than one millisecond's counter holds were made in some millisecond, so the
    // timestamp ran ahead of the clock there, and never by much.
    const perMs = new Map<number, number>();
    for (const id of ids) perMs.set(msOf(id), (perMs.get(msOf(id)) ?? 0) + 1);
    expect(Math.max(...perMs.values())).toBeLessThanOrEqual(4096);
    expect(msOf(ids[ids.length - 1])).toBeLessThanOrEqual(Date.now() + 200);
  });

  it('draws the 62 bits after the variant at random', () => {
    const tails = new Set(Array.from({ length: 1000 }, () => newId().slice(19)));
    expect(tails.size).toBe(1000);
  });
});
