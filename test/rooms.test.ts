import { describe, expect, it } from 'vitest';
import { parseRoom, rooms } from '../lib/realtime/rooms.js';

describe('room names', () => {
  it('parse back to what built them', () => {
    expect(parseRoom(rooms.user('u_1'))).toEqual({ user: 'u_1' });
    expect(parseRoom(rooms.guild('g_1'))).toEqual({ guild: 'g_1' });
    expect(parseRoom(rooms.channel('c_1'))).toEqual({ channel: 'c_1' });
    expect(parseRoom(rooms.channelUser('c_1', 'u_1'))).toEqual({ channel: 'c_1', user: 'u_1' });
  });

  it('keep a user id from Center whole, whatever it holds', () => {
    expect(parseRoom(rooms.channelUser('c_1', 'user:with:user:colons'))).toEqual({ channel: 'c_1', user: 'user:with:user:colons' });
    expect(parseRoom(rooms.user('a:b'))).toEqual({ user: 'a:b' });
  });

  it('are null for a name of another grammar (a socket id room)', () => {
    expect(parseRoom('x8Kq2Lw0AAAB')).toBeNull();
  });
});
