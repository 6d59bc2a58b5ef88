/**
 * `{ ...base, ...fields }` for the node's hot paths (a post, its events, a delivery).
 *
 * On Node 20 (V8 11.3) a property added after a spread — `{ ...row, seq }`, or `o.seq = x` on
 * such a copy — costs about 1.5 µs: the copy gets a map outside V8's transition tree, so
 * every added property is a runtime call that builds a new map. `Object.assign` onto a fresh
 * `{}` follows cached transitions: about 0.15 µs for the same object. A post built ten or so
 * such objects (docs/performance.md, series 21). A spread with no property after it, or one
 * that only overwrites the source's own keys, is fast and stays as it is.
 *
 * Same result as the spread: `base`'s own enumerable properties, then `fields`', in that order,
 * later ones winning. Only for the node's own objects: an own `__proto__` key (JSON.parse of
 * a client's text) would set the copy's prototype here where a spread defines a property.
 */
/** `list` cut into consecutive pieces of at most `size` (bounded `IN (…)` lists, calls of bounded size). */
export function chunksOf<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export const withFields = <B extends object, F extends object>(base: B, fields: F): Omit<B, keyof F> & F => Object.assign({}, base, fields);
