import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort, waitFor } from './harness.js';

/** True once something accepts TCP connections on the port (undefined before: for waitFor). */
export const accepts = (port: number) =>
  new Promise<true | undefined>((resolve) => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(undefined));
  });

/** A redis-server of a test's own on a free port (never the shared one): to kill and start again. */
export interface PrivateRedis {
  url: string;
  /** SIGKILL (no-op when not running). */
  kill(): void;
  /** Starts it again on the same port (does not wait for it). */
  restart(): void;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const start = () => spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let redis: ChildProcess = start();
  await waitFor('redis', () => accepts(port), 10_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    kill: () => void redis.kill('SIGKILL'),
    restart: () => {
      redis = start();
    },
  };
}
