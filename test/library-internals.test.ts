/**
 * What the code relies on of libraries' private internals, checked directly, so that an
 * upgrade that changes any of it fails here by name:
 * - formidable's `_handlePart` and `_error` (lib/files/formidable-internals.ts);
 * - socket.io-parser's `Encoder.prototype.encodeAsString` (realtime/json-parser.ts; its output
 *   is compared with the stock encoder's in test/json-parser.test.ts);
 * - mysql2 pool fields `_allConnections`, `_freeConnections`, `_connectionQueue` (lib/db/mysql.ts, the pool gauges);
 * - engine.io's `Socket.flush`/`Transport.send` and ws's `_socket` (realtime/frame-coalescing.ts,
 *   exercised on real connections in test/frame-coalescing.test.ts);
 * - @whatwg-node/fetch's Response `bodyType`/`bodyInit` and @whatwg-node/server writing a string
 *   body from them (lib/server/adapter-response.ts, the Response class swap);
 * - engine.io emitting `connection_error` before it writes its own refusal, and writing none
 *   over a response already sent or a connection already ended (realtime/engine-refusals.ts).
 */
import { Readable } from 'node:stream';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import formidable, { multipart, type Part } from 'formidable';
import { Server as SocketIoServer } from 'socket.io';
import * as parser from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { createServerAdapter } from '@whatwg-node/server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { failParse, storePart } from '../lib/files/formidable-internals.js';
import { json } from '../lib/http/respond.js';
import { listenFetch } from '../lib/server/node.js';
import { PonyfillResponse } from '../lib/server/adapter-response.js';
import { answerEngineRefusals } from '../realtime/engine-refusals.js';
import { filePart } from './helpers/multipart.js';
import { rawRequest } from './helpers/raw-http.js';

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

describe('the Response class swap of the Node adapter (@whatwg-node internals)', () => {
  it("on Node the ponyfill's Response is its own class, with a string body as bodyType 'String' and bodyInit", () => {
    expect(PonyfillResponse).not.toBe(globalThis.Response);
    const res = new PonyfillResponse('{"a":1}', { status: 201 }) as unknown as Record<string, unknown>;
    expect(res.bodyType).toBe('String');
    expect(res.bodyInit).toBe('{"a":1}');
  });

  it('the adapter writes a ponyfill response with a string body without reading its body stream', async () => {
    const server = createServer(
      createServerAdapter(() => {
        const res = new PonyfillResponse('written in one go', { status: 202, headers: { 'content-type': 'text/plain' } });
        Object.defineProperty(res, 'body', {
          get: () => {
            throw new Error('the body stream was read');
          },
        });
        return res;
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(res.status).toBe(202);
      expect(await res.text()).toBe('written in one go');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('once the Node adapter listens, the responses of lib/http/respond.ts are ponyfill responses', async () => {
    const listening = await listenFetch(async () => json({ ok: true }), 0, '127.0.0.1');
    try {
      expect(json({})).toBeInstanceOf(PonyfillResponse);
      const res = await fetch(`http://127.0.0.1:${listening.port}/`);
      expect(await res.json()).toEqual({ ok: true });
    } finally {
      await listening.close();
    }
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

describe('engine.io refusals (realtime/engine-refusals.ts)', () => {
  it('emits connection_error before writing its own refusal, and writes none over the answer given there, polling or upgrade', async () => {
    const server = createServer();
    const io = new SocketIoServer(server, { allowRequest: (_req, cb) => cb(null, false) });
    answerEngineRefusals(io);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const refusal = async (head: string) => {
      const res = await rawRequest(port, `GET /socket.io/?${head}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      return { status: res.status, code: res.json?.error?.code };
    };
    try {
      expect(await refusal('EIO=4&transport=unknown HTTP/1.1\r\nHost: localhost')).toEqual({ status: 400, code: 'bad_request' });
      // allowRequest said no
      expect(await refusal('EIO=4&transport=polling HTTP/1.1\r\nHost: localhost')).toEqual({ status: 403, code: 'forbidden' });
      expect(await refusal('EIO=4&transport=unknown HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket')).toEqual({ status: 400, code: 'bad_request' });
    } finally {
      await io.close();
    }
  });
});
