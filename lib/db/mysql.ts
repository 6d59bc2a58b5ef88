import { Kysely, MysqlDialect } from 'kysely';
import { createPool } from 'mysql2';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { createMysqlPostBatches, POST_BATCHES_IN_FLIGHT } from './mysql-post-batches.js';
import type { Database } from './schema.js';
import type { DatabaseHandle } from './index.js';

const log = createLogger('db');

/** How long closing the pool waits for the server to answer before its connections are dropped. */
const CLOSE_WAIT_MS = 1000;

/** What every connection of the node sets first (see `openMysql`). */
export const SESSION_SETTINGS =
  "set session sql_mode = concat(replace(@@sql_mode, 'NO_BACKSLASH_ESCAPES', ''), ',STRICT_TRANS_TABLES'), session time_zone = '+00:00', session group_concat_max_len = 4294967295";

/** A mysql2 pool behind kysely, with the group commit of the post path. Loaded only when DB_TYPE is mysql. */
export function openMysql(dbConfig: Extract<Config['db'], { type: 'mysql' }>): DatabaseHandle {
  const pool = createPool({
    host: dbConfig.host,
    port: dbConfig.port,
    user: dbConfig.user,
    password: dbConfig.password,
    database: dbConfig.database,
    connectionLimit: dbConfig.pool,
    charset: 'utf8mb4_bin',
    timezone: 'Z',
    enableKeepAlive: true,
    // The post transaction goes as one multi-statement batch (dialect.ts insertMessageWithNextSeq).
    // Every query is parameterised: no text from a request is ever spliced into SQL.
    multipleStatements: true,
  });
  // mysql2 escapes parameters with backslashes: a server whose sql_mode has
  // NO_BACKSLASH_ESCAPES would read them differently, so every connection turns it off. And
  // strict mode on: a post batch's multi-row message insert must fail on a NULL seq (a refused
  // post), where a non-strict server would store 0 and only warn (mysql-post-statements.ts).
  // And UTC: the database clock stamps posts (`unix_timestamp(now(3))`), and in a zone with
  // daylight saving the hour that repeats in autumn would convert back ambiguously, so a
  // createdAt could go down along seq. And no cut of aggregated lists: MariaDB cuts
  // JSON_ARRAYAGG at group_concat_max_len (1 MiB by default), an error inside the post batch's
  // INSERT … SELECT in strict mode, so a channel whose members' ids take more (some ten thousand
  // long ids) could not be posted to, where SQLite wakes them all.
  pool.on('connection', (conn) =>
    conn.query(SESSION_SETTINGS, (err) => {
      // Without these settings the connection would misread escapes, store a refused post or
      // stamp a wrong time, so it is not used: destroyed, its queued query fails (503) instead.
      if (err) {
        log.warn('could not set the session sql_mode and time zone; closing the connection', { code: err.code });
        conn.destroy();
      }
    }),
  );
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  // mysql2 keeps its pool's state in these fields (no public accessor).
  const state = pool as unknown as Record<'_allConnections' | '_freeConnections' | '_connectionQueue', { length: number }>;
  const connections = state._allConnections as unknown as { length: number; get(i: number): { destroy(): void } };
  return {
    db,
    dialect: 'mysql',
    postBatches: createMysqlPostBatches(pool, POST_BATCHES_IN_FLIGHT, dbConfig.pool),
    // Closing says goodbye on every connection and waits for the server to answer: with the
    // database away (a network gone silent) that answer never comes, and a shutdown waited for
    // its own deadline. Past CLOSE_WAIT_MS the connections are dropped instead.
    async destroy() {
      const ended = db.destroy().then(
        () => true,
        () => true,
      );
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS)));
      if (!(await Promise.race([ended, late]))) {
        log.warn('the database did not answer the close in time; dropping its connections', { connections: connections.length, waitedMs: CLOSE_WAIT_MS });
        for (let i = connections.length - 1; i >= 0; i--) connections.get(i).destroy();
      }
      clearTimeout(timer);
    },
    poolStats: () => ({ open: state._allConnections.length, idle: state._freeConnections.length, waiting: state._connectionQueue.length }),
  };
}
