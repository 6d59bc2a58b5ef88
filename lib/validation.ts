import { z } from 'zod';

/** A user id from Center: 1–128 characters. */
export const userIdSchema = z.string().min(1).max(128);
/** A list of 1–100 user ids. */
export const userIdListSchema = z.array(userIdSchema).min(1).max(100);
