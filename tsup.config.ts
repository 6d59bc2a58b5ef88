/**
 * Build: every REST handler bundled on its own (dist/handlers/<same path>.js), so any one
 * endpoint can be hosted alone; the entry points dist/main.js (all-in-one), dist/api.js and
 * dist/realtime.js (split mode); and the CLIs (dist/migrate.js, dist/seed.js, …).
 *
 * Handler bundles are split: our own code shared by several of them lives once in
 * dist/chunk-*.js, and what is imported lazily (the migrations, the MySQL driver and its
 * group-commit engine, the HTTP emitter of split mode, the SQLite drivers) in chunks loaded
 * only when used. So a bundle loads only what its endpoint uses (sizes: docs/edge-hosting.md),
 * and a module's state (log level, caches) exists once per process. Host the dist/ folder,
 * not one file. Servers and CLIs are one file each, as some of them check whether they are
 * the file that was run.
 *
 * Every package stays external and is loaded from node_modules at run time: native drivers
 * (better-sqlite3), drivers with dynamic requires (mysql2) and CommonJS packages cannot be
 * bundled into ESM safely, and keeping the rest external keeps one copy of each on disk.
 * `bun:sqlite` is Bun's own module. The bench CLI, a development tool, also imports
 * devDependencies (socket.io-client).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig, type Options } from 'tsup';

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

interface ApiRoute {
  file: string;
  method: string;
  path: string;
}

/**
 * Method and path of every route of handlers/routes.ts, read from each handler's
 * `defineHandler({ method, path })`: what a bundle needs to answer a 405 with the routed
 * server's `Allow` (lib/hosting.ts) without carrying the other handlers.
 */
function apiRoutes(): ApiRoute[] {
  const table = fs.readFileSync('handlers/routes.ts', 'utf8');
  return [...table.matchAll(/^import \w+ from '\.\/([\w/-]+)\.js';$/gm)].map(([, name]) => {
    const file = path.resolve(`handlers/${name}.ts`);
    const m = /defineHandler\(\s*\{\s*method:\s*'([A-Z]+)',\s*path:\s*'([^']+)'/.exec(fs.readFileSync(file, 'utf8'));
    if (!m) throw new Error(`handlers/${name}.ts: no defineHandler({ method: '…', path: '…' }) to read its route from`);
    return { file, method: m[1], path: m[2] };
  });
}

/** Whether one request path can match both itty-router paths (segment by segment: equal, or a `:param`). */
function canOverlap(a: string, b: string): boolean {
  const [x, y] = [a.split('/'), b.split('/')];
  return x.length === y.length && x.every((s, i) => s === y[i] || s.startsWith(':') || y[i].startsWith(':'));
}

/** The routes a bundle names in `Allow`: those whose path can match a request its own route matches. */
function routesNear(routes: readonly ApiRoute[], file: string): string[] {
  const own = routes.find((r) => r.file === file);
  return routes.filter((r) => !own || canOverlap(r.path, own.path)).map((r) => `${r.method} ${r.path}`);
}

/**
 * A handler file built as an entry point is wrapped by lib/hosting.ts (the hosting contract:
 * `waitUntil`, `settled()`, the API's routes for `Allow`); imported by the route table it
 * stays as it is.
 */
const hostedHandlerEntries: Plugin = {
  name: 'hosted-handler-entries',
  setup(build) {
    const root = process.cwd();
    const routes = apiRoutes();
    build.onResolve({ filter: /^(\.\/)?handlers\/.*\.ts$/ }, (args) =>
      args.kind === 'entry-point' ? { path: path.resolve(root, args.path), namespace: 'hosted-handler' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'hosted-handler' }, (args) => ({
      resolveDir: root,
      loader: 'ts',
      contents: [
        `import handler from ${JSON.stringify(args.path)};`,
        `import { hosted } from ${JSON.stringify(path.resolve(root, 'lib/hosting.ts'))};`,
        `export { settled } from ${JSON.stringify(path.resolve(root, 'lib/hosting.ts'))};`,
        `export default hosted(handler, ${JSON.stringify(routesNear(routes, args.path))});`,
      ].join('\n'),
    }));
  },
};

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

const common = {
  outDir: 'dist',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  external: ['bun:sqlite'],
  skipNodeModulesBundle: true,
  sourcemap: true,
  // Two builds write into dist/ side by side: `npm run build` empties it first.
  clean: false,
  dts: false,
  shims: false,
} satisfies Options;

export default defineConfig([
  clientBuild,
  // Handler bundles: split, so each loads only what its endpoint uses.
  { ...common, entry: handlerEntries(), splitting: true, esbuildPlugins: [hostedHandlerEntries] },
  // Servers and CLIs: one file each (what they import lazily is inlined, and loaded when reached).
  { ...common, entry: scriptEntries(), splitting: false },
]);
