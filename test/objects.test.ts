import { describe, expect, it } from 'vitest';
import { withFields } from '../lib/objects.js';

describe('withFields', () => {
  it('gives what the spread gives: same keys in the same order, later fields winning', () => {
    const base = { id: 'm1', seq: 0, content: 'hi', mentions: ['u1'] };
    const fields = { seq: 7, pos: 3, wakeup: false };
    const made = withFields(base, fields);
    expect(made).toEqual({ ...base, ...fields });
    expect(Object.keys(made)).toEqual(Object.keys({ ...base, ...fields }));
    expect(JSON.stringify(made)).toBe(JSON.stringify({ ...base, ...fields }));
  });

  it('copies: neither input changes, and nested values are shared as a spread shares them', () => {
    const base = { a: 1, list: [1] };
    const made = withFields(base, { b: 2 });
    expect(base).toEqual({ a: 1, list: [1] });
    expect(made.list).toBe(base.list);
    expect(made).not.toBe(base);
  });
});
