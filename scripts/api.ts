import { startApiProcess } from './processes.js';
import { runEntry } from './run-entry.js';

await runEntry(
  'Usage: npm run start:api\n\nRuns an API process (split mode): REST on FABRIC_BACKEND_GUILD_PORT; events go to\nFABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL with FABRIC_BACKEND_GUILD_INTERNAL_SECRET (see README.md).',
  (config, opts) => startApiProcess(config, opts),
);
