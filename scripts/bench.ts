/**
 * `npm run bench` — the node's benchmarks (see docs/performance.md); `--help` lists the modes,
 * `--mode M --help` tells one.
 *
 * Each mode starts a Center emulator and the node's processes on a throwaway MySQL database
 * (scripts/bench/target.ts), seeds a guild through REST (seed.ts), and measures:
 * - the post path (post-path.ts): `--mode both` (default) runs `raw` (the node's post code in
 *   lib/ without HTTP or socket.io), `raw-ceiling` (the bare post transaction through a mysql2
 *   pool) and `http` (closed posting loops with socket.io subscribers), and their ratios;
 *   `split` the same HTTP load through API processes and one realtime process; `--quick` is the
 *   regression guard of CI, failing only on a lost, duplicated or out-of-order delivery or a
 *   duplicated or missing seq, never on a timing;
 * - `fanout` (fanout.ts): many sockets per channel held by client processes (client-worker.ts),
 *   the node's CPU per delivery and the delivery latency;
 * - `idle` (idle.ts): thousands of idle authenticated sockets, memory per socket and event-loop lag;
 * - `recovery` (recovery.ts): kill -9 and restart of the node under SDK subscribers, seconds
 *   until every one has caught up;
 * - `batch-sql` (batch-sql.ts): the database's time per post batch, part by part, no node.
 */
import { pinBenchProcess } from './bench/cpu-pinning.js';
import { runBatchSql } from './bench/batch-sql.js';
import { runFanout } from './bench/fanout.js';
import { runIdle } from './bench/idle.js';
import { HELP, selectedMode, values } from './bench/options.js';
import { runPostPath } from './bench/post-path.js';
import { runRecovery } from './bench/recovery.js';

async function main() {
  const mode = selectedMode();
  if (values.help) {
    console.log(HELP[mode]);
    return;
  }
  pinBenchProcess();
  if (values.url && (mode === 'fanout' || mode === 'idle' || mode === 'recovery' || mode === 'batch-sql'))
    throw new Error(`--mode ${mode} starts its own node or none (no --url): it reads the node's /proc and metrics, recovery kills it, batch-sql talks to the database alone`);
  if (mode === 'fanout') return runFanout();
  if (mode === 'idle') return runIdle();
  if (mode === 'recovery') return runRecovery();
  if (mode === 'batch-sql') return void (await runBatchSql());
  return runPostPath(mode);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
