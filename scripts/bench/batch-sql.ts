/**
 * `--mode batch-sql`: what one post batch of the MySQL group commit costs the database, part by
 * part. The batch's statements as the node builds them (lib/db/mysql-post-statements.ts, the
 * read-back of mysql-post-batches.ts) go as one multi-statement query on one connection, with
 * no node, no HTTP and nothing else running beside them; each variant leaves one part out (or
 * checks the authors another way) only to weigh it. Variants run in turn, the order reversed
 * every other round, and each one's median over the rounds is reported: a part's cost is its
 * variant's distance from `as-is`. A batch's round trip is most of the post path's batch cycle
 * (docs/performance.md, series 22), so this is where a change to the statements is weighed
 * before any closed-loop A/B.
 */
import { Kysely, MysqlDialect } from 'kysely';
import { createConnection, createPool, type Pool } from 'mysql2/promise';
import { createPool as createCallbackPool } from 'mysql2';
import type { Database } from '../../lib/db/schema.js';
import { migrateToLatest } from '../../lib/db/index.js';
import { SESSION_SETTINGS } from '../../lib/db/mysql.js';
import { postReadBack } from '../../lib/db/mysql-post-batches.js';
import { batchStatements, type BatchedPost } from '../../lib/db/mysql-post-statements.js';
import type { SqlStatement } from '../../lib/db/dialect.js';
import { newId } from '../../lib/ids.js';
import { wakeDeliverySubquery } from '../../lib/messages/wake-recipients.js';
import { dbServer, int, progress, progressDone, values } from './options.js';

type Variant = (posts: readonly BatchedPost[]) => SqlStatement[];

const begin: SqlStatement = { sql: 'start transaction', parameters: [] };
const commit: SqlStatement = { sql: 'commit', parameters: [] };
/** Every author known by the channel's members version, as after their first post (the hot path). */
const known = () => 0;

/** The batch's statements from `start transaction` to `commit`, as the node sends them. */
const batch = (posts: readonly BatchedPost[], membersVersionOf?: () => number) => [
  begin,
  ...batchStatements(posts, membersVersionOf),
  postReadBack(posts.map((p) => p.message.id)),
  commit,
];

export const VARIANTS: Record<string, { what: string; run: Variant }> = {
  'as-is': { what: 'the batch of known authors (checked by members version), as the node sends it', run: (posts) => batch(posts, known) },
  'member-rows': { what: "authors checked against the channel's and the guild's member rows (a first post)", run: (posts) => batch(posts) },
  'no-author-check': { what: 'no author check in the seq bump', run: (posts) => batch(withoutAuthors(posts)) },
  'no-read-back': { what: 'no read-back', run: (posts) => batch(posts, known).filter((s) => !s.sql.startsWith('select straight_join m.id')) },
  'no-events': { what: 'no event log (no position bump, no events insert)', run: (posts) => batch(withoutEvents(posts), known) },
  'no-messages-insert': { what: 'no messages insert', run: (posts) => batch(posts, known).filter((s) => !s.sql.startsWith('insert into messages')) },
  rollback: { what: 'rollback instead of commit', run: (posts) => [...batch(posts, known).slice(0, -1), { sql: 'rollback', parameters: [] }] },
};

const withoutAuthors = (posts: readonly BatchedPost[]): BatchedPost[] => posts.map((p) => Object.assign({}, p, { memberId: undefined }));
const withoutEvents = (posts: readonly BatchedPost[]): BatchedPost[] => posts.map((p) => Object.assign({}, p, { event: undefined }));

export interface BatchSqlResult {
  settings: { posts: number; channels: number; users: number; batches: number; rounds: number; byStatement: boolean };
  variants: {
    name: string;
    what: string;
    medianMs: number;
    roundsMs: number[];
    /** With --by-statement: each statement of the batch (in order) and its median time on the server. */
    statements?: { statement: string; medianMs: number }[];
  }[];
}

export async function runBatchSql(): Promise<BatchSqlResult> {
  const names = values.variants ? String(values.variants).split(',') : Object.keys(VARIANTS);
  for (const n of names) if (!VARIANTS[n]) throw new Error(`--variants: unknown variant "${n}" (known: ${Object.keys(VARIANTS).join(', ')})`);
  const settings = {
    posts: int('posts', 15, 1, 64),
    channels: int('channels', 8, 1, 64),
    users: int('users', 32, 1, 1000),
    batches: int('batches', 150, 1, 10_000),
    rounds: int('rounds', 8, 1, 20),
    byStatement: values['by-statement'] === true,
  };
  const server = dbServer();
  const dbName = `fabric_bench_batchsql_${process.pid}`;
  const admin = await createConnection(server);
  await admin.query(`create database ${dbName}`);
  const pool = createCallbackPool({ ...server, database: dbName, connectionLimit: 2, multipleStatements: true, charset: 'utf8mb4_bin', timezone: 'Z' });
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  const conn = createPool({ ...server, database: dbName, connectionLimit: 1, multipleStatements: true, charset: 'utf8mb4_bin', timezone: 'Z' });
  try {
    await migrateToLatest(db, () => undefined);
    const posts = await seed(db, settings);
    await conn.query(SESSION_SETTINGS);
    // The session's profile history holds a batch's statements (at most 100 in MySQL).
    if (settings.byStatement) await conn.query('set profiling = 1, profiling_history_size = 100');
    const times = new Map(names.map((n) => [n, [] as number[]]));
    const statementTimes = new Map(names.map((n) => [n, new Map<string, number[]>()]));
    for (let round = 0; round < settings.rounds; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        progress(`round ${round + 1}/${settings.rounds}: ${name}`);
        let took = 0;
        for (let i = 0; i < settings.batches; i++) {
          const statements = VARIANTS[name].run(posts());
          const started = performance.now();
          await conn.query(
            statements.map((s) => s.sql).join(';\n'),
            statements.flatMap((s) => s.parameters as unknown[]),
          );
          took += performance.now() - started;
          if (settings.byStatement) recordStatementTimes(statementTimes.get(name)!, statements, await lastProfiles(conn, statements.length));
        }
        times.get(name)!.push(took / settings.batches);
      }
    }
    progressDone();
    const result: BatchSqlResult = {
      settings,
      variants: names.map((name) => ({
        name,
        what: VARIANTS[name].what,
        medianMs: median(times.get(name)!),
        roundsMs: times.get(name)!,
        ...(settings.byStatement ? { statements: [...statementTimes.get(name)!].map(([statement, ms]) => ({ statement, medianMs: median(ms) })) } : {}),
      })),
    };
    report(result);
    return result;
  } finally {
    await conn.end();
    await db.destroy();
    await admin.query(`drop database if exists ${dbName}`);
    await admin.end();
  }
}

/** The server's durations (ms) of the session's last `count` statements, in order (SHOW PROFILES lists each statement of a multi-statement query). */
async function lastProfiles(conn: Pool, count: number): Promise<number[]> {
  const [rows] = (await conn.query('show profiles')) as unknown as [{ Duration: number | string }[]];
  return rows.slice(-count).map((r) => Number(r.Duration) * 1000);
}

/** Adds a batch's statement times under a name per statement: its first words, numbered when a batch repeats them (two seq bumps, say). */
function recordStatementTimes(into: Map<string, number[]>, statements: readonly SqlStatement[], ms: readonly number[]): void {
  const seen = new Map<string, number>();
  statements.forEach((s, i) => {
    if (ms[i] === undefined) return;
    const words = s.sql
      .split(/\s+/)
      .slice(0, s.sql.startsWith('select') ? 1 : s.sql.startsWith('set') ? 2 : 3)
      .join(' ');
    const n = (seen.get(words) ?? 0) + 1;
    seen.set(words, n);
    const name = n === 1 ? words : `${words} #${n}`;
    if (!into.has(name)) into.set(name, []);
    into.get(name)!.push(ms[i]);
  });
}

/** One guild, `channels` general channels, `users` members spread over them; returns a maker of batches of `posts` posts by members. */
async function seed(db: Kysely<Database>, s: { posts: number; channels: number; users: number }): Promise<() => BatchedPost[]> {
  const channels = Array.from({ length: s.channels }, () => newId());
  const users = Array.from({ length: s.users }, (_, i) => `bench-user-${i}`);
  await db.insertInto('guilds').values({ id: 'bench-guild', name: 'bench', description: '', owner_id: users[0], created_at: 1 }).execute();
  await db
    .insertInto('guild_members')
    .values(users.map((u) => ({ guild_id: 'bench-guild', user_id: u, role: 'member' as const, joined_at: 1 })))
    .execute();
  await db
    .insertInto('channels')
    .values(
      channels.map((id, i) => ({
        id,
        guild_id: 'bench-guild',
        name: `c${i}`,
        topic: '',
        x_type: 'general' as const,
        is_public: 1,
        closed: 0,
        created_by: users[0],
        created_at: 1,
      })),
    )
    .execute();
  await db
    .insertInto('channel_members')
    .values(users.map((u, i) => ({ channel_id: channels[i % s.channels], user_id: u, joined_at: 1 })))
    .execute();
  const wake = wakeDeliverySubquery('general', 'mysql');
  return () => {
    const made: BatchedPost[] = [];
    for (let i = 0; i < s.posts; i++) {
      const u = Math.floor(Math.random() * s.users);
      const channelId = channels[u % s.channels];
      const message = {
        id: newId(),
        channel_id: channelId,
        guild_id: 'bench-guild',
        author_id: users[u],
        content: `a post of the batch benchmark, ${i}`,
        reply_to_id: null,
        mentions: '[]',
        client_msg_id: null,
        edited_at: null,
        deleted_at: null,
      };
      const data = JSON.stringify({ id: message.id, channelId, seq: 0, authorId: message.author_id, content: message.content, createdAt: '1970-01-01T00:00:00.000Z' });
      made.push({ message, memberId: message.author_id, unguardedOnly: true, event: { data, wake } });
    }
    // The node's order: by channel, arrival order within one.
    return made.sort((a, b) => (a.message.channel_id < b.message.channel_id ? -1 : a.message.channel_id > b.message.channel_id ? 1 : 0));
  };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function report(r: BatchSqlResult): void {
  if (values.json) {
    console.log(JSON.stringify(r));
    return;
  }
  const s = r.settings;
  console.log(
    `batch-sql settings: ${s.posts} posts per batch over ${s.channels} channels, ${s.users} users, ${s.batches} batches per variant and round, ${s.rounds} rounds${s.byStatement ? ', each statement profiled' : ''}`,
  );
  const asIs = r.variants.find((v) => v.name === 'as-is')?.medianMs;
  for (const v of r.variants) {
    const vs = asIs !== undefined && v.name !== 'as-is' ? `  (${((v.medianMs / asIs) * 100).toFixed(0)}% of as-is)` : '';
    console.log(`${v.name.padEnd(19)} ${v.medianMs.toFixed(3)} ms per batch${vs}   rounds ${v.roundsMs.map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`${''.padEnd(19)} ${v.what}`);
    if (v.statements) console.log(`${''.padEnd(19)} by statement: ${v.statements.map((t) => `${t.statement} ${t.medianMs.toFixed(3)}`).join(' · ')} ms`);
  }
}
