import { z } from 'zod';
import { isWellFormedText, WELL_FORMED_MESSAGE } from './unicode.js';

/** A user id from Center: 1–128 characters. */
export const userIdSchema = z.string().min(1).max(128);
/** A list of 1–100 user ids. */
export const userIdListSchema = z.array(userIdSchema).min(1).max(100);

/** Text stored as a column: a string with no unpaired surrogate (lib/unicode.ts says why). */
export const storedText = () => z.string().refine(isWellFormedText, WELL_FORMED_MESSAGE);
