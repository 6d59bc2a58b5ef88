import type { DefaultEventsMap, Namespace } from 'socket.io';
import { createLogger } from '../lib/logger.js';
import { rooms } from '../lib/realtime/rooms.js';
import { PEER_ANSWER_TIMEOUT_MS, withDeadline, type ClusterLink } from './cluster.js';
import type { InterServerEvents } from './events.js';

const log = createLogger('realtime');

/** Beyond the adapter's own timeout: when Redis itself does not answer, the adapter never gives up. */
const HARD_DEADLINE_MS = PEER_ANSWER_TIMEOUT_MS + 500;

type CountingNamespace = Namespace<DefaultEventsMap, DefaultEventsMap, InterServerEvents, unknown>;
interface Answers {
  counts: unknown[];
  /** Why some processes are missing from `counts`; undefined when all answered. */
  missing?: string;
}

/**
 * Counts a user's sockets for presence: this process's at once, the other processes' (with a
 * cluster link) as far as they answer within PEER_ANSWER_TIMEOUT_MS. Accepting a socket or
 * announcing an offline never depends on every process answering; when some do not, their
 * sockets are not counted (a process that cannot answer cannot deliver to them either), and
 * a warning is logged once until the counts are complete again.
 */
export function createUserSocketCounter(nsp: CountingNamespace, cluster: ClusterLink | undefined): (userId: string) => Promise<number> {
  const here = (userId: string) => nsp.adapter.rooms.get(rooms.user(userId))?.size ?? 0;
  let degraded = false;

  if (cluster) {
    nsp.on('user_socket_count', (userId, reply) => {
      if (typeof reply === 'function') reply(typeof userId === 'string' ? here(userId) : 0);
    });
  }

  const note = (missing: string | undefined) => {
    if (missing && !degraded) log.warn('presence counts only the realtime processes that answer', { reason: missing, timeoutMs: PEER_ANSWER_TIMEOUT_MS });
    else if (!missing && degraded) log.info('presence counts every realtime process again');
    degraded = !!missing;
  };

  const askOthers = (userId: string): Promise<Answers> =>
    nsp.serverSideEmitWithAck('user_socket_count', userId).then(
      (counts) => ({ counts }),
      // On timeout socket.io passes on the answers that did arrive.
      (err: Error & { responses?: unknown[] }) => ({ counts: err.responses ?? [], missing: err.message }),
    );

  return async function countUserSockets(userId) {
    const local = here(userId);
    if (local > 0 || !cluster) return local;
    if (!cluster.isConnected()) {
      note('redis is not connected');
      return local;
    }
    const answers = await withDeadline(askOthers(userId), HARD_DEADLINE_MS, { counts: [], missing: 'redis did not answer' });
    note(answers.missing);
    return answers.counts.reduce<number>((sum, n) => sum + (typeof n === 'number' && n > 0 ? n : 0), local);
  };
}

/**
 * Which of `userIds` hold at least one socket on this node (the presence snapshot): this
 * process's sockets at once, then one question to the other processes (with a cluster link)
 * for the rest, under the same rule as `createUserSocketCounter`: a process that does not
 * answer within PEER_ANSWER_TIMEOUT_MS counts as holding none.
 */
export function createOnlineUsersQuery(nsp: CountingNamespace, cluster: ClusterLink | undefined): (userIds: readonly string[]) => Promise<string[]> {
  const here = (userIds: readonly string[]) => userIds.filter((id) => (nsp.adapter.rooms.get(rooms.user(id))?.size ?? 0) > 0);

  if (cluster) {
    nsp.on('users_online', (userIds, reply) => {
      if (typeof reply !== 'function') return;
      reply(Array.isArray(userIds) ? here(userIds.filter((id): id is string => typeof id === 'string')) : []);
    });
  }

  return async function onlineAmong(userIds) {
    const local = here(userIds);
    if (!cluster || !cluster.isConnected() || local.length === userIds.length) return local;
    const found = new Set(local);
    const rest = userIds.filter((id) => !found.has(id));
    const asked = nsp.serverSideEmitWithAck('users_online', rest).then(
      (answers) => answers,
      // On timeout socket.io passes on the answers that did arrive.
      (err: Error & { responses?: unknown[] }) => err.responses ?? [],
    );
    const answers = await withDeadline(asked as Promise<unknown[]>, HARD_DEADLINE_MS, []);
    for (const answer of answers) if (Array.isArray(answer)) for (const id of answer) if (typeof id === 'string') found.add(id);
    return userIds.filter((id) => found.has(id));
  };
}
