import { z } from 'zod';
import { createLogger } from '../logger.js';
import { MAX_ENTRIES_PER_CALL } from './emitter.js';
import { chunksOf } from '../objects.js';

const log = createLogger('presence');

/**
 * Who is online now (agent-rooms.md "Presence snapshot"): users with at least one connected
 * socket on this node, counted as the `presence` events count them (across realtime
 * processes through the adapter). All-in-one asks its own socket.io server; an API process
 * in split mode asks a realtime process over the internal channel (`POST /internal/presence`).
 */
export interface PresenceSource {
  /** The users of `userIds` who are online, in no particular order. */
  onlineAmong(userIds: readonly string[]): Promise<string[]>;
}

/** `POST /internal/presence`: the body an API process sends, and the answer of the realtime process. */
export const presenceQuerySchema = z.object({ userIds: z.array(z.string().min(1).max(256)).max(MAX_ENTRIES_PER_CALL) });
export const presenceAnswerSchema = z.object({ online: z.array(z.string()) });

export interface HttpPresenceOptions {
  url: string;
  secret: string;
  timeoutMs: number;
}

/**
 * Split mode: asks the realtime process, at most MAX_ENTRIES_PER_CALL users per call. A
 * realtime process that does not answer in time holds no socket that could be reached (the
 * same rule as presence counting across processes), so its users count as offline; the
 * failure is logged.
 */
export function createHttpPresence(opts: HttpPresenceOptions): PresenceSource {
  const endpoint = new URL('/internal/presence', opts.url).toString();
  const ask = async (userIds: readonly string[]): Promise<string[]> => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.secret}` },
      body: JSON.stringify({ userIds }),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    if (!res.ok) throw new Error(`status ${res.status}`);
    return presenceAnswerSchema.parse(await res.json()).online;
  };
  return {
    async onlineAmong(userIds) {
      try {
        return (await Promise.all(chunksOf(userIds, MAX_ENTRIES_PER_CALL).map(ask))).flat();
      } catch (err) {
        log.warn('the realtime process did not answer a presence query; nobody counts as online', { error: (err as Error).message });
        return [];
      }
    },
  };
}
