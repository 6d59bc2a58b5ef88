import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';

export type SuccessStatus = 200 | 201 | 202 | 204 | 206 | 304;
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 416 | 429 | 503;

/**
 * What the API reference (lib/openapi.ts, served at GET /api/openapi.json) says about one
 * endpoint. The schemas are the very ones the handler validates with; the statuses are the
 * ones its header comment lists (test/openapi.test.ts holds the two together).
 */
export interface RouteDoc {
  /** Group in the reference (Guilds, Channels, …). */
  tag: string;
  summary: string;
  /** Who may call it, in api.md's words. */
  who?: string;
  /** JSON body schema (readJson). */
  body?: z.ZodType;
  /** A body that is not JSON (file upload). */
  rawBody?: { contentType: string; description: string };
  /** Query string schema (readQuery). */
  query?: z.ZodType;
  /** Each success status and what comes back. */
  success: Partial<Record<SuccessStatus, string>>;
  /** Each error status and the api.md error codes it may carry. */
  errors: Partial<Record<ErrorStatus, ErrorCode[]>>;
}
