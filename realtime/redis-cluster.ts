import { createLogger } from '../lib/logger.js';
import type { ClusterLink } from './cluster.js';

const log = createLogger('realtime');

/**
 * Connects the realtime processes of one node through Redis (the socket.io Redis adapter).
 * Everything is keyed by the node id, so several guild nodes may share one Redis without
 * their rooms (user ids are global) reaching each other.
 */
export async function connectRedisCluster(redisUrl: string, nodeId: string): Promise<ClusterLink> {
  const [{ createAdapter }, { createClient }] = await Promise.all([import('@socket.io/redis-adapter'), import('redis')]);
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  pub.on('error', (err: Error) => log.warn('redis error', { error: err.message }));
  sub.on('error', (err: Error) => log.warn('redis error', { error: err.message }));
  await Promise.all([pub.connect(), sub.connect()]);
  const prefix = `fabric-guild:${nodeId}`;
  return {
    adapter: createAdapter(pub, sub, { key: prefix }),
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
