/**
 * A client that drops its connection in the middle of a body is not an error of the node:
 * logged at debug, never as ERROR with a stack (anyone could flood the error log), and the
 * node keeps answering. The real entry point in a child process, so its log is what we read.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCenter } from '../scripts/dev-center.js';
import { centerClient, createTestDatabase, freePort, nodeEnv, REPO_ROOT, spawnNode, startCenter, waitFor, type ChildRun, type TestDatabase } from './helpers/harness.js';
import { abortMidBody } from './helpers/raw-http.js';

let center: DevCenter;
let db: TestDatabase;
let child: ChildRun;
let port: number;
beforeAll(async () => {
  center = await startCenter();
  db = await createTestDatabase();
  port = await freePort();
  child = spawnNode(path.join(REPO_ROOT, 'scripts/main.ts'), nodeEnv(center, db, { FABRIC_BACKEND_GUILD_PORT: String(port), FABRIC_BACKEND_GUILD_LOG_LEVEL: 'debug' }));
  await child.waitForLog('guild node listening');
}, 60_000);
afterAll(async () => {
  await child?.stop();
  await center?.close();
  await db?.drop();
});

describe('a client that aborts mid-body', () => {
  it('is logged at debug, not as an error, and the node keeps answering', async () => {
    const { token } = await centerClient(center).user('aborter');
    for (const target of ['/api/guilds', '/api/commands']) {
      const method = target === '/api/guilds' ? 'POST' : 'PUT';
      const head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
      await abortMidBody(port, head, '{"name": "half');
    }
    const upload = `POST /api/files HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n`;
    await abortMidBody(port, upload, '--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhalf a file');
    await waitFor('the debug line of an unread body', async () => (child.stderr().includes('request body not received') ? true : undefined), 10_000);
    expect(child.stderr()).not.toMatch(/\bERROR\b/);
    expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);
  });
});
