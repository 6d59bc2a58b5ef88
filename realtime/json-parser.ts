import * as parser from 'socket.io-parser';

/**
 * socket.io's packet parser, minus the binary scan on the way out. Every event this node
 * emits is plain JSON (realtime.md), yet the stock encoder walks each payload looking for
 * Buffers before it stringifies it — twice per posted message, for a noticeable share of the
 * post path's CPU (docs/performance.md). The wire format is the stock one: clients use their
 * default parser, and what clients send is decoded by the stock decoder.
 */
class JsonEncoder extends parser.Encoder {
  override encode(packet: parser.Packet): string[] {
    return [encodeAsString.call(this, packet)];
  }
}

// The stock string encoding (type, namespace, ack id, JSON data); declared private in the typings.
const encodeAsString = (parser.Encoder.prototype as unknown as { encodeAsString(this: parser.Encoder, packet: parser.Packet): string }).encodeAsString;

// eslint-disable-next-line no-restricted-syntax -- once, at load
export const jsonParser = { ...parser, Encoder: JsonEncoder };
