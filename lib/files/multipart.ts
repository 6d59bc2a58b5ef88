/**
 * The one runtime-specific piece of uploads: a web Request's multipart body, parsed by
 * formidable and streamed to disk. Handlers see only `receiveUpload(request, …)`.
 *
 * The body becomes a Node stream that pulls from the web stream's reader only when asked,
 * and formidable pauses it while a chunk is written, so memory does not grow with file size.
 * (Readable.fromWeb would refuse the ReadableStream implementations of other runtimes and
 * of the fetch adapter.)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import formidable, { errors as formidableErrors, multipart, type Part } from 'formidable';
import { badRequest, HttpError } from '../errors.js';
import { requireUncodedBody } from '../http/content-coding.js';
import { failParse, storePart } from './formidable-internals.js';
import { ensureFileDir } from './storage-dir.js';
import { normalizeMime, sanitizeFileName } from './upload-metadata.js';

export interface ReceivedFile {
  /** Generated; the bytes are at `path.join(dir, storageName)`. */
  storageName: string;
  size: number;
  sha256: string;
  /** The client's name, sanitised (metadata only). */
  name: string;
  mime: string;
}

export interface UploadLimits {
  dir: string;
  maxBytes: number;
}

const FIELD_NAME = 'file';
/**
 * Room for the multipart framing around the file (boundaries, part headers). A declared body
 * length beyond the file limit plus this is refused before reading; while reading, framing
 * beyond it (plus the few chunks read ahead of the parser) is refused with 413, so a part
 * header can never grow in memory without bound.
 */
const FRAMING_ALLOWANCE = 64 * 1024;
const READ_AHEAD_SLACK = 1024 * 1024;
/** The largest piece of the body handed to the parser at a time. */
const PIECE_BYTES = 64 * 1024;
/** How long the parser may make no progress on what it was handed before it counts as framing. */
const PARSER_CATCH_UP_MS = 2000;
/** The transfer encodings formidable passes through unchanged; RFC 7578 §4.7 deprecates the others in form data. */
const IDENTITY_ENCODINGS = new Set(['binary', '7bit', '8bit', 'utf-8']);
const unsupported = () => new HttpError(415, 'unsupported_media_type', 'the body must be multipart/form-data');
const tooLarge = (max: number) => new HttpError(413, 'payload_too_large', `the file is larger than ${max} bytes`);
const onePart = () => badRequest('the body must have exactly one part, a file named "file"', [{ field: FIELD_NAME, message: 'exactly one file part named "file" is required' }]);
const framingTooLarge = () => new HttpError(413, 'payload_too_large', `the multipart framing (boundaries and part headers) is larger than ${FRAMING_ALLOWANCE} bytes`);
const encodedFile = () =>
  badRequest('the file part must be sent as is', [{ field: FIELD_NAME, message: 'Content-Transfer-Encoding other than binary, 7bit or 8bit is not supported (RFC 7578)' }]);

/** Bytes of the body read so far, and how many of them were file content. */
interface ReadBudget {
  total: number;
  file: number;
  exceeded: boolean;
  /** The parse is over (failed or done): stop waiting for the parser. */
  settled: boolean;
  /** Wakes a wait for the parser's progress (overFraming). */
  wake?: () => void;
}

/** A new storage name: 128 random bits in hex; never derived from anything the client sent. */
export const generateStorageName = () => randomBytes(16).toString('hex');

/** Storage names are 32 lower-case hex digits; anything else in FILE_DIR is not ours. */
export const isStorageName = (name: string) => /^[0-9a-f]{32}$/.test(name);

/**
 * Streams the single `file` part of a multipart/form-data request to `dir` under a generated
 * name, computing its sha256 on the way. 415 when not multipart or sent compressed (a
 * Content-Encoding: nothing of it is read or stored); 400 unless there is exactly
 * one part and it is a file named `file`; 413 once the file's bytes exceed `maxBytes`. On any
 * failure the partial file is removed before this returns.
 */
export async function receiveUpload(request: Request, limits: UploadLimits): Promise<ReceivedFile> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType)) throw unsupported();
  requireUncodedBody(request.headers);
  if (!/;\s*boundary=/i.test(contentType)) throw badRequest('the multipart content type has no boundary');
  // A declared length that no file within the limit can fill is refused before a byte is read.
  const length = request.headers.get('content-length');
  if (Number(length ?? NaN) > limits.maxBytes + FRAMING_ALLOWANCE) throw tooLarge(limits.maxBytes);
  if (!request.body) throw onePart();
  await ensureFileDir(limits.dir);

  const budget: ReadBudget = { total: 0, file: 0, exceeded: false, settled: false };
  const body = Readable.from(chunksOf(request.body, budget), { objectMode: false, highWaterMark: 64 * 1024 });
  let bodyFailed = false;
  body.on('error', () => (bodyFailed = true));
  // formidable reads the framing from these two headers only; a body without a length is chunked.
  const headers = { 'content-type': contentType, ...(length !== null ? { 'content-length': length } : { 'transfer-encoding': 'chunked' }) };
  Object.assign(body, { headers });

  let accepted: Part | undefined;
  let extraParts = false;
  let badEncoding = false;
  let stored: { storageName: string; stream: fs.WriteStream } | undefined;
  const form = formidable({
    enabledPlugins: [multipart],
    maxFileSize: limits.maxBytes,
    maxTotalFileSize: limits.maxBytes,
    allowEmptyFiles: true,
    minFileSize: 0,
    hashAlgorithm: 'sha256',
    // Only the first part named `file` is written; a second one is skipped and makes the upload a 400.
    filter: (part) => {
      if (accepted) {
        extraParts = true;
        return false;
      }
      accepted = part;
      return true;
    },
    fileWriteStreamHandler: () => {
      const storageName = generateStorageName();
      const stream = fs.createWriteStream(path.join(limits.dir, storageName), { flags: 'wx' });
      stored = { storageName, stream };
      return stream;
    },
  });
  // Every part but a file named `file` makes the upload a 400, so none is handed to formidable:
  // its field decoding throws (outside any promise we could catch) on some transfer encodings.
  form.onPart = (part: Part) => {
    if (part.name !== FIELD_NAME || part.originalFilename === null) {
      extraParts = true;
      return;
    }
    if (!IDENTITY_ENCODINGS.has((part as Part & { transferEncoding?: string }).transferEncoding ?? 'binary')) {
      badEncoding = true;
      return;
    }
    // A file part sent without its own Content-Type is still a file (formidable would take it for a text field).
    if (!part.mimetype) part.mimetype = 'application/octet-stream';
    part.on('data', (chunk: Buffer) => {
      budget.file += chunk.length;
      budget.wake?.();
    });
    // Returned, so that the parser waits until the part's listeners are attached; a failure fails the parse.
    return storePart(form, part).catch((err: unknown) => failParse(form, err));
  };

  let files: formidable.Files;
  try {
    [, files] = await form.parse(body as never);
  } catch (err) {
    budget.settled = true;
    budget.wake?.();
    await Promise.all([discard(stored), drain(body)]);
    throw budget.exceeded ? framingTooLarge() : uploadError(err, bodyFailed, limits.maxBytes);
  }
  const file = files[FIELD_NAME]?.[0];
  if (budget.exceeded || badEncoding || extraParts || !file || !stored) {
    await discard(stored);
    throw budget.exceeded ? framingTooLarge() : badEncoding ? encodedFile() : onePart();
  }
  await closed(stored.stream);
  return {
    storageName: stored.storageName,
    size: file.size,
    sha256: String(file.hash),
    name: sanitizeFileName(file.originalFilename),
    mime: normalizeMime(file.mimetype),
  };
}

/**
 * The chunks of a web stream as Buffers, pulled one at a time; cancels the stream when
 * abandoned. Once the bytes that are not file content outgrow the framing allowance, the rest
 * of the body is read and dropped and the parser sees the body end there.
 */
async function* chunksOf(stream: ReadableStream<Uint8Array>, budget: ReadBudget): AsyncGenerator<Buffer> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      if (budget.exceeded) continue; // keep reading to the end (see drain), without handing more to the parser
      const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      // In pieces, each counted when handed over: a runtime may deliver a large chunk at once
      // (Bun.serve up to 1 MiB, a Request built from a buffer all of it).
      for (let off = 0; off < chunk.length; off += PIECE_BYTES) {
        const piece = chunk.subarray(off, off + PIECE_BYTES);
        budget.total += piece.length;
        if (await overFraming(budget)) {
          budget.exceeded = true;
          break;
        }
        yield piece;
      }
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
  }
}

/**
 * Whether the bytes handed to the parser beyond the file's content outgrow the framing
 * allowance. The parser hands out file bytes a little later than it takes them in, so over
 * the allowance this first waits for it to catch up: framing is what it still has not handed
 * out once it makes no more progress (or the parse is over).
 */
async function overFraming(budget: ReadBudget): Promise<boolean> {
  while (budget.total - budget.file > FRAMING_ALLOWANCE + READ_AHEAD_SLACK) {
    if (budget.settled) return false;
    const before = budget.file;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        budget.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, PARSER_CATCH_UP_MS);
      budget.wake = done;
    });
    if (budget.file === before && !budget.settled) return true;
  }
  return false;
}

/** Removes a partial file once its stream has let go of it. */
async function discard(stored: { storageName: string; stream: fs.WriteStream } | undefined) {
  if (!stored) return;
  stored.stream.destroy();
  await closed(stored.stream);
  await fs.promises.rm(stored.stream.path as string, { force: true });
}

const closed = (stream: fs.WriteStream) => (stream.closed ? Promise.resolve() : new Promise<void>((resolve) => stream.once('close', () => resolve())));

/**
 * Reads the rest of a refused body to its end and drops it, before the answer is sent: the
 * client then reads our answer rather than a reset connection, and the connection stays
 * usable (once a response is out, the fetch adapter stops reading the request, and a body
 * left half-read would hang the connection). A proxy's body limit is the place to cut very
 * large refused uploads short.
 */
async function drain(body: Readable): Promise<void> {
  body.removeAllListeners('data');
  body.on('data', () => undefined);
  body.resume();
  await finished(body).catch(() => undefined);
}

/** formidable's and the stream's failures → the API's errors. */
function uploadError(err: unknown, bodyFailed: boolean, maxBytes: number): unknown {
  if (bodyFailed) return badRequest('the upload was interrupted');
  const code = (err as { code?: unknown } | null)?.code;
  if (code === formidableErrors.biggerThanTotalMaxFileSize || code === formidableErrors.biggerThanMaxFileSize) return tooLarge(maxBytes);
  const httpCode = (err as { httpCode?: unknown } | null)?.httpCode;
  // Every other formidable error is about the body the client sent (malformed framing, unknown encoding…).
  const clientFault = (typeof httpCode === 'number' && httpCode < 500) || code === formidableErrors.unknownTransferEncoding;
  if (typeof code === 'number' && clientFault) return badRequest('malformed multipart body');
  return err;
}
