import { z } from 'zod';
import { codePointsBetween, isWellFormedText, WELL_FORMED_MESSAGE } from './unicode.js';

/**
 * A length check for a string schema's `.check()`: `min`–`max` characters counted in code
 * points, as api.md ("chars") and a utf8mb4 varchar(N) count them. zod's own `.min()` and
 * `.max()` count UTF-16 units, which would refuse a string of emoji at half its length.
 */
export const chars = (min: number, max: number) =>
  z.superRefine<string>((s, ctx) => {
    if (codePointsBetween(s, min, max)) return;
    const tooLong = !codePointsBetween(s, 0, max);
    ctx.addIssue({
      code: 'custom',
      message: tooLong ? `must be at most ${max} characters` : `must be at least ${min} character${min === 1 ? '' : 's'}`,
    });
  });

/** A user id from Center: 1–128 characters. */
export const userIdSchema = z.string().check(chars(1, 128));
/** A list of 1–100 user ids. */
export const userIdListSchema = z.array(userIdSchema).min(1).max(100);

/** Text stored as a column: a string with no unpaired surrogate (lib/unicode.ts says why). */
export const storedText = () => z.string().refine(isWellFormedText, WELL_FORMED_MESSAGE);
