/**
 * FILE_DIR is checked before files are stored: the all-in-one and API processes create it and
 * write and remove a probe file at startup, and refuse to start naming the variable; a
 * handler bundle hosted alone does the same check on its first upload, which then fails
 * (500, the log line naming FILE_DIR) instead of storing anything. (The startup of the
 * entry points as processes: startup.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFileDir, FileDirError } from '../lib/files/storage-dir.js';
import { receiveUpload } from '../lib/files/multipart.js';
import { loadConfig } from '../lib/config.js';
import { startAllInOne, startApiProcess } from '../scripts/processes.js';
import { privateBackends, startTestNode, type TestNode } from './helpers/harness.js';
import { filePart } from './helpers/multipart.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'file-dir-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A FILE_DIR that cannot exist: its parent is a regular file (a wrong volume path). */
function impossibleDir() {
  const plain = fs.mkdtempSync(path.join(scratch, 'p-')) + '/plain-file';
  fs.writeFileSync(plain, 'x');
  return path.join(plain, 'files');
}

describe('checkFileDir', () => {
  it('creates a missing FILE_DIR (and its parents) and leaves nothing in it', async () => {
    const dir = path.join(scratch, 'a', 'b', 'files');
    await checkFileDir(dir);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses a FILE_DIR that cannot be created, in one line naming the variable and the path', async () => {
    const dir = impossibleDir();
    const err = await checkFileDir(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FileDirError);
    expect((err as Error).message).toContain('FABRIC_BACKEND_GUILD_FILE_DIR');
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).not.toContain('\n');
  });

  it('refuses a FILE_DIR that is a regular file', async () => {
    const file = path.join(scratch, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(checkFileDir(file)).rejects.toThrow('FABRIC_BACKEND_GUILD_FILE_DIR');
  });
});

describe('startup of a process that stores files', () => {
  const nodes: TestNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it('the all-in-one and API processes refuse to start with an unusable FILE_DIR, naming it', async () => {
    const backends = await privateBackends();
    try {
      const config = loadConfig(backends.env({ FABRIC_BACKEND_GUILD_FILE_DIR: impossibleDir(), FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: 'none' }));
      await expect(startAllInOne(config, { heartbeat: false, jobs: false })).rejects.toThrow('FABRIC_BACKEND_GUILD_FILE_DIR');
      await expect(startApiProcess(config, { heartbeat: false, jobs: false })).rejects.toThrow('FABRIC_BACKEND_GUILD_FILE_DIR');
    } finally {
      await backends.close();
    }
  });

  it('starts with a FILE_DIR that does not exist yet, creating it', async () => {
    const dir = path.join(scratch, 'later', 'files');
    const t = await startTestNode({ env: { FABRIC_BACKEND_GUILD_FILE_DIR: dir } });
    nodes.push(t);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    const u = await t.centerApi.user('uploader');
    const { body, contentType } = filePart('hello', 'a.txt', 'text/plain');
    const r = await t.api('POST', '/api/files', { token: u.token, rawBody: body, headers: { 'content-type': contentType } });
    expect(r.status).toBe(201);
    expect(fs.readdirSync(dir)).toHaveLength(1); // the file; no probe left behind
  });
});

describe('an upload where nothing checked FILE_DIR before (a handler bundle hosted alone)', () => {
  const request = () => {
    const { body, contentType } = filePart('hello', 'a.txt', 'text/plain');
    return new Request('http://x/api/files', { method: 'POST', body, headers: { 'content-type': contentType } });
  };

  it('fails naming FILE_DIR when it cannot be created', async () => {
    await expect(receiveUpload(request(), { dir: impossibleDir(), maxBytes: 1000 })).rejects.toThrow(FileDirError);
  });

  it('stores into a FILE_DIR it creates on the first upload', async () => {
    const dir = path.join(scratch, 'lazy', 'files');
    const received = await receiveUpload(request(), { dir, maxBytes: 1000 });
    expect(fs.readdirSync(dir)).toEqual([received.storageName]);
  });
});
