/**
 * What the code relies on of libraries' private internals, checked directly, so that an
 * upgrade that changes any of it fails here by name:
 * - formidable's `_handlePart` and `_error` (lib/files/formidable-internals.ts);
 * - socket.io-parser's `Encoder.prototype.encodeAsString` (realtime/json-parser.ts; its output
 *   is compared with the stock encoder's in test/json-parser.test.ts);
 * - mysql2 pool fields `_allConnections`, `_freeConnections`, `_connectionQueue` (lib/db/mysql.ts, the pool gauges);
 * - engine.io's `Socket.flush`/`Transport.send` and ws's `_socket` (realtime/frame-coalescing.ts,
 *   exercised on real connections in test/frame-coalescing.test.ts).
 */
import { Readable } from 'node:stream';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import formidable, { multipart, type Part } from 'formidable';
import * as parser from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { failParse, storePart } from '../lib/files/formidable-internals.js';
import { filePart } from './helpers/multipart.js';

function bodyStream(body: Uint8Array, contentType: string) {
  return Object.assign(Readable.from([Buffer.from(body)]), { headers: { 'content-type': contentType, 'content-length': String(body.length) } });
}

describe('formidable internals', () => {
  it('a form has _handlePart and _error', () => {
    const form = formidable({}) as unknown as Record<string, unknown>;
    expect(typeof form._handlePart).toBe('function');
    expect(typeof form._error).toBe('function');
  });

  it('storePart (_handlePart) from a custom onPart stores the file part as formidable would', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-formidable-'));
    try {
      const form = formidable({ enabledPlugins: [multipart], uploadDir: dir, hashAlgorithm: 'sha256' });
      form.onPart = (part: Part) => storePart(form, part) as never;
      const { body, contentType } = filePart('stored through _handlePart', 'a.txt');
      const [, files] = await form.parse(bodyStream(body, contentType) as never);
      const file = files.file?.[0];
      expect(file?.originalFilename).toBe('a.txt');
      expect(file?.size).toBe('stored through _handlePart'.length);
      expect(fs.readFileSync(file!.filepath, 'utf8')).toBe('stored through _handlePart');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('failParse (_error) fails the running parse with the given error', async () => {
    const form = formidable({ enabledPlugins: [multipart] });
    const failure = new Error('refused by onPart');
    form.onPart = () => failParse(form, failure);
    const { body, contentType } = filePart('never stored');
    await expect(form.parse(bodyStream(body, contentType) as never)).rejects.toBe(failure);
  });
});

describe('socket.io-parser internals', () => {
  it('Encoder.prototype.encodeAsString exists and writes one packet as one string', () => {
    const encodeAsString = (parser.Encoder.prototype as unknown as { encodeAsString?: (p: parser.Packet) => string }).encodeAsString;
    expect(typeof encodeAsString).toBe('function');
    const packet = { type: parser.PacketType.EVENT, nsp: '/realtime', data: ['e', { a: 1 }] };
    expect(encodeAsString!.call(new parser.Encoder(), packet)).toBe('2/realtime,["e",{"a":1}]');
  });
});

describe('mysql2 pool internals (lib/db/mysql.ts poolStats, the pool gauges of docs/operations.md)', () => {
  it('a pool has _allConnections, _freeConnections and _connectionQueue with a length', async () => {
    const { createPool } = await import('mysql2');
    const pool = createPool({ host: '127.0.0.1', port: 9, connectionLimit: 1 });
    try {
      for (const field of ['_allConnections', '_freeConnections', '_connectionQueue']) {
        expect((pool as unknown as Record<string, { length: number }>)[field].length, field).toBe(0);
      }
    } finally {
      await new Promise<void>((resolve) => pool.end(() => resolve()));
    }
  });
});
