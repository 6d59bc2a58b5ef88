/**
 * A new time-sortable id (UUIDv7, RFC 9562) for every node-generated row: 48 bits of Unix
 * milliseconds, the version, a 12-bit counter (rand_a, method 1 of the RFC), the variant and
 * 62 random bits. Ids of this process sort in the order they were made: the counter starts at
 * a random value below 2048 in each new millisecond and counts up within it; past 4095 the
 * timestamp moves on by one millisecond ahead of the clock, so order holds at any rate.
 *
 * Built on the runtime's `crypto.randomUUID` (Node, Bun, workers), which draws from a cached
 * entropy pool: the post path makes one id per message, and the `uuid` package's v7 cost
 * several microseconds each (docs/performance.md, series 22).
 */
let lastMs = -1;
let counter = 0;
/** `tttttttt-tttt-7` of lastMs: made once per millisecond. */
let prefix = '';

export function newId(): string {
  const random = globalThis.crypto.randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = parseInt(random.slice(15, 18), 16) & 0x7ff;
    prefix = timePrefix(lastMs);
  } else if (++counter > 0xfff) {
    counter = 0;
    prefix = timePrefix(++lastMs);
  }
  // From position 18 on ('-', the variant, the random bits) randomUUID's text is v7's as it is.
  return prefix + (0x1000 | counter).toString(16).slice(1) + random.slice(18);
}

function timePrefix(ms: number): string {
  const time = ms.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7`;
}

/** Epoch milliseconds → the API's ISO 8601 UTC string with milliseconds. */
export const isoTime = (ms: number | bigint): string => new Date(Number(ms)).toISOString();
