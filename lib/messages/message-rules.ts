/**
 * Pure rules of messages (api.md "Messages"): content limits, the two intercepted commands,
 * the edit window. No I/O; unit-tested in test/messages-rules.test.ts.
 */
import { codePointsBetween } from '../unicode.js';

/** Content limit of api.md, counted in Unicode code points (an emoji is one character). */
export const MAX_CONTENT_CHARS = 16000;
export const MAX_ATTACHMENTS = 10;

/** True when `content` has at most MAX_CONTENT_CHARS code points (linear, stops early). */
export const contentWithinLimit = (content: string): boolean => codePointsBetween(content, 0, MAX_CONTENT_CHARS);

/** Empty for the "content may be empty only with attachments" rule: nothing but whitespace. */
export const isBlankContent = (content: string) => content.trim() === '';

export type InterceptedCommand = 'no-reply' | 'force-proceed';

/** The intercepted command `content` is (exactly `/no-reply` or `/force-proceed`, whitespace around ignored), or null. */
export function interceptedCommand(content: string): InterceptedCommand | null {
  const text = content.trim();
  if (text === '/no-reply') return 'no-reply';
  if (text === '/force-proceed') return 'force-proceed';
  return null;
}

/** Whether a message created at `createdAt` (epoch ms) may still be edited at `now`: the window end is inclusive. */
export const isEditWindowOpen = (createdAt: number, now: number, windowSeconds: number) => now - createdAt <= windowSeconds * 1000;
