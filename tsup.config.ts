/**
 * Build: every REST handler bundled on its own (dist/handlers/<same path>.js), so any one
 * endpoint can be hosted alone; the entry points dist/main.js (all-in-one), dist/api.js and
 * dist/realtime.js (split mode); and the CLIs (dist/migrate.js, dist/seed.js, …).
 *
 * Each output file is self-contained as far as our own code goes (no shared chunks). Every
 * package stays external and is loaded from node_modules at run time: native drivers
 * (better-sqlite3), drivers with dynamic requires (mysql2) and CommonJS packages cannot be
 * bundled into ESM safely, and keeping the rest external keeps one copy of each on disk.
 * The bench CLI, a development tool, also imports devDependencies (socket.io-client).
 */
import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'tsup';

/** handlers/**\/*.ts except the route table → `handlers/<path without .ts>`. */
function handlerEntries(): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const file of fs.readdirSync('handlers', { recursive: true, encoding: 'utf8' })) {
    const rel = file.split(path.sep).join('/');
    if (!rel.endsWith('.ts') || rel.endsWith('.d.ts') || rel === 'routes.ts') continue;
    entries[`handlers/${rel.slice(0, -3)}`] = `handlers/${rel}`;
  }
  return entries;
}

/** Entry points and CLIs, those that exist (scripts arrive with their issues). */
function scriptEntries(): Record<string, string> {
  const names = ['main', 'api', 'realtime', 'migrate', 'seed', 'dev', 'dev-center', 'sweep', 'bench'];
  return Object.fromEntries(names.filter((n) => fs.existsSync(`scripts/${n}.ts`)).map((n) => [n, `scripts/${n}.ts`]));
}

/**
 * The public client side, for agent plugins and UIs (Node 20+ and browsers): the SDK and the
 * typed event map, with their .d.ts, offered by package.json `exports` as
 * `fabric-guild-node/client` and `fabric-guild-node/events`. Platform-neutral; socket.io-client
 * stays an import of the consumer's.
 */
const clientBuild = {
  entry: { 'client/index': 'lib/client/index.ts', 'client/events': 'lib/realtime/events.ts' },
  outDir: 'dist',
  format: ['esm' as const],
  platform: 'neutral' as const,
  target: 'es2022',
  splitting: false,
  external: ['socket.io-client'],
  sourcemap: true,
  // `npm run build` empties dist/ once before both builds, which run side by side.
  clean: false,
  dts: true,
  shims: false,
};

export default defineConfig([{
  entry: { ...handlerEntries(), ...scriptEntries() },
  outDir: 'dist',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  splitting: false,
  skipNodeModulesBundle: true,
  sourcemap: true,
  clean: false,
  dts: false,
  shims: false,
}, clientBuild]);
