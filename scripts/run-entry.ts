import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../lib/config.js';

/**
 * Shared start-up of the server entry points: `--help`, config errors as one line and exit 1,
 * clean shutdown on SIGINT/SIGTERM.
 */
export async function runEntry(help: string, start: (config: Readonly<Config>) => Promise<{ close(): Promise<void> }>): Promise<void> {
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: false });
  if (values.help) {
    console.log(help);
    return;
  }
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`fabric-guild: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  let running: { close(): Promise<void> };
  try {
    running = await start(config);
  } catch (err) {
    console.error(`fabric-guild: failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    void running.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
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
