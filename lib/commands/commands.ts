import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { withDeadlockRetry } from '../db/dialect.js';
import { createLogger } from '../logger.js';
import { BUILTIN_COMMANDS, compareCommands, isSpecWithinDepth, specBytes, type CommandSpec } from './command-rules.js';

const log = createLogger('commands');

/** A catalog entry as GET /api/commands lists it. */
export interface CommandEntry {
  name: string;
  description: string;
  /** "builtin", or the id of the user who registered it. */
  source: string;
  spec: Record<string, unknown>;
}

/** Replaces every command registered by `userId` with `specs`, in one transaction. Returns how many are registered. */
export async function replaceCommands(ctx: AppContext, userId: string, specs: readonly CommandSpec[]): Promise<number> {
  const { db, dialect } = ctx.database;
  const rows = specs.map((spec) => ({
    user_id: userId,
    name: spec.name,
    description: spec.description ?? '',
    spec: JSON.stringify(spec),
    size: specBytes(spec),
  }));
  // Two replacements by one user cross gap locks on MySQL: the loser of the deadlock runs again.
  await withDeadlockRetry(db, dialect, async (trx) => {
    await trx.deleteFrom('commands').where('user_id', '=', userId).execute();
    if (rows.length > 0) await trx.insertInto('commands').values(rows).execute();
  });
  return rows.length;
}

/**
 * The built-ins and every registered command whose name starts with `prefix`, by name.
 * `prefix` must already be normalised (see normalizePrefix).
 */
export async function listCommands(db: Db, prefix: string): Promise<CommandEntry[]> {
  let q = db.selectFrom('commands').select(['user_id', 'name', 'description', 'spec']);
  // Names are [a-z0-9_-] and '{' sorts right after 'z': a range scan on the name index.
  if (prefix !== '') q = q.where('name', '>=', prefix).where('name', '<', `${prefix}{`);
  const rows = await q.execute();
  const registered: CommandEntry[] = [];
  for (const r of rows) {
    const spec = renderableSpec(r.spec);
    if (spec) registered.push({ name: r.name, description: r.description, source: r.user_id, spec });
    else log.warn('stored command spec cannot be rendered; left out of the catalog', { name: r.name, userId: r.user_id });
  }
  const builtins: CommandEntry[] = BUILTIN_COMMANDS.filter((c) => c.name.startsWith(prefix)).map((c) => ({
    name: c.name,
    description: c.description,
    source: 'builtin',
    spec: { name: c.name, description: c.description },
  }));
  return [...builtins, ...registered].sort(compareCommands);
}

/**
 * A stored spec as an object, or null when it cannot be sent back: unparsable, or nested
 * beyond SPEC_MAX_DEPTH (stored before that bound existed). It stays stored; its owner's next
 * PUT replaces it.
 */
function renderableSpec(text: string): Record<string, unknown> | null {
  try {
    const spec: unknown = JSON.parse(text);
    return typeof spec === 'object' && spec !== null && isSpecWithinDepth(spec) ? (spec as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
