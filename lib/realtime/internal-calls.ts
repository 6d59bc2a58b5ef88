import { INTERNAL_BODY_LIMIT, MAX_ENTRIES_PER_CALL, type RealtimeOp } from './emitter.js';

/** What one `Emitter.send` queued; `taken` of its ops already went out. */
export interface QueuedSend {
  ops: RealtimeOp[];
  taken: number;
  /** Emits among the ops not taken yet. */
  emits: number;
}

/** One internal call, ready to post. */
export interface InternalCall {
  path: '/internal/emit' | '/internal/batch';
  body: string;
  emits: number;
  roomChanges: number;
}

export interface CallLimits {
  maxEntries: number;
  maxBytes: number;
}

/**
 * What one call may carry. The receiver refuses more than MAX_ENTRIES_PER_CALL entries or
 * INTERNAL_BODY_LIMIT bytes (a whole backlog lost to one 400/413); calls far below the byte
 * limit also keep each one quick to parse there, well inside the emit timeout.
 */
export const DEFAULT_CALL_LIMITS: CallLimits = { maxEntries: MAX_ENTRIES_PER_CALL, maxBytes: 1024 * 1024 };

export interface TakenCall {
  call: InternalCall | null;
  /** Operations left out because no call could carry them. */
  tooLarge: number;
  /** Emits removed from the queue (sent or left out). */
  emitsTaken: number;
}

/** `{"ops":[` … `]}`, the longer of the two envelopes. */
const ENVELOPE_BYTES = 12;
/** `{"emit":` … `}` around an emit inside a batch, plus the comma. */
const WRAP_BYTES = 11;

/**
 * Takes, in order, from the front of `queue`, the longest run of operations that fits one
 * call, and removes it from the queue. Emits alone go to `POST /internal/emit`; a run with a
 * room change goes to `POST /internal/batch`, so the realtime process applies both in
 * order. An operation bigger than `maxBytes` goes alone; one the receiver would refuse
 * whatever happens is left out and counted in `tooLarge`.
 */
export function takeCall(queue: QueuedSend[], limits: CallLimits = DEFAULT_CALL_LIMITS): TakenCall {
  const parts: { json: string; emit: boolean }[] = [];
  let bytes = ENVELOPE_BYTES;
  let tooLarge = 0;
  let emitsTaken = 0;
  while (queue.length > 0 && parts.length < limits.maxEntries) {
    const entry = queue[0];
    if (entry.taken >= entry.ops.length) {
      queue.shift();
      continue;
    }
    const op = entry.ops[entry.taken];
    const emit = 'emit' in op;
    const json = JSON.stringify(emit ? op.emit : op);
    const size = Buffer.byteLength(json) + WRAP_BYTES;
    if (parts.length > 0 && bytes + size > limits.maxBytes) break;
    entry.taken += 1;
    if (emit) {
      entry.emits -= 1;
      emitsTaken += 1;
    }
    if (ENVELOPE_BYTES + size > INTERNAL_BODY_LIMIT) {
      tooLarge += 1;
      continue;
    }
    parts.push({ json, emit });
    bytes += size;
  }
  if (queue.length > 0 && queue[0].taken >= queue[0].ops.length) queue.shift();
  if (parts.length === 0) return { call: null, tooLarge, emitsTaken };
  const emits = parts.filter((p) => p.emit).length;
  const call: InternalCall =
    emits === parts.length
      ? { path: '/internal/emit', body: `{"emits":[${parts.map((p) => p.json).join(',')}]}`, emits, roomChanges: 0 }
      : {
          path: '/internal/batch',
          body: `{"ops":[${parts.map((p) => (p.emit ? `{"emit":${p.json}}` : p.json)).join(',')}]}`,
          emits,
          roomChanges: parts.length - emits,
        };
  return { call, tooLarge, emitsTaken };
}
