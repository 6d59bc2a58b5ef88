import type { CenterClient } from '../center/client.js';
import { extractMentions, findNameMentions, replaceNameMentions } from './mention-parser.js';

/**
 * Translates `<@user.name:NAME>` outside code into `<@ID>` with one batched (cached) Center
 * call, then lists the mentions of the result. Content without name mentions costs no call;
 * unknown names stay as text. Center down with uncached names → 503 center_unavailable.
 */
export async function resolveMentions(center: CenterClient, content: string): Promise<{ content: string; mentions: string[] }> {
  if (!content.includes('<@')) return { content, mentions: [] }; // most messages: skip the code scan
  const names = findNameMentions(content);
  if (names.length === 0) return { content, mentions: extractMentions(content) };
  const users = await center.resolveNames(names);
  const ids = new Map([...users].map(([name, user]) => [name, user.id]));
  const translated = ids.size > 0 ? replaceNameMentions(content, ids) : content;
  return { content: translated, mentions: extractMentions(translated) };
}
