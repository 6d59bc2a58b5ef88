/**
 * The rules of the slash-command registry (api.md "Slash-command registry"), pure: the
 * built-ins, the name grammar, the limits and how a name prefix is read.
 */
import { badRequest, HttpError } from '../errors.js';
import { jsonBoundsProblem } from '../http/json-bounds.js';
import { arrayElementTexts, compactJson } from '../http/json-text.js';

export const COMMAND_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const DESCRIPTION_MAX = 200;
export const COMMANDS_MAX = 200;
/** Per caller, measured as the UTF-8 bytes of each spec's JSON text as stored. */
export const COMMANDS_BYTES_MAX = 256 * 1024;

/** The two commands the node itself intercepts in messages; nobody may register them. */
export const BUILTIN_COMMANDS = [
  { name: 'force-proceed', description: 'Move the turn on: skip the member whose turn it is, or start a round when none is running.' },
  { name: 'no-reply', description: 'Pass your turn without posting a message.' },
] as const;
const RESERVED = new Set<string>(BUILTIN_COMMANDS.map((c) => c.name));

/** Deepest nesting of one spec (the spec object itself is one level); what is stored must render back. */
export const SPEC_MAX_DEPTH = 16;

/** Whether a spec nests no deeper than SPEC_MAX_DEPTH (checked iteratively: safe at any depth). */
export const isSpecWithinDepth = (spec: unknown) => jsonBoundsProblem(spec, { maxDepth: SPEC_MAX_DEPTH, maxValues: Infinity }) === null;

export type CommandSpec = Record<string, unknown> & { name: string; description?: string };

/** A spec as read (for its name and description) and its JSON text as sent, which is what is stored and listed. */
export interface SentSpec {
  spec: CommandSpec;
  json: string;
}

/**
 * Pairs each spec of a PUT body with its JSON text as sent (whitespace between tokens
 * removed): `bodyText` is the text `specs` were parsed from, as `{commands: [...]}`.
 */
export function withSentText(specs: readonly CommandSpec[], bodyText: string): SentSpec[] {
  const texts = arrayElementTexts(bodyText, 'commands');
  if (texts?.length !== specs.length) throw new Error('the commands of the body text do not match the parsed body');
  return specs.map((spec, i) => ({ spec, json: compactJson(texts[i]) }));
}

/** Size of one spec as stored: the UTF-8 bytes of its JSON text. */
export const specBytes = (s: SentSpec) => Buffer.byteLength(s.json, 'utf8');

/**
 * Checks a caller's whole set beyond the shape of each spec: nesting, reserved names and
 * duplicates (400, the offending entries listed), then the total size (413).
 */
export function requireValidCommandSet(specs: readonly SentSpec[]): void {
  const details: { field: string; message: string }[] = [];
  const seen = new Set<string>();
  specs.forEach(({ spec }, i) => {
    if (!isSpecWithinDepth(spec)) details.push({ field: `commands.${i}`, message: `nests deeper than ${SPEC_MAX_DEPTH} levels` });
    else if (RESERVED.has(spec.name)) details.push({ field: `commands.${i}.name`, message: `"${spec.name}" is a built-in command and cannot be registered` });
    else if (seen.has(spec.name)) details.push({ field: `commands.${i}.name`, message: `"${spec.name}" appears more than once` });
    seen.add(spec.name);
  });
  if (details.length > 0) throw badRequest('invalid commands', details);
  const bytes = specs.reduce((sum, s) => sum + specBytes(s), 0);
  if (bytes > COMMANDS_BYTES_MAX) {
    throw new HttpError(413, 'payload_too_large', `the commands take ${bytes} bytes; at most ${COMMANDS_BYTES_MAX} per user`);
  }
}

/**
 * The name prefix a client typed: a leading "/" and case are ignored. Null when it cannot
 * start any command name (nothing can match).
 */
export function normalizePrefix(raw: string | undefined): string | null {
  const prefix = (raw ?? '').trim().replace(/^\//, '').toLowerCase();
  return /^[a-z0-9_-]{0,32}$/.test(prefix) ? prefix : null;
}

/** Name order, then built-ins before registered ones, then by user id (code unit order, as the database sorts). */
export function compareCommands(a: { name: string; source: string }, b: { name: string; source: string }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.source === b.source) return 0;
  if (a.source === 'builtin') return -1;
  if (b.source === 'builtin') return 1;
  return a.source < b.source ? -1 : 1;
}
