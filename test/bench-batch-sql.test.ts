/**
 * `npm run bench -- --mode batch-sql`: the database's time per post batch, part by part. Runs
 * the batch's real statements against MySQL (the MySQL pass only: the group commit is
 * MySQL's); here once, briefly, for what it reports, never for a timing.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_DB } from './helpers/harness.js';

const run = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(path.resolve('node_modules/.bin/tsx'), ['scripts/bench.ts', ...args], { env: process.env }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

const db = () => [
  '--db-host',
  process.env.FABRIC_TEST_MYSQL_HOST ?? '127.0.0.1',
  '--db-port',
  process.env.FABRIC_TEST_MYSQL_PORT ?? '3306',
  '--db-user',
  process.env.FABRIC_TEST_MYSQL_USER ?? 'root',
  '--db-password',
  process.env.FABRIC_TEST_MYSQL_PASSWORD ?? '',
];

describe('bench --mode batch-sql', () => {
  it('times every variant of a batch on a throwaway database and reports each one per batch', async () => {
    if (TEST_DB !== 'mysql') return; // the batch statements are MySQL's
    const r = await run(['--mode', 'batch-sql', '--rounds', '1', '--batches', '3', '--json', ...db()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { settings: { posts: number }; variants: { name: string; medianMs: number; roundsMs: number[] }[] };
    expect(result.settings.posts).toBe(15);
    expect(result.variants.map((v) => v.name)).toEqual(['as-is', 'member-rows', 'no-author-check', 'no-read-back', 'no-events', 'no-messages-insert', 'rollback']);
    for (const v of result.variants) {
      expect(v.roundsMs).toHaveLength(1);
      expect(v.medianMs).toBeGreaterThan(0);
    }
  });

  it('with --by-statement, names and times each statement of the batch in order, as the server measured it', async () => {
    if (TEST_DB !== 'mysql') return;
    const r = await run(['--mode', 'batch-sql', '--variants', 'as-is,no-read-back', '--by-statement', '--rounds', '1', '--batches', '3', '--json', ...db()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      settings: { byStatement: boolean };
      variants: { name: string; statements: { statement: string; medianMs: number }[] }[];
    };
    expect(result.settings.byStatement).toBe(true);
    const [asIs, noReadBack] = result.variants;
    expect(asIs.statements.map((s) => s.statement)).toEqual([
      'start transaction',
      'update channels set',
      'set @fabric_ok',
      'insert into messages',
      'insert into channel_events',
      'select',
      'commit',
    ]);
    for (const s of asIs.statements) expect(s.medianMs).toBeGreaterThan(0);
    // The variant's own statements: the read-back is the one left out.
    expect(noReadBack.statements.map((s) => s.statement)).toEqual(asIs.statements.map((s) => s.statement).filter((s) => s !== 'select'));
  });

  it('refuses an unknown variant before touching the database', async () => {
    const r = await run(['--mode', 'batch-sql', '--variants', 'as-is,nonsense', ...db()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown variant "nonsense"');
  });
});
