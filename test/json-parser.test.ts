/**
 * The realtime server's packet encoder (realtime/json-parser.ts) skips the binary scan but
 * must write exactly what socket.io's stock encoder writes for every JSON packet it sends.
 */
import { describe, expect, it } from 'vitest';
import * as stock from 'socket.io-parser';
import { jsonParser } from '../realtime/json-parser.js';

const packets: stock.Packet[] = [
  { type: stock.PacketType.CONNECT, nsp: '/realtime', data: { sid: 'abc' } },
  { type: stock.PacketType.EVENT, nsp: '/realtime', data: ['message.created', { id: 'm1', content: 'héllo <@u1> "quoted"\n', mentions: ['u1'], wakeup: true }] },
  { type: stock.PacketType.EVENT, nsp: '/', data: ['presence', { userId: 'u1', status: 'online' }] },
  { type: stock.PacketType.ACK, nsp: '/realtime', id: 7, data: [{ ok: false, error: { code: 'not_found', message: 'no such channel' } }] },
  { type: stock.PacketType.CONNECT_ERROR, nsp: '/realtime', data: { message: 'unauthorized' } },
  { type: stock.PacketType.DISCONNECT, nsp: '/realtime' },
];

describe('jsonParser encoder', () => {
  it.each(packets.map((p) => [stock.PacketType[p.type], p] as const))('encodes a %s packet exactly as the stock encoder does', (_, packet) => {
    const ours = new jsonParser.Encoder().encode(structuredClone(packet));
    expect(ours).toEqual(new stock.Encoder().encode(structuredClone(packet)));
    expect(ours).toHaveLength(1);
    expect(typeof ours[0]).toBe('string');
  });

  it('decodes with the stock decoder', () => {
    expect(jsonParser.Decoder).toBe(stock.Decoder);
  });
});
