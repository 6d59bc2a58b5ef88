import { createLogger } from '../lib/logger.js';
import { PEER_ANSWER_TIMEOUT_MS, withDeadline, type ClusterLink } from './cluster.js';

const log = createLogger('realtime');

/** A claim that Redis does not answer within this is decided locally (typing would lag otherwise). */
const CLAIM_TIMEOUT_MS = 250;

/** Calls the adapter makes without waiting for their outcome. */
const FIRE_AND_FORGET = new Set<PropertyKey>(['publish', 'subscribe', 'unsubscribe', 'pSubscribe', 'pUnsubscribe', 'sSubscribe', 'sUnsubscribe']);

/**
 * The client as the adapter sees it: its publishes and subscriptions may fail without
 * failing the process. The adapter leaves their promises unobserved, so a publish in flight
 * when Redis goes away was an unhandled rejection, and Node exits on those. Callers that do
 * wait still see the failure; the connection errors themselves are logged by the client's
 * error listener.
 */
function withObservedCalls<C extends object>(client: C): C {
  return new Proxy(client, {
    get(target, prop) {
      // The client keeps its state in private fields: its methods must run on the client itself.
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function' || prop === 'constructor') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (FIRE_AND_FORGET.has(prop) && result instanceof Promise) result.catch(() => undefined);
        return result;
      };
    },
  });
}

/** Closes a client gracefully if Redis answers, else drops it (a graceful close would wait for a Redis that is down). */
async function shutClient(client: { isReady: boolean; isOpen: boolean; close(): Promise<void>; destroy(): void }) {
  if (client.isReady) await withDeadline(client.close(), PEER_ANSWER_TIMEOUT_MS, undefined);
  if (client.isOpen) client.destroy();
}

/**
 * Connects the realtime processes of one node through Redis: the socket.io Redis adapter, and
 * short-lived claims (SET NX PX). Everything is keyed by the node id, so several guild nodes
 * may share one Redis without their rooms (user ids are global) reaching each other.
 */
export async function connectRedisCluster(redisUrl: string, nodeId: string): Promise<ClusterLink> {
  const [{ createAdapter }, { createClient }] = await Promise.all([import('@socket.io/redis-adapter'), import('redis')]);
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  pub.on('error', (err: Error) => log.warn('redis error', { error: err.message }));
  sub.on('error', (err: Error) => log.warn('redis error', { error: err.message }));
  await Promise.all([pub.connect(), sub.connect()]);
  const prefix = `fabric-guild:${nodeId}`;
  const isConnected = () => pub.isReady && sub.isReady;
  return {
    // requestsTimeout bounds the adapter's own requests between processes (the socket counts of
    // presence); they answer with whatever arrived by then.
    adapter: createAdapter(withObservedCalls(pub), withObservedCalls(sub), { key: prefix, requestsTimeout: PEER_ANSWER_TIMEOUT_MS }),
    isConnected,
    async claim(key, windowMs) {
      if (!isConnected()) return true;
      const set = pub.set(`${prefix}:claim:${key}`, '1', { expiration: { type: 'PX', value: windowMs }, condition: 'NX' });
      return withDeadline(
        set.then((reply) => reply !== null),
        CLAIM_TIMEOUT_MS,
        true,
      );
    },
    async close() {
      await Promise.allSettled([pub, sub].map(shutClient));
    },
  };
}
