import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../lib/config.js';
import { StartupStopped } from '../lib/context.js';
import { configureLogging, createLogger } from '../lib/logger.js';

const log = createLogger('server');

/** After the drain deadline (SHUTDOWN_TIMEOUT_SECONDS), how long the rest of the shutdown (flushes, sockets, database) may take before the process exits anyway. */
const CLOSE_GRACE_MS = 5000;

/** Where every server entry's settings come from: an unknown option's message points here. */
const SETTINGS_HELP = `Settings are environment variables, read once at startup. Required:
  FABRIC_BACKEND_GUILD_CENTER_BASE_URL   Center's base URL (http:// or https://)
  FABRIC_BACKEND_GUILD_CENTER_API_KEY    sent to Center as x-api-key
  FABRIC_BACKEND_GUILD_NODE_ID           this node's id
Every optional one, with its default and bounds: README.md, "Configuration".`;

/** What runEntry stops: resolves true when every request in flight finished before `drainMs`. */
export interface Stoppable {
  close(opts: { drainMs: number }): Promise<boolean>;
}

/**
 * Shared start-up of the server entry points: `--help`, config errors as one line and exit 1,
 * graceful shutdown on SIGINT/SIGTERM.
 *
 * The signal handlers are installed before `start` runs. A signal during startup stops the
 * migration of DB_SYNC once the migration in progress has finished (not between two of its
 * DDL statements), and exits 0; a startup that cannot stop within the shutdown timeout (a
 * migration still running, a database that does not answer) exits 1, and so does a second
 * signal, at once. On a signal once running: no new connection, readiness 503, the requests in
 * flight get up to the shutdown timeout to finish, then queued work is flushed and everything
 * closes. Exit 0 when all of that finished in time; 1 (and an error line) when requests were
 * cut off at the deadline, the close failed, or it took CLOSE_GRACE_MS longer still.
 */
export async function runEntry(help: string, start: (config: Readonly<Config>, opts: { stopRequested: () => boolean }) => Promise<Stoppable>): Promise<void> {
  let values: { help?: boolean };
  try {
    ({ values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true }));
  } catch (err) {
    // Settings come from the environment; an argument here is a mistake (a flag of another tool, a typo).
    console.error(`fabric-guild: ${err instanceof Error ? err.message : String(err)}; settings are environment variables (--help lists them)`);
    process.exit(1);
  }
  if (values.help) {
    console.log(`${help}\n\n${SETTINGS_HELP}`);
    return;
  }
  let config: Readonly<Config>;
  let drainMs: number;
  try {
    config = loadConfig(process.env);
    drainMs = Math.round(config.shutdownTimeoutSeconds * 1000);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`fabric-guild: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  configureLogging(config.logLevel, config.logFormat);
  let running: Stoppable | undefined;
  let stopping = false;
  let startupDeadline: NodeJS.Timeout | undefined;
  /** Exit 1 once `ms` passed, unless the process is gone by then (a shutdown or a startup that does not end in time). */
  const exitAfter = (ms: number, message: string) =>
    setTimeout(() => {
      log.error(message, { deadlineMs: ms });
      process.exit(1);
    }, ms);
  const shutdown = (stoppable: Stoppable) => {
    stopping = true;
    log.info('shutting down', { signal: signal(), deadlineMs: drainMs });
    const force = exitAfter(drainMs + CLOSE_GRACE_MS, 'shutdown did not finish in time; exiting');
    stoppable.close({ drainMs }).then(
      (drained) => {
        clearTimeout(force);
        if (drained) log.info('stopped');
        else log.error('stopped after cutting off requests still in flight at the shutdown deadline', { deadlineMs: drainMs });
        process.exit(drained ? 0 : 1);
      },
      (err: unknown) => {
        log.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  const signal = onStopSignals({
    first(received) {
      if (running) return shutdown(running);
      // Nothing is served yet: the startup gets the shutdown timeout to reach a point where it
      // can stop (the migration in progress finishing), then it is cut off.
      log.info('stop requested while starting; stopping once the migration in progress (if any) has finished', { signal: received, deadlineMs: drainMs });
      startupDeadline = exitAfter(drainMs, 'startup did not stop in time; exiting');
    },
    again(received) {
      if (stopping) return void log.info('already stopping', { signal: received });
      log.error('stopped at once by a second signal while starting', { signal: received });
      process.exit(1);
    },
  });
  // Debug only: a start that fails says so in one line.
  log.debug('starting', { migrate: config.dbSync });
  try {
    running = await start(config, { stopRequested: () => signal() !== undefined });
  } catch (err) {
    if (err instanceof StartupStopped) {
      log.info(err.message, { signal: signal() });
      process.exit(0);
    }
    console.error(`fabric-guild: failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  clearTimeout(startupDeadline); // started after all: the shutdown has a deadline of its own
  if (signal()) shutdown(running);
}

/**
 * SIGINT/SIGTERM for a process that may be migrating (a server's startup, `npm run migrate`):
 * `first` on the first signal, which asks a migration run to stop once the migration in
 * progress has finished (pass `() => signal() !== undefined` as its stopRequested); `again` on
 * every later one. Installed before anything runs; returns the first signal received, if any.
 */
export function onStopSignals(handlers: { first(signal: NodeJS.Signals): void; again(signal: NodeJS.Signals): void }): () => NodeJS.Signals | undefined {
  let first: NodeJS.Signals | undefined;
  const onSignal = (received: NodeJS.Signals) => {
    if (first) return handlers.again(received);
    first = received;
    handlers.first(received);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => first;
}

/**
 * Shared shape of the one-shot CLIs: `--help` prints `help`; `run` resolves to the exit code;
 * any error is one line `<name>: <message>` on stderr and exit 1 (no stack traces).
 */
export function runCli(name: string, help: string, run: () => Promise<number>): void {
  let helpAsked: boolean | undefined;
  try {
    helpAsked = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true }).values.help;
  } catch (err) {
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  if (helpAsked) {
    console.log(help);
    process.exit(0);
  }
  run().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
