/**
 * Shutting a node down: close() finishes even while a client holds a response it never
 * reads (a download far larger than the socket buffers) and a socket.io client is connected.
 * A hang here shows as this test's timeout.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { filePart } from './helpers/multipart.js';
import { startTestNode } from './helpers/harness.js';

describe('RunningProcess.close()', () => {
  it('finishes while a download response is left unread and a socket is connected', { timeout: 20_000 }, async () => {
    const t = await startTestNode();
    const user = await t.centerApi.user('closer');
    const { body, contentType } = filePart(new Uint8Array(16 * 1024 * 1024), 'big.bin', 'application/octet-stream');
    const up = await t.api('POST', '/api/files', { token: user.token, rawBody: body, headers: { 'content-type': contentType } });
    expect(up.status).toBe(201);
    await t.socket(user.token);
    // A client that reads the status line and headers, then never reads the body.
    const statusCode = await new Promise<number>((resolve, reject) => {
      http
        .get(`${t.url}/api/files/${up.body.file.id}`, { headers: { authorization: `Bearer ${user.token}` } }, (res) => {
          res.pause();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(statusCode).toBe(200);
    await t.close();
  });
});
