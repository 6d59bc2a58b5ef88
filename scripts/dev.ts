/**
 * `npm run dev` — one command for a newcomer on a fresh machine: starts the Center emulator
 * (in-process), the node all-in-one on the embedded SQLite file (./data), seeds a demo guild
 * through the REST API and prints tokens plus curl and socket.io examples. Ctrl-C stops
 * everything.
 *
 * Each start seeds a new demo guild: the emulator forgets its users when it stops, so the
 * guilds of earlier runs stay in ./data but nobody can sign in to them any more.
 * `--reset` deletes the SQLite file and the file store first for a clean slate.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../lib/config.js';
import { startAllInOne } from './processes.js';
import { startDevCenter } from './dev-center.js';
import { describeDemo, seedDemo } from './seed.js';

const CENTER_API_KEY = 'dev-center-key';

const HELP = `Usage: npm run dev [-- --port 7002] [--center-port 7100] [--reset]

Runs everything a newcomer needs, in one process:
  - the Center emulator on 127.0.0.1:<center-port> (API key "${CENTER_API_KEY}"; development only),
  - the guild node all-in-one on <port> (REST and socket.io), on the SQLite file ./data/guild.sqlite,
  - a freshly seeded demo guild (an owner, two agents, one channel of each xType),
then prints the tokens and examples to paste. Ctrl-C stops everything.

  --port         node port (default: FABRIC_BACKEND_GUILD_PORT, else 7002)
  --center-port  Center emulator port (default 7100)
  --reset        delete the SQLite file and the file store before starting

Other FABRIC_BACKEND_GUILD_* variables apply as usual (see README.md), except that Center is
always the emulator and the database always SQLite.`;

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'center-port': { type: 'string', default: '7100' },
      reset: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const centerPort = Number(values['center-port']);
  if (!Number.isInteger(centerPort) || centerPort < 0 || centerPort > 65535) throw new Error(`--center-port must be a port number (got "${values['center-port']}")`);

  const center = await startDevCenter({ port: centerPort, apiKey: CENTER_API_KEY, quiet: true });
  let config;
  try {
    config = loadConfig({
      FABRIC_BACKEND_GUILD_NODE_ID: 'dev-node',
      ...process.env,
      ...(values.port !== undefined ? { FABRIC_BACKEND_GUILD_PORT: values.port } : {}),
      FABRIC_BACKEND_GUILD_CENTER_BASE_URL: center.url,
      FABRIC_BACKEND_GUILD_CENTER_API_KEY: CENTER_API_KEY,
      FABRIC_BACKEND_GUILD_DB_TYPE: 'sqlite',
    });
  } catch (err) {
    await center.close();
    throw err;
  }
  if (config.db.type === 'sqlite' && values.reset) {
    for (const f of [config.db.file, `${config.db.file}-wal`, `${config.db.file}-shm`]) fs.rmSync(f, { force: true });
    fs.rmSync(config.fileDir, { recursive: true, force: true });
    console.log(`reset: removed ${config.db.file} and ${config.fileDir}`);
  }

  let node;
  try {
    node = await startAllInOne(config);
  } catch (err) {
    await center.close();
    throw err;
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    void Promise.allSettled([node.close(), center.close()]).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const nodeUrl = `http://localhost:${node.port}`;
  const seed = await seedDemo({ nodeUrl: node.url, centerUrl: center.url, apiKey: CENTER_API_KEY });
  console.log(
    [
      '',
      '*** Fabric guild node — development run ***',
      `Node:            ${nodeUrl}   (REST under /api, socket.io namespace /realtime)`,
      `API reference:   ${nodeUrl}/api/docs   (OpenAPI 3.1: ${nodeUrl}/api/openapi.json)`,
      `Center emulator: ${center.url}   (API key ${CENTER_API_KEY}; development and tests only)`,
      `Database:        ${config.db.type === 'sqlite' ? config.db.file : ''}`,
      '',
      describeDemo(seed, nodeUrl),
      '',
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  console.error(`dev: ${message}`);
  process.exit(1);
});
