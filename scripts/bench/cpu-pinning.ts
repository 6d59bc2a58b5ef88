/**
 * `--pin`: the node's processes on CPU 0, this process and the client processes it forks on
 * the other CPUs (Linux `taskset`). On a shared 2-CPU machine the load generator otherwise runs
 * on the node's CPU between its posts and empties its caches; pinned, the node runs as on a
 * machine of its own, apart from the database server, which is not touched.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { values } from './options.js';

const NODE_CPU = '0';

function otherCpus(): string {
  const n = availableParallelism();
  if (n < 2) throw new Error('--pin needs at least 2 CPUs');
  return n === 2 ? '1' : `1-${n - 1}`;
}

/** Moves this process (every thread) off the node's CPU; processes forked later inherit it. */
export function pinBenchProcess(): void {
  if (!values.pin) return;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', otherCpus(), String(process.pid)], { stdio: 'ignore' });
  } catch {
    throw new Error('--pin needs `taskset` (util-linux) and a Linux machine');
  }
}

/** `command args` as started for a node process: under `taskset -c 0` with --pin. */
export function nodeCommand(command: string, args: string[]): [string, string[]] {
  return values.pin ? ['taskset', ['-c', NODE_CPU, command, ...args]] : [command, args];
}
