import { expect } from 'vitest';
import type { ApiResponse } from './harness.js';

/** Asserts an error response by status and `error.code` (never the English message). */
export function expectError(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
}

/** Asserts a 400 bad_request whose `details` name every field in `fields`. */
export function expectBadRequest(res: ApiResponse, ...fields: string[]): void {
  expectError(res, 400, 'bad_request');
  const named = ((res.body.error.details ?? []) as { field: string }[]).map((d) => d.field);
  for (const f of fields) expect(named, `details should name ${f}`).toContain(f);
}

/** ISO 8601 UTC with milliseconds, as api.md requires for every timestamp. */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
