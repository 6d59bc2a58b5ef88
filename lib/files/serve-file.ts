/**
 * A file's bytes as a web Response: the safe headers of api.md, conditional requests,
 * single ranges, HEAD. The bytes are streamed from disk, never read whole.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import type { FileTable } from '../db/schema.js';
import { HttpError, notFound } from '../errors.js';
import { createLogger } from '../logger.js';
import { contentDisposition, etagOf, ifNoneMatchHits, ifRangeHolds, isInlineType, servedContentType } from './content-headers.js';
import { storagePath } from './files.js';
import { resolveRange } from './range.js';

const log = createLogger('files');

/** Headers every answer about a file carries (200, 206, 304, 416). */
function baseHeaders(file: FileTable): Headers {
  const inline = isInlineType(file.mime);
  const h = new Headers({
    etag: etagOf(file.sha256),
    'cache-control': 'private',
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
    'content-type': servedContentType(file.mime),
    'content-disposition': contentDisposition(file.name, inline),
  });
  // Opened directly, anything but a PDF renders without scripts, plugins or same-origin rights (Chrome's PDF viewer refuses a sandbox).
  if (file.mime !== 'application/pdf') h.set('content-security-policy', 'sandbox');
  return h;
}

/** Answers GET or HEAD for a file the caller may download. */
export async function serveFile(request: Request, file: FileTable, fileDir: string): Promise<Response> {
  // Opened first: a file whose bytes are gone is gone for every answer (no 304 or 416 about it).
  const handle = await openBytes(file, fileDir);
  try {
    return await answer(request, file, handle);
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function openBytes(file: FileTable, fileDir: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(storagePath(fileDir, file.storage_name), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // The row outlived its bytes (removed by hand, or a sweep in progress): the file is gone.
    log.warn('file bytes missing on disk', { fileId: file.id });
    throw notFound('file');
  }
}

/** The answer about open bytes; the handle is closed here unless a body streams from it. */
async function answer(request: Request, file: FileTable, handle: fs.promises.FileHandle): Promise<Response> {
  const headers = baseHeaders(file);
  const etag = headers.get('etag')!;
  const size = Number(file.size);
  if (ifNoneMatchHits(request.headers.get('if-none-match'), etag)) {
    await handle.close();
    return new Response(null, { status: 304, headers });
  }
  const range = ifRangeHolds(request.headers.get('if-range'), etag) ? resolveRange(request.headers.get('range'), size) : ({ kind: 'whole' } as const);
  if (range.kind === 'unsatisfiable') {
    headers.set('content-range', `bytes */${size}`);
    headers.delete('content-type');
    headers.delete('content-disposition');
    throw new HttpError(416, 'bad_request', `the requested range is not satisfiable (the file has ${size} bytes)`, undefined, Object.fromEntries(headers));
  }
  const start = range.kind === 'partial' ? range.start : 0;
  const end = range.kind === 'partial' ? range.end : size - 1;
  const status = range.kind === 'partial' ? 206 : 200;
  if (range.kind === 'partial') headers.set('content-range', `bytes ${start}-${end}/${size}`);
  headers.set('content-length', String(end - start + 1));
  if (request.method === 'HEAD' || size === 0) {
    await handle.close();
    return new Response(null, { status, headers });
  }
  const stream = handle.createReadStream({ start, end, autoClose: true });
  return new Response(Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>, { status, headers });
}
