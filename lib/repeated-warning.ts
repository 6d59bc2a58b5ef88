import type { Logger } from './logger.js';

/**
 * One warning per period for a failure that repeats (a realtime process down fails every
 * call): the first occurrence of a kind is logged at once; the ones after it within
 * `periodMs` are only counted, and logged as one line with `count` when the period ends.
 * `kind` tells identical failures apart (e.g. the error message).
 */
export function createRepeatedWarning(log: Logger, message: string, periodMs = 10_000) {
  const pending = new Map<string, { count: number; fields: Record<string, unknown> }>();
  const quiet = new Map<string, NodeJS.Timeout>();

  const endPeriod = (kind: string) => {
    quiet.delete(kind);
    const p = pending.get(kind);
    if (!p) return;
    pending.delete(kind);
    log.warn(message, { ...p.fields, count: p.count, periodMs });
    startPeriod(kind);
  };
  const startPeriod = (kind: string) => {
    const timer = setTimeout(() => endPeriod(kind), periodMs);
    timer.unref();
    quiet.set(kind, timer);
  };

  return {
    warn(kind: string, fields: Record<string, unknown> = {}) {
      if (!quiet.has(kind)) {
        log.warn(message, { ...fields, count: 1 });
        startPeriod(kind);
        return;
      }
      const p = pending.get(kind);
      pending.set(kind, { count: (p?.count ?? 0) + 1, fields });
    },
    /** Logs what is still counted (at shutdown). */
    flush() {
      for (const kind of [...quiet.keys()]) {
        clearTimeout(quiet.get(kind));
        quiet.delete(kind);
        const p = pending.get(kind);
        if (p) log.warn(message, { ...p.fields, count: p.count, periodMs });
      }
      pending.clear();
    },
  };
}
