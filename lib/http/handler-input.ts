/**
 * The input half of a declared endpoint (lib/http/handler.ts): the query, then the JSON body,
 * each validated with the endpoint's zod schema (400/413/415). Where the access policy's
 * target is named in the query or the body, the policy is resolved as soon as that id is
 * read, so its 404/403 answer before the rest of the input's 400. Loaded only by endpoints
 * with input, so that the others (health) do not carry it.
 */
import type { z } from 'zod';
import type { Principal } from '../center/client.js';
import { readJson, readJsonBody, readJsonValue, readQuery, validate } from './body.js';
import { fieldOf, type HandlerInput, type HandlerSpec, type TargetSource } from './handler.js';

/**
 * Fills `input.query` and `input.body`. `from`: where the policy's target is (`path`/`none`:
 * already resolved), or `on-refusal` (resolved only when the body is refused). `resolve`
 * resolves the policy (and runs the guard) for a target id.
 */
export async function readInput<P extends Principal | null, A>(
  spec: HandlerSpec<P, A, z.ZodType, z.ZodType>,
  input: HandlerInput<P, A, z.ZodType, z.ZodType>,
  from: TargetSource | 'on-refusal',
  resolve: (id: string) => Promise<void>,
): Promise<void> {
  const target = spec.access.target!;
  if (spec.query) {
    input.query = readQuery(input.url, spec.query);
    if (from === 'query') await resolve(String((input.query as Record<string, unknown>)[target]));
  }
  if (!spec.body) return;
  const limit = spec.bodyLimit?.(input.ctx);
  if (spec.keepBodyText) {
    const outranking = from === 'on-refusal' ? () => resolve(input.params[target]) : undefined;
    try {
      const { text, value } = await readJsonBody(input.request, limit);
      input.bodyText = text;
      input.body = validate(spec.body, value);
    } catch (err) {
      if (outranking) await outranking();
      throw err;
    }
  } else if (from === 'body') {
    const raw = await readJsonValue(input.request, limit);
    const named = fieldOf(spec.body, target)!.safeParse((raw as Record<string, unknown> | null)?.[target]);
    if (named.success) await resolve(String(named.data));
    input.body = validate(spec.body, raw);
  } else {
    const outranking = from === 'on-refusal' ? () => resolve(input.params[target]) : undefined;
    input.body = await readJson(input.request, spec.body, limit, outranking);
  }
}
