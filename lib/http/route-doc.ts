import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';

export type SuccessStatus = 200 | 201 | 202 | 204 | 206 | 304;
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 416 | 429 | 503;

/**
 * What the API reference (lib/openapi.ts, served at GET /api/openapi.json) says about one
 * endpoint. defineHandler (lib/http/handler.ts) fills in `who`, `body` and `query` from the
 * declaration: the policy's words and the very schemas the pipeline validates with. The
 * statuses are the ones the handler's header comment lists (test/openapi.test.ts holds the
 * two together).
 */
export interface RouteDoc {
  /** Group in the reference (Guilds, Channels, …). */
  tag: string;
  summary: string;
  /** Who may call it, in api.md's words (the access policy's, or the endpoint's own where it narrows it). */
  who?: string;
  /** JSON body schema (the declaration's `body`). */
  body?: z.ZodType;
  /** A body that is not JSON (file upload). */
  rawBody?: { contentType: string; description: string };
  /** Query string schema (the declaration's `query`). */
  query?: z.ZodType;
  /** Each success status and what comes back. */
  success: Partial<Record<SuccessStatus, string>>;
  /** Each error status and the api.md error codes it may carry. */
  errors: Partial<Record<ErrorStatus, ErrorCode[]>>;
}
