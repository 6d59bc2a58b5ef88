/**
 * JSON can carry half of a UTF-16 surrogate pair (`"\ud800"`), which is not text: MySQL
 * stores it as U+FFFD and SQLite as three of them, so it could never be returned as given.
 * Text that is stored as a column is refused instead (400).
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** True when `s` has no unpaired surrogate. */
export const isWellFormedText = (s: string) => !LONE_SURROGATE.test(s);

export const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (no unpaired surrogate)';

/**
 * True when `s` has `min`–`max` code points (api.md's characters: an emoji is one, not two
 * UTF-16 units). Linear, and decided from the UTF-16 length alone when that is enough.
 */
export function codePointsBetween(s: string, min: number, max: number): boolean {
  // A code point is one or two UTF-16 units: the count lies in [ceil(length / 2), length].
  const most = s.length;
  const least = Math.ceil(most / 2);
  if (most < min || least > max) return false;
  if (least >= min && most <= max) return true;
  let count = 0;
  for (const _ of s) if (++count > max) return false;
  return count >= min;
}
