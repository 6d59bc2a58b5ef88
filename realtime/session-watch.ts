/**
 * Access ends when the token ends (realtime.md "Client → server", last paragraph): an open
 * socket's token is asked about again on the introspection cache's schedule (when the cached
 * answer lapses, so a revocation is seen within TOKEN_CACHE_SECONDS) and at its `expiresAt`.
 * Once it is no longer active the socket gets `session.ended {code, message}` and is closed;
 * a guild token's sockets too, and with `removed` when its guild is gone. While Center is
 * unreachable the socket stays (as cached tokens keep working over REST) and is asked about
 * again on the same schedule.
 */
import type { CenterClient, Principal } from '../lib/center/client.js';
import type { Db } from '../lib/db/index.js';
import { createLogger } from '../lib/logger.js';

const log = createLogger('realtime');

export type SessionEndCode = 'token_revoked' | 'token_expired' | 'removed';

const MESSAGES: Record<SessionEndCode, string> = {
  token_revoked: 'the token is no longer active',
  token_expired: 'the token has expired',
  removed: 'the guild of this token is gone',
};

export interface SessionWatchDeps {
  center: CenterClient;
  db: Db;
  /** The introspection cache's lifetime: the longest wait between two checks. */
  cacheMs: number;
}

/** The longest single timer (setTimeout's own limit is about 24.8 days). */
const MAX_WAIT_MS = 2 ** 31 - 1;

/**
 * Watches `token` of a connected socket; calls `end(code, message)` once when it is no longer
 * active. Returns the function that stops watching (on disconnect).
 */
export function watchSession(
  deps: SessionWatchDeps,
  token: string,
  principal: Principal,
  first: { expiresAt?: number; cachedUntil: number },
  end: (code: SessionEndCode, message: string) => void,
): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let expiresAt = first.expiresAt;

  const finish = (code: SessionEndCode) => {
    if (stopped) return;
    stopped = true;
    end(code, MESSAGES[code]);
  };
  const schedule = (cachedUntil: number) => {
    if (stopped) return;
    const at = Math.min(cachedUntil, expiresAt ?? Infinity, Date.now() + deps.cacheMs);
    // A few ms past the lapse, so that the cache no longer holds the old answer.
    timer = setTimeout(() => void check(), Math.min(MAX_WAIT_MS, Math.max(0, at - Date.now()) + 5));
    timer.unref();
  };
  async function check() {
    if (stopped) return;
    if (expiresAt !== undefined && Date.now() >= expiresAt) return finish('token_expired');
    let session;
    try {
      session = await deps.center.session(token);
    } catch {
      return schedule(Date.now() + deps.cacheMs); // Center unreachable: the socket stays
    }
    if (!session) return finish(expiresAt !== undefined && Date.now() >= expiresAt - 1000 ? 'token_expired' : 'token_revoked');
    expiresAt = session.expiresAt;
    if (principal.kind === 'guild') {
      try {
        const guild = await deps.db.selectFrom('guilds').select('id').where('id', '=', principal.guildId).executeTakeFirst();
        if (!guild) return finish('removed');
      } catch (err) {
        log.warn('guild check of a socket failed', { error: err instanceof Error ? err.message : String(err) });
      }
    }
    schedule(session.cachedUntil);
  }
  schedule(first.cachedUntil);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
