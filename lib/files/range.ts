/**
 * The `Range` header of a download (RFC 9110 §14): one byte range, open-ended or suffix.
 * Pure; the download code decides the status from the answer.
 */
export type RangeAnswer =
  /** Serve the whole file (no Range, another unit, several ranges, or a syntax error: all ignorable per RFC 9110). */
  | { kind: 'whole' }
  /** Serve bytes start..end inclusive (206). */
  | { kind: 'partial'; start: number; end: number }
  /** Nothing of the file matches (416 with `Content-Range: bytes *\/size`). */
  | { kind: 'unsatisfiable' };

const SINGLE = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/** Resolves a Range header against a file of `size` bytes. */
export function resolveRange(header: string | null, size: number): RangeAnswer {
  if (!header) return { kind: 'whole' };
  const m = SINGLE.exec(header.trim());
  // Several ranges, other units and malformed values are ignored: the full 200 answer is always allowed.
  if (!m) return { kind: 'whole' };
  const [, first, last] = m;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // Suffix range: the last N bytes.
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  // Digits too long for a safe integer still compare correctly against the size (they clamp or miss).
  const end = last === '' ? size - 1 : Number(last);
  if (last !== '' && end < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
