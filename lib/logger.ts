import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';
import { currentRequestId } from './http/request-context.js';

/**
 * Structured logs: one JSON object per line on stderr (pino), with `time`, `level` (a word),
 * `ns` (the module), `msg`, the entry's fields, and `requestId` when the line is caused by a
 * request. Pretty, human-readable lines when stderr is a terminal or LOG_FORMAT=pretty, if
 * the dev-only pino-pretty is installed (production never needs it).
 */

/** Field names whose values never reach a log line, whatever a call site passes (a safety net). */
export const REDACTED_PATHS = [
  'token',
  'accessToken',
  'access_token',
  'authorization',
  'secret',
  'password',
  'apiKey',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.authorization',
  '*.secret',
  '*.password',
  '*.apiKey',
  'headers.authorization',
  'headers["x-api-key"]',
];

export type LogFormat = 'json' | 'pretty';

let root: PinoLogger = build('info', 'json');

function prettyStream(): DestinationStream | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (opts: object) => DestinationStream;
    return pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, singleLine: true, ignore: 'pid,hostname', messageKey: 'msg' });
  } catch {
    return undefined; // not installed (production install): JSON it is
  }
}

function build(level: LogLevel, format: LogFormat): PinoLogger {
  const stream = (format === 'pretty' ? prettyStream() : undefined) ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level,
      base: undefined,
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
    },
    stream,
  );
}

/** The format when none is configured: pretty on a terminal, JSON lines otherwise. */
export const defaultLogFormat = (): LogFormat => (process.stderr.isTTY ? 'pretty' : 'json');

/** Sets the process-wide level and format (from config, once at startup; CLIs may lower the level). */
export function configureLogging(level: LogLevel, format: LogFormat = defaultLogFormat()) {
  root = build(level, format);
  children.clear();
}

/** Sets the process-wide log level, keeping the format. */
export function setLogLevel(level: LogLevel) {
  root.level = level;
  for (const child of children.values()) child.level = level;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const children = new Map<string, PinoLogger>();
const child = (namespace: string) => {
  let c = children.get(namespace);
  if (!c) children.set(namespace, (c = root.child({ ns: namespace })));
  return c;
};

/** One namespaced logger per module. Never pass tokens or secrets; known secret fields are redacted anyway. */
export function createLogger(namespace: string): Logger {
  // Resolved per call: configureLogging may replace the root after the module-level loggers exist.
  const write = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => {
    const c = child(namespace);
    if (!c.isLevelEnabled(level)) return;
    if (fields) c[level](fields, msg);
    else c[level](msg);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
