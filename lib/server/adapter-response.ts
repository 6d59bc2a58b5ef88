/**
 * The Response class swap of the Node adapter, in one place. Responses built by
 * lib/http/respond.ts are of the runtime's own class unless the Node adapter swaps in
 * @whatwg-node/fetch's ponyfill: @whatwg-node/server writes a ponyfill response with a string
 * body in one go, straight from its private `bodyInit` when its private `bodyType` is
 * `'String'`, where a runtime Response costs a web stream pumped per response (a measurable
 * share of the post path, docs/performance.md). No public API of the adapter offers that.
 *
 * What this relies on, checked by test/library-internals.test.ts so an upgrade that changes
 * it fails there by name: on Node the ponyfill's Response is not the runtime's; a ponyfill
 * response with a string body has `bodyType === 'String'` and that string as `bodyInit`; the
 * adapter writes such a response without reading its `body` stream. A handler bundle never
 * loads this module: hosted alone, it answers with the runtime's own Response.
 */
import { Response as PonyfillResponse } from '@whatwg-node/fetch';
import { useResponseClass } from '../http/respond.js';

export { PonyfillResponse };

/** Builds every later response of this process as the ponyfill the adapter writes out in one go. */
export function useAdapterResponses(): void {
  useResponseClass(PonyfillResponse);
}
