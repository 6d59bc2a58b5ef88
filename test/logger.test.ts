/**
 * lib/logger.ts in a real process: the fields that docs/operations.md names are written as
 * [redacted], at the top level and one level down, whatever a call site passes.
 */
import { describe, expect, it } from 'vitest';
import { spawnNode } from './helpers/harness.js';

/** The JSON line a process writes for one entry with `fields`. */
async function logged(fields: Record<string, unknown>): Promise<{ text: string; line: Record<string, any> }> {
  const child = spawnNode('test/helpers/log-entry.ts', {}, { args: [JSON.stringify(fields)] });
  expect(await child.exited).toBe(0);
  const text = child.stderr();
  return { text, line: JSON.parse(text.trim().split('\n').at(-1)!) };
}

const NAMES = ['token', 'accessToken', 'access_token', 'authorization', 'secret', 'password', 'apiKey'];

describe('secret-named fields (docs/operations.md "Secrets")', () => {
  it('are redacted at the top level, one level down, and as headers.authorization / headers["x-api-key"]', async () => {
    const fields: Record<string, unknown> = { headers: { authorization: 'Bearer Hunter2-h', 'x-api-key': 'Hunter2-k' } };
    for (const name of NAMES) {
      fields[name] = `Hunter2-top-${name}`;
      fields[`in_${name}`] = { [name]: `Hunter2-nested-${name}` };
    }
    const { text, line } = await logged(fields);
    expect(text).not.toContain('Hunter2');
    for (const name of NAMES) {
      expect(line[name]).toBe('[redacted]');
      expect(line[`in_${name}`][name]).toBe('[redacted]');
    }
    expect(line.headers).toEqual({ authorization: '[redacted]', 'x-api-key': '[redacted]' });
  });
});
