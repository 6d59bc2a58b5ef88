/** lib/http/json-bounds.ts: the bounds of api.md "Errors", as pure rules. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HttpError } from '../lib/errors.js';
import { jsonBoundsProblem, MAX_JSON_DEPTH, MAX_JSON_VALUES, refuseOversizedArrays } from '../lib/http/json-bounds.js';

const nestedArrays = (levels: number) => JSON.parse('['.repeat(levels) + ']'.repeat(levels));

describe('jsonBoundsProblem', () => {
  it.each([
    ['a scalar', 1, null],
    ['an empty object', {}, null],
    [`${MAX_JSON_DEPTH} nested arrays`, nestedArrays(MAX_JSON_DEPTH), null],
    [`${MAX_JSON_DEPTH + 1} nested arrays`, nestedArrays(MAX_JSON_DEPTH + 1), 'too_deep'],
    [`${MAX_JSON_VALUES} values`, new Array(MAX_JSON_VALUES - 1).fill(0), null],
    [`${MAX_JSON_VALUES + 1} values`, new Array(MAX_JSON_VALUES).fill(0), 'too_many_values'],
  ])('%s → %s', (_, value, expected) => {
    expect(jsonBoundsProblem(value)).toBe(expected);
  });

  it('checks any depth without overflowing the stack', () => {
    expect(jsonBoundsProblem(nestedArrays(100_000))).toBe('too_deep');
  });

  it('takes other limits', () => {
    expect(jsonBoundsProblem({ a: { b: {} } }, { maxDepth: 2, maxValues: Infinity })).toBe('too_deep');
    expect(jsonBoundsProblem([1, 2, 3], { maxDepth: 2, maxValues: 3 })).toBe('too_many_values');
  });
});

describe('refuseOversizedArrays', () => {
  const schema = z.object({ ids: z.array(z.string().min(1)).max(3).optional(), inner: z.object({ list: z.array(z.number()).max(1) }).nullable() });
  const refused = (value: unknown) => {
    try {
      refuseOversizedArrays(schema, value);
      return null;
    } catch (err) {
      return err instanceof HttpError ? { status: err.status, details: err.details } : err;
    }
  };

  it.each([
    ['arrays within their maximum', { ids: ['', '', ''], inner: { list: [1] } }, null],
    ['no arrays at all', { inner: null }, null],
    ['a value of another type (left to the schema)', { ids: 'x', inner: 5 }, null],
    ['a top-level array over its max', { ids: ['a', 'b', 'c', 'd'] }, { status: 400, details: [{ field: 'ids', message: 'must hold at most 3 items' }] }],
    ['a nested array over its max', { inner: { list: [1, 2] } }, { status: 400, details: [{ field: 'inner.list', message: 'must hold at most 1 items' }] }],
  ])('%s', (_, value, expected) => {
    expect(refused(value)).toEqual(expected);
  });
});
