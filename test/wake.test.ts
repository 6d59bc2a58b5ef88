import { describe, expect, it } from 'vitest';
import { computeWakeSet, type ChannelXType } from '../lib/messages/wake.js';

// Cast of one channel: the author, a plain member, a wake-mapped member, a wake-mapped
// non-member (e.g. removed after the mapping was set) and a reader who is no member.
const AUTHOR = 'author';
const MEMBER = 'member';
const MAPPED = 'mapped';
const MAPPED_OUTSIDER = 'mapped-outsider';
const OUTSIDER = 'outsider';
const memberIds = [AUTHOR, MEMBER, MAPPED];
const wakeMappingIds = [MAPPED, MAPPED_OUTSIDER, AUTHOR];

type Who = typeof AUTHOR | typeof MEMBER | typeof MAPPED | typeof MAPPED_OUTSIDER | typeof OUTSIDER;
const everyone: Who[] = [AUTHOR, MEMBER, MAPPED, MAPPED_OUTSIDER, OUTSIDER];

describe('computeWakeSet (overview.md wake rules)', () => {
  // For discuss/work the speaker is varied: each row says who speaks after the message.
  const matrix: [xType: ChannelXType, speakerId: string | null, woken: Who[]][] = [
    ['general', null, [MEMBER, MAPPED]],
    ['report', null, []],
    ['report', MEMBER, []],
    ['triage', null, [MAPPED]],
    ['custom', null, [MAPPED]],
    ['triage', MEMBER, [MAPPED]], // the speaker means nothing outside discuss/work
    ['discuss', null, []],
    ['discuss', AUTHOR, []],
    ['discuss', MEMBER, [MEMBER]],
    ['discuss', MAPPED, [MAPPED]],
    ['discuss', MAPPED_OUTSIDER, []],
    ['discuss', OUTSIDER, []],
    ['work', null, []],
    ['work', AUTHOR, []],
    ['work', MEMBER, [MEMBER]],
    ['work', MAPPED, [MAPPED]],
    ['work', MAPPED_OUTSIDER, []],
    ['work', OUTSIDER, []],
  ];

  describe.each(matrix)('%s channel, speaker %s', (xType, speakerId, woken) => {
    const result = computeWakeSet({ xType, authorId: AUTHOR, memberIds, wakeMappingIds, speakerId });
    it.each(everyone)(`%s`, (who) => {
      expect(result.includes(who)).toBe(woken.includes(who));
    });
    it('wakes exactly the expected users, once each', () => {
      expect([...result].sort()).toEqual([...woken].sort());
    });
  });

  it('deduplicates repeated member and mapping ids', () => {
    const input = { authorId: AUTHOR, memberIds: [MEMBER, MEMBER, MAPPED, MAPPED], wakeMappingIds: [MAPPED, MAPPED], speakerId: null };
    expect(computeWakeSet({ ...input, xType: 'general' })).toEqual([MEMBER, MAPPED]);
    expect(computeWakeSet({ ...input, xType: 'custom' })).toEqual([MAPPED]);
  });

  it('an author alone in a general channel wakes nobody', () => {
    expect(computeWakeSet({ xType: 'general', authorId: AUTHOR, memberIds: [AUTHOR], wakeMappingIds: [], speakerId: null })).toEqual([]);
  });
});
