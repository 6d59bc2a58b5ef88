import { describe, expect, it } from 'vitest';
import type { Logger } from '../lib/logger.js';
import { createRepeatedWarning } from '../lib/repeated-warning.js';
import { sleep } from './helpers/harness.js';

/** A Logger that keeps its warnings (the one this code writes through). */
function keepingLogger() {
  const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
  const log = { debug() {}, info() {}, error() {}, warn: (msg: string, fields?: Record<string, unknown>) => warnings.push({ msg, fields }) } as unknown as Logger;
  return { log, warnings };
}

describe('createRepeatedWarning', () => {
  it('logs the first failure of a kind at once, then one line per period with the count of the repeats', async () => {
    const { log, warnings } = keepingLogger();
    const warning = createRepeatedWarning(log, 'emit failed', 200);
    for (let i = 0; i < 5; i++) warning.warn('ECONNREFUSED', { error: 'ECONNREFUSED' });
    warning.warn('timed out', { error: 'timed out' });
    expect(warnings.map((w) => [w.fields?.error, w.fields?.count])).toEqual([
      ['ECONNREFUSED', 1],
      ['timed out', 1],
    ]);
    await sleep(350);
    expect(warnings.map((w) => [w.fields?.error, w.fields?.count])).toEqual([
      ['ECONNREFUSED', 1],
      ['timed out', 1],
      ['ECONNREFUSED', 4],
    ]);
    warning.warn('ECONNREFUSED', { error: 'ECONNREFUSED' });
    warning.flush();
    expect(warnings.at(-1)?.fields).toMatchObject({ error: 'ECONNREFUSED', count: 1 });
  });
});
