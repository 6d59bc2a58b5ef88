/**
 * Writes one log line through lib/logger.ts, as a module of the node would: the entry's
 * fields are the JSON of the first argument. For test/logger.test.ts, which reads stderr.
 */
import { configureLogging, createLogger } from '../../lib/logger.js';

configureLogging('debug', 'json');
createLogger('log-entry').info('entry with fields', JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>);
