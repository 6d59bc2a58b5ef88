/**
 * Pure message rules (lib/messages/message-rules.ts), the API shape of a message
 * (lib/messages/message-shape.ts) and the wake of one message (wake-recipients.ts): table-driven, no I/O.
 */
import { describe, expect, it } from 'vitest';
import { contentWithinLimit, interceptedCommand, isBlankContent, isEditWindowOpen, MAX_CONTENT_CHARS } from '../lib/messages/message-rules.js';
import { toDeletedEvent, toMessage, type MessageRow } from '../lib/messages/message-shape.js';
import { wakeRecipients } from '../lib/messages/wake-recipients.js';

describe('contentWithinLimit (content ≤ 16000 characters)', () => {
  const emoji = '😀'; // one code point, two UTF-16 units
  it.each([
    ['empty', '', true],
    ['exactly 16000 ASCII characters', 'a'.repeat(MAX_CONTENT_CHARS), true],
    ['16001 ASCII characters', 'a'.repeat(MAX_CONTENT_CHARS + 1), false],
    ['16000 emoji (32000 UTF-16 units)', emoji.repeat(MAX_CONTENT_CHARS), true],
    ['16001 emoji', emoji.repeat(MAX_CONTENT_CHARS + 1), false],
    ['15999 emoji and two ASCII characters', emoji.repeat(MAX_CONTENT_CHARS - 1) + 'ab', false],
  ])('%s → %s', (_, content, ok) => {
    expect(contentWithinLimit(content)).toBe(ok);
  });
});

describe('isBlankContent (empty only with attachments)', () => {
  it.each([
    ['', true],
    ['   \n\t', true],
    [' x ', false],
  ])('%j → %s', (content, blank) => expect(isBlankContent(content)).toBe(blank));
});

describe('interceptedCommand', () => {
  it.each([
    ['/no-reply', 'no-reply'],
    ['/force-proceed', 'force-proceed'],
    ['  /no-reply \n', 'no-reply'],
    ['\t/force-proceed', 'force-proceed'],
    ['/no-reply please', null],
    ['/NO-REPLY', null],
    ['no-reply', null],
    ['`/no-reply`', null],
    ['/help', null],
    ['/no-reply/no-reply', null],
  ])('%j → %s', (content, command) => expect(interceptedCommand(content)).toBe(command));
});

describe('isEditWindowOpen', () => {
  const created = 1_000_000;
  it.each([
    [created, 900, true],
    [created + 900_000, 900, true], // the end of the window is inclusive
    [created + 900_001, 900, false],
    [created + 1_000, 1, true],
    [created + 1_001, 1, false],
    [created, 0, true],
    [created + 1, 0, false],
  ])('now %i, window %i s → %s', (now, windowSeconds, open) => expect(isEditWindowOpen(created, now, windowSeconds)).toBe(open));
});

describe('toMessage', () => {
  const row: MessageRow = {
    id: 'm1',
    channel_id: 'c1',
    guild_id: 'g1',
    seq: 7,
    author_id: 'u1',
    content: 'hello <@u2>',
    reply_to_id: 'm0',
    mentions: '["u2"]',
    client_msg_id: 'k1',
    created_at: Date.UTC(2026, 4, 21, 7, 7, 46, 123),
    edited_at: null,
    deleted_at: null,
  };
  const attachment = { id: 'f1', name: 'a.png', size: 3, mime: 'image/png', url: '/api/files/f1', expired: false };

  it('maps a row to the API shape with ISO timestamps', () => {
    expect(toMessage(row, [attachment])).toEqual({
      id: 'm1',
      channelId: 'c1',
      guildId: 'g1',
      seq: 7,
      authorId: 'u1',
      content: 'hello <@u2>',
      replyToId: 'm0',
      mentions: ['u2'],
      attachments: [attachment],
      clientMsgId: 'k1',
      createdAt: '2026-05-21T07:07:46.123Z',
      editedAt: null,
      deletedAt: null,
    });
  });

  it('returns a tombstone for a deleted message: empty content, no mentions or attachments, same seq', () => {
    const deletedAt = Date.UTC(2026, 4, 21, 8, 0, 0, 0);
    const m = toMessage({ ...row, deleted_at: deletedAt }, [attachment]);
    expect(m).toMatchObject({ id: 'm1', seq: 7, content: '', mentions: [], attachments: [], deletedAt: '2026-05-21T08:00:00.000Z' });
    expect(toDeletedEvent(row, deletedAt)).toEqual({ id: 'm1', channelId: 'c1', seq: 7, deletedAt: '2026-05-21T08:00:00.000Z' });
  });

  it('reads bigint columns that arrive as strings', () => {
    const m = toMessage({ ...row, seq: '12' as unknown as number, created_at: String(row.created_at) as unknown as number });
    expect(m.seq).toBe(12);
    expect(m.createdAt).toBe('2026-05-21T07:07:46.123Z');
  });
});

describe('wakeRecipients (the wake of one message.created)', () => {
  const none = { memberIds: [], wakeMappingIds: [] };
  const general = { memberIds: ['author', 'a', 'b'], wakeMappingIds: [] };
  const mapped = { memberIds: ['w', 'author'], wakeMappingIds: ['w', 'author'] };
  it.each([
    ['general', general, null, { a: 'general', b: 'general' }],
    ['report', none, null, {}],
    ['triage', mapped, null, { w: 'on_duty' }],
    ['custom', mapped, null, { w: 'listener' }],
    ['discuss', none, 'a', { a: 'speaker' }],
    ['discuss', none, 'author', {}],
    ['discuss', none, null, {}],
    ['work', none, 'b', { b: 'speaker' }],
  ] as const)('%s channel, speaker %s', (xType, candidates, speakerId, woken) => {
    const speaker = { id: speakerId, reason: speakerId === null ? null : ('speaker' as const) };
    expect(wakeRecipients(xType, 'author', { memberIds: [...candidates.memberIds], wakeMappingIds: [...candidates.wakeMappingIds] }, speaker)).toEqual(woken);
  });
});
