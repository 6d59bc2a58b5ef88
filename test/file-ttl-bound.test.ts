/**
 * FILE_TTL_DAYS at its upper bound (lib/config.ts LIMITS): an upload is stored and answered
 * 201 with an `expiresAt` that is a valid date, on the database of this run. (Above the bound
 * the node refuses to start: config.test.ts.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LIMITS } from '../lib/config.js';
import { startTestNode, type TestNode } from './helpers/harness.js';
import { filePart } from './helpers/multipart.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ env: { FABRIC_BACKEND_GUILD_FILE_TTL_DAYS: String(LIMITS.fileTtlDays) } });
});
afterAll(async () => {
  await t?.close();
});

it(`an upload with FILE_TTL_DAYS=${LIMITS.fileTtlDays} answers 201 and expires about 100 years later`, async () => {
  const u = await t.centerApi.user('uploader');
  const { body, contentType } = filePart('hello', 'a.txt', 'text/plain');
  const before = Date.now();
  const r = await t.api('POST', '/api/files', { token: u.token, rawBody: body, headers: { 'content-type': contentType } });
  expect(r.status).toBe(201);
  const expiresAt = Date.parse(r.body.file.expiresAt);
  expect(expiresAt - before).toBeGreaterThanOrEqual(LIMITS.fileTtlDays * 86_400_000 - 1000);
  const got = await t.api('GET', `/api/files/${r.body.file.id}`, { token: u.token });
  expect(got.status).toBe(200);
});
