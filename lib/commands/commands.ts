import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { withDeadlockRetry } from '../db/dialect.js';
import { createLogger } from '../logger.js';
import { BUILTIN_COMMANDS, compareCommands, isSpecWithinDepth, specBytes, type SentSpec } from './command-rules.js';

const log = createLogger('commands');

/** A catalog entry as GET /api/commands lists it. */
export interface CommandEntry {
  name: string;
  description: string;
  /** "builtin", or the id of the user who registered it. */
  source: string;
  /** The spec's JSON text, as it was sent. */
  spec: string;
}

/** Replaces every command registered by `userId` with `specs`, in one transaction. Returns how many are registered. */
export async function replaceCommands(ctx: AppContext, userId: string, specs: readonly SentSpec[]): Promise<number> {
  const { db, dialect } = ctx.database;
  const rows = specs.map((s) => ({
    user_id: userId,
    name: s.spec.name,
    description: s.spec.description ?? '',
    spec: s.json,
    size: specBytes(s),
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
    const spec = isRenderableSpec(r.spec) ? r.spec : null;
    if (spec !== null) registered.push({ name: r.name, description: r.description, source: r.user_id, spec });
    else log.warn('stored command spec cannot be rendered; left out of the catalog', { name: r.name, userId: r.user_id });
  }
  const builtins: CommandEntry[] = BUILTIN_COMMANDS.filter((c) => c.name.startsWith(prefix)).map((c) => ({
    name: c.name,
    description: c.description,
    source: 'builtin',
    spec: JSON.stringify({ name: c.name, description: c.description }),
  }));
  return [...builtins, ...registered].sort(compareCommands);
}

/**
 * Whether a stored spec can be sent back as it is: a JSON object nested no deeper than
 * SPEC_MAX_DEPTH (a deeper one was stored before that bound existed). One that cannot stays
 * stored; its owner's next PUT replaces it.
 */
function isRenderableSpec(text: string): boolean {
  try {
    const spec: unknown = JSON.parse(text);
    return typeof spec === 'object' && spec !== null && !Array.isArray(spec) && isSpecWithinDepth(spec);
  } catch {
    return false;
  }
}

/** `{commands: [...]}` as JSON text, each spec's text inserted as it is stored (a parse and a serialisation would change it). */
export function commandListJson(entries: readonly CommandEntry[]): string {
  const items = entries.map((e) => `{"name":${JSON.stringify(e.name)},"description":${JSON.stringify(e.description)},"source":${JSON.stringify(e.source)},"spec":${e.spec}}`);
  return `{"commands":[${items.join(',')}]}`;
}
