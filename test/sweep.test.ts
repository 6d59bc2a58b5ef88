import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../lib/context.js';
import { runSweep, SWEEP_LEASE, type SweepResult } from '../lib/files/sweep.js';
import { startBackgroundJobs } from '../lib/server/jobs.js';
import { migrations } from '../lib/db/migrations/index.js';
import { startRealtimeProcess } from '../scripts/processes.js';
import { cleanEnv, createChannel, createTestDatabase, seedGuild, startTestNode, waitFor, type TestNode, type TestUser } from './helpers/harness.js';
import { filePart } from './helpers/multipart.js';

const DAY = 24 * 60 * 60 * 1000;
let t: TestNode;
let ctx: AppContext;
beforeAll(async () => {
  // The node's own schedule must not sweep behind the tests' backs: once a year, at New Year.
  t = await startTestNode({ env: { FABRIC_BACKEND_GUILD_FILE_SWEEP_CRON: '0 0 0 1 1 *' } });
  ctx = t.node.ctx;
});
afterAll(async () => t?.close());

async function upload(user: TestUser, data = 'some bytes', name = 'a.txt') {
  const m = filePart(data, name);
  const r = await t.api('POST', '/api/files', { token: user.token, rawBody: m.body, headers: { 'content-type': m.contentType } });
  expect(r.status).toBe(201);
  return r.body.file as { id: string; url: string; size: number };
}

/** Test setup: makes a file `days` old, as if it had been uploaded then. */
async function age(fileId: string, days: number) {
  const createdAt = Date.now() - days * DAY;
  await ctx.database.db
    .updateTable('files')
    .set({ created_at: createdAt, expires_at: createdAt + ctx.config.fileTtlDays * DAY })
    .where('id', '=', fileId)
    .execute();
}

async function bytesPath(fileId: string) {
  const row = await ctx.database.db.selectFrom('files').select('storage_name').where('id', '=', fileId).executeTakeFirstOrThrow();
  return path.join(ctx.config.fileDir, row.storage_name);
}

const rowExists = async (fileId: string) => !!(await ctx.database.db.selectFrom('files').select('id').where('id', '=', fileId).executeTakeFirst());

/** Runs `npm run sweep`'s script against the test node's database and file directory. */
function runCli(args: string[] = [], extra: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = ctx.config;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FABRIC_BACKEND_GUILD_') && v !== undefined) env[k] = v;
  Object.assign(env, {
    FABRIC_BACKEND_GUILD_FILE_DIR: c.fileDir,
    FABRIC_BACKEND_GUILD_FILE_TTL_DAYS: String(c.fileTtlDays),
    FABRIC_BACKEND_GUILD_LOG_LEVEL: 'error',
    ...(c.db.type === 'mysql'
      ? {
          FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql',
          FABRIC_BACKEND_GUILD_DB_HOST: c.db.host,
          FABRIC_BACKEND_GUILD_DB_PORT: String(c.db.port),
          FABRIC_BACKEND_GUILD_DB_USER: c.db.user,
          FABRIC_BACKEND_GUILD_DB_PASSWORD: c.db.password,
          FABRIC_BACKEND_GUILD_DB_NAME: c.db.database,
        }
      : { FABRIC_BACKEND_GUILD_DB_TYPE: 'sqlite', FABRIC_BACKEND_GUILD_DB_FILE: c.db.file }),
    ...extra,
  });
  return new Promise((resolve) => {
    execFile(path.resolve('node_modules/.bin/tsx'), ['scripts/sweep.ts', ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('retention sweep', () => {
  it('removes the rows and bytes of files older than FILE_TTL_DAYS and keeps younger ones', async () => {
    const u = await t.centerApi.user('uploader');
    const old1 = await upload(u, 'old one');
    const old2 = await upload(u, 'old two!');
    const young = await upload(u, 'young');
    const fresh = await upload(u, 'fresh');
    await age(old1.id, 8);
    await age(old2.id, 7.01);
    await age(young.id, 6.99);
    const oldPaths = [await bytesPath(old1.id), await bytesPath(old2.id)];
    const youngPath = await bytesPath(young.id);

    const result = await runSweep(ctx);
    expect(result).toEqual({ skipped: false, files: 2, bytes: old1.size + old2.size, missingOnDisk: 0, orphans: 0 });
    expect(await rowExists(old1.id)).toBe(false);
    expect(await rowExists(old2.id)).toBe(false);
    for (const p of oldPaths) expect(fs.existsSync(p)).toBe(false);
    expect(fs.existsSync(youngPath)).toBe(true);
    for (const f of [young, fresh]) expect((await t.api('GET', f.url, { token: u.token })).status).toBe(200);
  });

  it('survives a file already missing on disk: its row goes and the rest are swept', async () => {
    const u = await t.centerApi.user('uploader');
    const gone = await upload(u, 'gone');
    const there = await upload(u, 'still there');
    await age(gone.id, 10);
    await age(there.id, 10);
    fs.rmSync(await bytesPath(gone.id));
    const result = await runSweep(ctx);
    expect(result).toEqual({ skipped: false, files: 2, bytes: there.size, missingOnDisk: 1, orphans: 0 });
    expect(await rowExists(gone.id)).toBe(false);
    expect(await rowExists(there.id)).toBe(false);
  });

  it('leaves attachments describing a swept file, with expired: true', async () => {
    const g = await seedGuild(t, 1);
    const author = g.members[0];
    const ch = await createChannel(t, g.owner.token, { guildId: g.guildId, name: 'c', xType: 'general', memberUserIds: [author.id] });
    const file = await upload(author, 'attached bytes', 'report.txt');
    const m = await t.api('POST', `/api/channels/${ch.id}/messages`, { token: author.token, body: { content: 'here', attachmentIds: [file.id] } });
    expect(m.status).toBe(201);
    expect(m.body.message.attachments[0].expired).toBe(false);
    await age(file.id, 30);
    expect((await runSweep(ctx)).files).toBe(1);
    const after = await t.api('GET', `/api/messages/${m.body.message.id}`, { token: g.owner.token });
    expect(after.body.message.attachments).toEqual([{ id: file.id, name: 'report.txt', size: file.size, mime: 'text/plain', url: file.url, expired: true }]);
    const download = await t.api('GET', file.url, { token: author.token });
    expect(download.status).toBe(404);
    expect(download.body.error.code).toBe('not_found');
  });

  it('does not run a second sweep while one is running: the second returns skipped and removes nothing', async () => {
    const u = await t.centerApi.user('uploader');
    const files = [await upload(u, 'a'), await upload(u, 'b'), await upload(u, 'c')];
    for (const f of files) await age(f.id, 9);
    let second: SweepResult | undefined;
    const first = await runSweep(ctx, {
      onProgress: async () => {
        second ??= await runSweep(ctx);
      },
    });
    expect(second).toMatchObject({ skipped: true, files: 0, bytes: 0 });
    expect(second!.heldBy).toMatch(/:\d+:[0-9a-f]{8}$/);
    expect(first).toMatchObject({ skipped: false, files: 3 });
    expect(await ctx.database.db.selectFrom('leases').selectAll().where('name', '=', SWEEP_LEASE).execute()).toEqual([]);
  });

  it('does nothing while another process holds the lease, and takes over a lease whose holder died', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await upload(u);
    await age(f.id, 9);
    const { db } = ctx.database;
    await db
      .insertInto('leases')
      .values({ name: SWEEP_LEASE, holder: 'other-host:4242:cafe0001', expires_at: Date.now() + 60_000 })
      .execute();
    expect(await runSweep(ctx)).toEqual({ skipped: true, heldBy: 'other-host:4242:cafe0001', files: 0, bytes: 0, missingOnDisk: 0, orphans: 0 });
    expect(await rowExists(f.id)).toBe(true);

    await db
      .updateTable('leases')
      .set({ expires_at: Date.now() - 1 })
      .where('name', '=', SWEEP_LEASE)
      .execute();
    expect(await runSweep(ctx)).toMatchObject({ skipped: false, files: 1 });
    expect(await rowExists(f.id)).toBe(false);
    expect(await db.selectFrom('leases').selectAll().where('name', '=', SWEEP_LEASE).execute()).toEqual([]);
  });

  it('removes stored bytes that no row knows of once they are older than the TTL, and nothing else in FILE_DIR', async () => {
    const dir = ctx.config.fileDir;
    const old = new Date(Date.now() - 8 * DAY);
    const orphan = path.join(dir, 'a'.repeat(32));
    const youngOrphan = path.join(dir, 'b'.repeat(32));
    const foreign = path.join(dir, 'README.txt');
    fs.writeFileSync(orphan, 'left by a crash');
    fs.writeFileSync(youngOrphan, 'an upload being written');
    fs.writeFileSync(foreign, 'not ours');
    fs.utimesSync(orphan, old, old);
    fs.utimesSync(foreign, old, old);
    const result = await runSweep(ctx);
    expect(result).toEqual({ skipped: false, files: 0, bytes: 'left by a crash'.length, missingOnDisk: 0, orphans: 1 });
    expect(fs.existsSync(orphan)).toBe(false);
    expect(fs.existsSync(youngOrphan)).toBe(true);
    expect(fs.existsSync(foreign)).toBe(true);
  });

  it('runs on FILE_SWEEP_CRON and stops with the process', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await upload(u);
    await age(f.id, 9);
    let jobs: ReturnType<typeof startBackgroundJobs> | undefined;
    const swept = new Promise<SweepResult>((resolve) => {
      jobs = startBackgroundJobs({ ...ctx, config: { ...ctx.config, fileSweepCron: '* * * * * *' } }, { onSweep: resolve });
    });
    expect(await swept).toMatchObject({ skipped: false, files: 1 });
    await jobs!.stop();
    expect(await rowExists(f.id)).toBe(false);
  });

  it('runs in a realtime process alone too, with the event-log trim (agent-rooms.md "Timers": the API may be handler bundles hosted alone)', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'trimmed', xType: 'general' });
    for (const content of ['one', 'two', 'three']) expect((await t.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content } })).status).toBe(201);
    const f = await upload(await t.centerApi.user('uploader'));
    await age(f.id, 9);
    const eventsOf = async () =>
      Number(
        (
          await ctx.database.db
            .selectFrom('channel_events')
            .select((e) => e.fn.countAll().as('n'))
            .where('channel_id', '=', ch.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await eventsOf()).toBeGreaterThan(1);
    const realtime = await startRealtimeProcess({
      ...ctx.config,
      realtimePort: 0,
      realtimeInternalPort: 0,
      internalSecret: 'jobs-secret',
      logLevel: 'silent',
      fileSweepCron: '* * * * * *',
      eventTrimCron: '* * * * * *',
      eventRetentionHours: 0,
      eventRetentionEvents: 1,
    });
    try {
      await waitFor('the sweep and the trim of the realtime process', async () => (!(await rowExists(f.id)) && (await eventsOf()) === 1 ? true : undefined), 10_000);
    } finally {
      await realtime.close();
    }
  });

  it('refuses an invalid FILE_SWEEP_CRON, naming the variable', () => {
    expect(() => startBackgroundJobs({ ...ctx, config: { ...ctx.config, fileSweepCron: '61 * * * *' } })).toThrow(/FABRIC_BACKEND_GUILD_FILE_SWEEP_CRON/);
  });
});

describe('npm run sweep', () => {
  it('prints its usage with --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run sweep/);
  });

  it('sweeps once and prints a summary of files and bytes', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await upload(u, '12345');
    await age(f.id, 9);
    const r = await runCli();
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('swept 1 expired file, 5 B freed');
    expect(r.stderr).toContain('expired files: 1/1');
    expect(await rowExists(f.id)).toBe(false);
  });

  it('logs in the LOG_LEVEL and LOG_FORMAT it is given, as the servers do', async () => {
    const r = await runCli([], { FABRIC_BACKEND_GUILD_LOG_LEVEL: 'debug', FABRIC_BACKEND_GUILD_LOG_FORMAT: 'pretty' });
    expect(r.code).toBe(0);
    const line = r.stderr.split('\n').find((l) => l.includes('sweep done'));
    expect(line).toBeDefined();
    expect(line).not.toMatch(/^\{/);
  });

  it('does nothing and says so while another process holds the lease', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await upload(u);
    await age(f.id, 9);
    const { db } = ctx.database;
    await db
      .insertInto('leases')
      .values({ name: SWEEP_LEASE, holder: 'api-1:77:beef0002', expires_at: Date.now() + 60_000 })
      .execute();
    try {
      const r = await runCli();
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe('another sweep is running (held by api-1:77:beef0002); nothing done');
      expect(await rowExists(f.id)).toBe(true);
    } finally {
      await db.deleteFrom('leases').where('name', '=', SWEEP_LEASE).execute();
    }
    expect((await runSweep(ctx)).files).toBe(1);
  });

  it('brings a database that is behind up to date first, with one line per migration on stderr', async () => {
    const fresh = await createTestDatabase();
    try {
      const env = { ...cleanEnv(fresh.env), FABRIC_BACKEND_GUILD_FILE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-fresh-')), FABRIC_BACKEND_GUILD_LOG_LEVEL: 'error' };
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(path.resolve('node_modules/.bin/tsx'), ['scripts/sweep.ts'], { env }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      expect(r.code).toBe(0);
      expect(r.stderr.split('\n').filter((l) => /^applied \S+$/.test(l))).toHaveLength(Object.keys(migrations).length);
      expect(r.stdout.trim()).toBe('swept 0 expired files, 0 B freed');
    } finally {
      await fresh.drop();
    }
  });

  it('exits 1 with one line naming a bad variable', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(path.resolve('node_modules/.bin/tsx'), ['scripts/sweep.ts'], { env: { ...process.env, FABRIC_BACKEND_GUILD_FILE_TTL_DAYS: 'soon' } }, (err, _out, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^sweep: FABRIC_BACKEND_GUILD_FILE_TTL_DAYS is invalid/);
  });
});
