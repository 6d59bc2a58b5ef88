/**
 * JSON can carry half of a UTF-16 surrogate pair (`"\ud800"`), which is not text: MySQL
 * stores it as U+FFFD and SQLite as three of them, so it could never be returned as given.
 * Text that is stored as a column is refused instead (400).
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** True when `s` has no unpaired surrogate. */
export const isWellFormedText = (s: string) => !LONE_SURROGATE.test(s);

export const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (no unpaired surrogate)';
