/**
 * receiveUpload (lib/files/multipart.ts) whatever the size of the chunks a runtime delivers
 * the body in: Bun.serve hands out up to 1 MiB at a time, a Request built from a buffer the
 * whole body at once. The framing allowance counts only what the parser has been handed and
 * not yet given out as file content, so a large chunk of file bytes is not taken for framing;
 * framing beyond the allowance is still refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { receiveUpload } from '../lib/files/multipart.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'upload-chunks-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const BOUNDARY = 'chunk-boundary';
const headers = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
const head = (extraHeader = '') =>
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n${extraHeader}Content-Type: application/octet-stream\r\n\r\n`);
const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/** A web stream delivering `body` in chunks of `chunkBytes`. */
function streamOf(body: Buffer, chunkBytes: number): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(controller) {
      if (off >= body.length) return controller.close();
      controller.enqueue(new Uint8Array(body.subarray(off, off + chunkBytes)));
      off += chunkBytes;
    },
  });
}

const request = (body: Buffer | ReadableStream<Uint8Array>) =>
  new Request('http://x/api/files', { method: 'POST', body, headers, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);

it('takes a 5 MiB file delivered as one chunk (a Request built from a buffer)', async () => {
  const body = Buffer.concat([head(), Buffer.alloc(5 * MiB, 1), tail]);
  const received = await receiveUpload(request(body), { dir, maxBytes: 10 * MiB });
  expect(received.size).toBe(5 * MiB);
});

it('takes a 5 MiB file delivered in 1 MiB chunks (as Bun.serve does)', async () => {
  const body = Buffer.concat([head(), Buffer.alloc(5 * MiB, 2), tail]);
  const received = await receiveUpload(request(streamOf(body, MiB)), { dir, maxBytes: 10 * MiB });
  expect(received.size).toBe(5 * MiB);
});

it('still refuses part headers beyond the framing allowance delivered in large chunks, storing nothing', async () => {
  const before = fs.readdirSync(dir).length;
  const body = Buffer.concat([head(`X-Pad: ${'a'.repeat(3 * MiB)}\r\n`), Buffer.from('abc'), tail]);
  await expect(receiveUpload(request(streamOf(body, MiB)), { dir, maxBytes: 10 * MiB })).rejects.toMatchObject({ status: 413, code: 'payload_too_large' });
  expect(fs.readdirSync(dir)).toHaveLength(before);
});
