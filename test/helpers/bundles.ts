/**
 * What a built bundle loads: its file and, transitively, the chunks of dist/ it imports
 * statically (what `import()` loads lazily is left out: it loads only when used).
 */
import fs from 'node:fs';
import path from 'node:path';

const STATIC_IMPORT = /^(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']|^import\s*["'](\.{1,2}\/[^"']+)["']/gm;

/** Absolute paths of `file` and every file of ours it imports statically, directly or not. */
export function staticClosure(file: string, seen = new Set<string>()): Set<string> {
  const abs = path.resolve(file);
  if (seen.has(abs)) return seen;
  seen.add(abs);
  for (const m of fs.readFileSync(abs, 'utf8').matchAll(STATIC_IMPORT)) staticClosure(path.resolve(path.dirname(abs), m[1] ?? m[2]), seen);
  return seen;
}

/** The source modules (`// lib/x.ts` markers esbuild writes) in the code a bundle loads statically. */
export function modulesLoaded(file: string): string[] {
  const modules: string[] = [];
  for (const f of staticClosure(file)) for (const m of fs.readFileSync(f, 'utf8').matchAll(/^\/\/ ((?:lib|handlers|realtime|scripts)\/\S+\.ts)$/gm)) modules.push(m[1]);
  return modules;
}

/** Bytes of code a bundle loads statically. */
export const staticSize = (file: string): number => [...staticClosure(file)].reduce((sum, f) => sum + fs.statSync(f).size, 0);

/** Every handler bundle under dist/handlers, relative to dist (e.g. `handlers/guilds/create.js`). */
export function handlerBundles(dist: string): string[] {
  return fs
    .readdirSync(path.join(dist, 'handlers'), { recursive: true, encoding: 'utf8' })
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => `handlers/${f}`)
    .sort();
}
