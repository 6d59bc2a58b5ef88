import { startAllInOne } from './processes.js';
import { runEntry } from './run-entry.js';

await runEntry('Usage: npm start\n\nRuns the guild node all-in-one: REST API and socket.io on FABRIC_BACKEND_GUILD_PORT (7002).', (config, opts) => startAllInOne(config, opts));
