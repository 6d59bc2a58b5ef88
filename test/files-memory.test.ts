import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './helpers/harness.js';
import { uploadStreamed } from './helpers/multipart.js';

// A scavenge between samples makes the measure what the upload holds, not garbage V8 has not
// collected yet (it lets ~30 MB of short-lived socket chunks pile up before it bothers).
// A server that kept the file in memory would still show it: live buffers survive a scavenge.
v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as (opts?: { type: 'minor' | 'major' }) => void;

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

const MB = 1024 * 1024;

describe('POST /api/files memory', () => {
  it('streams a 60 MB upload to disk while the RSS of the process grows by far less than the file', async () => {
    const u = await t.centerApi.user('uploader');
    // A smaller upload first, so that the one-time costs of the path (JIT, allocator arenas)
    // are paid before the baseline. A server holding files in memory would still need 44 MB more.
    const warmUp = await uploadStreamed(t.url, u.token, 16 * MB);
    expect(warmUp.status).toBe(201);
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => {
      gc({ type: 'minor' });
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      const r = await uploadStreamed(t.url, u.token, 60 * MB);
      expect(r.status).toBe(201);
      expect(r.body.file).toMatchObject({ size: 60 * MB, sha256: r.sha256 });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(peak - base).toBeLessThan(20 * MB);
  });
});
