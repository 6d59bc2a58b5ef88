import { startRealtimeProcess } from './processes.js';
import { runEntry } from './run-entry.js';

await runEntry(
  'Usage: npm run start:realtime\n\nRuns a realtime process (split mode): socket.io on FABRIC_BACKEND_GUILD_REALTIME_PORT (7012),\nthe internal emit channel on FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_HOST:_PORT (127.0.0.1:7013).',
  (config, opts) => startRealtimeProcess(config, opts),
);
