import { z } from 'zod';
import { storedText } from '../validation.js';
import { contentWithinLimit, MAX_CONTENT_CHARS } from './message-rules.js';

/** Message content as POST and PATCH accept it: a string of at most 16000 characters (code points). */
export const contentSchema = storedText().refine(contentWithinLimit, `must be at most ${MAX_CONTENT_CHARS} characters`);

/** A node-generated id in a body (message and file ids). */
export const nodeIdSchema = z.string().min(1).max(64);
