/**
 * Bounds on parsed JSON, checked before any validation or work (api.md "Errors"): how deep
 * it nests and how many values it holds, and, against a zod schema, arrays longer than the
 * schema allows, refused on their length alone instead of validating every element first.
 */
import type { z } from 'zod';
import { badRequest, HttpError } from '../errors.js';

/** Deepest nesting of a body: `{}` is one level, `{"a": []}` two. */
export const MAX_JSON_DEPTH = 32;
/** Most values (objects, arrays and scalars, counted alike) in one body. */
export const MAX_JSON_VALUES = 100_000;

export interface JsonLimits {
  maxDepth: number;
  /** Infinity: no count (a body whose size bound already bounds the work). */
  maxValues: number;
}
const DEFAULT_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxValues: MAX_JSON_VALUES };

/** What is wrong with `value` against `limits`, or null. Iterative: any depth is safe to check. */
export function jsonBoundsProblem(value: unknown, limits: JsonLimits = DEFAULT_LIMITS): 'too_deep' | 'too_many_values' | null {
  const stack: [unknown, number][] = [[value, 1]];
  let count = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++count > limits.maxValues) return 'too_many_values';
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limits.maxDepth) return 'too_deep';
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const child of children) stack.push([child, depth + 1]);
  }
  return null;
}

/** Throws 400 `bad_request` (too deep) or 413 `payload_too_large` (too many values) when `value` is out of bounds. */
export function requireJsonBounds(value: unknown, limits: JsonLimits = DEFAULT_LIMITS): void {
  const problem = jsonBoundsProblem(value, limits);
  if (problem === 'too_deep') throw badRequest(`the JSON nests deeper than ${limits.maxDepth} levels`);
  if (problem === 'too_many_values') {
    throw new HttpError(413, 'payload_too_large', `the JSON holds more than ${limits.maxValues} values`);
  }
}

interface ZodInternals {
  _zod: { def: Record<string, unknown> & { type: string }; bag?: { maximum?: number } };
}
const defOf = (schema: unknown) => (schema as ZodInternals)._zod.def;

/** The schema under wrappers that accept the same shape (optional, nullable, default, pipe, …). */
function unwrap(schema: unknown): unknown {
  for (let s = schema, i = 0; i < 16; i++) {
    const def = defOf(s);
    if (['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional'].includes(def.type)) s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else return s;
  }
  return schema;
}

/**
 * Throws 400 `bad_request` naming the first array of `value` longer than its schema's
 * `.max()`, before the schema looks at any element. Follows objects and arrays of the schema;
 * whatever else (unions, custom checks) is left to the schema itself.
 */
export function refuseOversizedArrays(schema: z.ZodType, value: unknown): void {
  const stack: [unknown, unknown, (string | number)[]][] = [[schema, value, []]];
  while (stack.length > 0) {
    const [s, v, path] = stack.pop()!;
    const inner = unwrap(s);
    const def = defOf(inner);
    if (def.type === 'array' && Array.isArray(v)) {
      const max = (inner as ZodInternals)._zod.bag?.maximum;
      if (max !== undefined && v.length > max) {
        const field = path.length ? path.join('.') : '(body)';
        throw badRequest('invalid body', [{ field, message: `must hold at most ${max} items` }]);
      }
      v.forEach((item, i) => stack.push([def.element, item, [...path, i]]));
    } else if (def.type === 'object' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const shape = def.shape as Record<string, unknown>;
      for (const key of Object.keys(shape)) {
        if (Object.hasOwn(v, key)) stack.push([shape[key], (v as Record<string, unknown>)[key], [...path, key]]);
      }
    }
  }
}
