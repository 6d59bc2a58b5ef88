/**
 * Multipart bodies built by hand, so tests control every byte of the framing (FormData
 * cannot send a part without a type, and the memory test needs a client that holds one block at a time).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

export interface PartSpec {
  name: string;
  filename?: string;
  type?: string;
  /** More part headers, e.g. Content-Transfer-Encoding. */
  headers?: Record<string, string>;
  data: string | Uint8Array;
}

const CRLF = '\r\n';

function partHead(boundary: string, p: Omit<PartSpec, 'data'>): string {
  let head = `--${boundary}${CRLF}Content-Disposition: form-data; name="${p.name}"`;
  if (p.filename !== undefined) head += `; filename="${p.filename}"`;
  head += CRLF;
  if (p.type) head += `Content-Type: ${p.type}${CRLF}`;
  for (const [k, v] of Object.entries(p.headers ?? {})) head += `${k}: ${v}${CRLF}`;
  return head + CRLF;
}

/** A complete multipart/form-data body in memory (small test files). */
export function multipartBody(parts: PartSpec[]): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const boundary = `----fabric${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(partHead(boundary, p)), Buffer.from(p.data), Buffer.from(CRLF));
  }
  chunks.push(Buffer.from(`--${boundary}--${CRLF}`));
  return { body: new Uint8Array(Buffer.concat(chunks)), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The usual upload: one part named `file`. */
export const filePart = (data: string | Uint8Array, filename = 'hello.txt', type = 'text/plain') => multipartBody([{ name: 'file', filename, type, data }]);

/**
 * Uploads `size` bytes as the `file` part through node:http, writing the same 64 KiB block
 * again and again and waiting for 'drain': the client holds one block, so the memory of
 * the process is the server's. Resolves with the status and parsed body once the body was
 * sent whole, and the sha256 the server should report.
 */
export function uploadStreamed(baseUrl: string, token: string, size: number, opts: { declareLength?: boolean } = {}): Promise<{ status: number; body: any; sha256: string }> {
  const boundary = `----fabric${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(partHead(boundary, { name: 'file', filename: 'big.bin', type: 'application/octet-stream' }));
  const tail = Buffer.from(`${CRLF}--${boundary}--${CRLF}`);
  const block = randomBytes(64 * 1024);
  const hash = createHash('sha256');
  for (let off = 0; off < size; off += block.length) hash.update(block.subarray(0, Math.min(block.length, size - off)));
  const sha256 = hash.digest('hex');
  return new Promise((resolve, reject) => {
    // Settles once the answer has been read and the whole body was sent: a server that
    // stops reading a body it refused would leave this hanging.
    let answer: { status: number; body: any } | undefined;
    let sent = false;
    const settle = () => answer && sent && resolve({ ...answer, sha256 });
    const req = http.request(
      `${baseUrl}/api/files`,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          // Without a length the body goes chunked, and the server learns its size only by reading it.
          ...(opts.declareLength === false ? {} : { 'content-length': head.length + size + tail.length }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          answer = { status: res.statusCode ?? 0, body: JSON.parse(text) };
          settle();
        });
      },
    );
    req.on('error', reject);
    req.on('finish', () => {
      sent = true;
      settle();
    });
    void (async () => {
      req.write(head);
      for (let off = 0; off < size; off += block.length) {
        const n = Math.min(block.length, size - off);
        if (!req.write(n === block.length ? block : block.subarray(0, n))) await new Promise((r) => req.once('drain', r));
      }
      req.end(tail);
    })();
  });
}
