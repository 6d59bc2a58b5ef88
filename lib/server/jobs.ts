import type { AppContext } from '../context.js';

/** Background jobs of an API process (the retention sweep arrives with files). */
export function startBackgroundJobs(_ctx: AppContext): { stop(): void } {
  return { stop() {} };
}
