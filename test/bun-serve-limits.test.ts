/**
 * The `Bun.serve` snippet of docs/edge-hosting.md, run as written (only the bundle, the port
 * and a line printing it changed): the upload bundle under it takes a file over Bun's default
 * body limit (128 MiB) when FILE_MAX_BYTES allows it, and still answers an oversized one with
 * its own 413.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { migrateToLatest, openDatabase } from '../lib/db/index.js';
import type { DevCenter } from '../scripts/dev-center.js';
import { centerClient, cleanEnv, createTestDatabase, nodeEnv, REPO_ROOT, spawnNode, startCenter, waitFor, type ChildRun, type TestDatabase } from './helpers/harness.js';
import { uploadStreamed } from './helpers/multipart.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const FILE_MAX_BYTES = 160 * MiB;

let center: DevCenter;
let db: TestDatabase;
let host: ChildRun;
let url: string;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bun-serve-'));

/** The first js block under "## Under `Bun.serve`" of docs/edge-hosting.md. */
function bunServeSnippet(): string {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs/edge-hosting.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Under `Bun.serve`'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error('no js block under "Under `Bun.serve`"');
  return code;
}

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: REPO_ROOT, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
  center = await startCenter();
  db = await createTestDatabase();
  const env = nodeEnv(center, db, { FABRIC_BACKEND_GUILD_FILE_MAX_BYTES: String(FILE_MAX_BYTES) });
  const handle = await openDatabase(loadConfig(env).db);
  await migrateToLatest(handle.db, () => undefined);
  await handle.destroy();

  const upload = path.join(REPO_ROOT, 'dist/handlers/files/upload.js');
  const script = bunServeSnippet()
    .replace(/'\.\/dist\/handlers\/[^']+'/, JSON.stringify(upload))
    .replace(/port: \d+/, 'port: 0')
    .replace('Bun.serve(', 'const server = Bun.serve(');
  expect(script).toContain('const server = Bun.serve(');
  const file = path.join(scratch, 'serve.mjs');
  fs.writeFileSync(file, `${script}\nconsole.log('listening', server.port);\n`);
  host = spawnNode(file, env, { runtime: 'bun' });
  const port = await waitFor('Bun.serve host', async () => /listening (\d+)/.exec(host.stdout())?.[1], 60_000);
  url = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  await host?.stop();
  await center?.close();
  await db?.drop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const uploadOf = (token: string, size: number) => uploadStreamed(url, token, size).catch((err: unknown) => ({ status: `no answer: ${String(err)}`, body: undefined, sha256: '' }));

it('takes an upload over 128 MiB (Bun’s default body limit) when FILE_MAX_BYTES allows it', async () => {
  const u = await centerClient(center).user('uploader');
  const r = await uploadOf(u.token, 130 * MiB);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  expect(r.body.file).toMatchObject({ size: 130 * MiB, sha256: r.sha256 });
}, 60_000);

it('answers an upload over FILE_MAX_BYTES with the bundle’s own 413 JSON', async () => {
  const u = await centerClient(center).user('uploader');
  const r = await uploadOf(u.token, FILE_MAX_BYTES + 1);
  expect(r.status).toBe(413);
  expect(r.body.error.code).toBe('payload_too_large');
}, 60_000);
