import fs from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p`: creates `dir` and any missing parent, each with one plain mkdir. Node's own
 * `{ recursive: true }` loops for ever (sync: blocking the event loop, so not even a signal is
 * handled) on a path it cannot create under a pseudo file system such as `/proc/x`, where mkdir
 * answers ENOENT while the parent exists; here that ENOENT, like any other error, is thrown.
 */
export async function makeDirectory(dir: string): Promise<void> {
  const target = path.resolve(dir);
  try {
    await fs.promises.mkdir(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await fs.promises.stat(target)).isDirectory()) return;
    const parent = path.dirname(target);
    if (code !== 'ENOENT' || parent === target || (await exists(parent))) throw err;
    await makeDirectory(parent);
    await fs.promises.mkdir(target);
  }
}

const exists = (p: string) =>
  fs.promises.stat(p).then(
    () => true,
    () => false,
  );
