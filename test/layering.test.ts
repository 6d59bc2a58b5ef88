/**
 * The layers of the tree (README "Layout"): lib/ is what handlers, the realtime app and the
 * scripts share, so it imports none of them; composition happens in scripts/processes.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The top-level folder each relative import of `file` lands in. */
function importedTopFolders(file: string): string[] {
  const source = fs.readFileSync(file, 'utf8');
  const specs = [...source.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((spec) => path.relative(process.cwd(), path.resolve(path.dirname(file), spec)).split(path.sep)[0]);
}

describe('layering', () => {
  it('lib/ imports nothing from handlers/, realtime/ or scripts/', () => {
    const offending = filesUnder('lib').flatMap((file) =>
      importedTopFolders(file)
        .filter((top) => ['handlers', 'realtime', 'scripts'].includes(top))
        .map((top) => `${file} → ${top}/`),
    );
    expect(offending).toEqual([]);
  });

  it('handlers import no process wiring (scripts/, realtime/)', () => {
    const offending = filesUnder('handlers').flatMap((file) =>
      importedTopFolders(file)
        .filter((top) => ['realtime', 'scripts'].includes(top))
        .map((top) => `${file} → ${top}/`),
    );
    expect(offending).toEqual([]);
  });
});
