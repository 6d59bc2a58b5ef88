/**
 * Who may write a channel's canvas (api.md "Canvas"), as a pure rule over loaded facts. The
 * order of the checks is the API's: 403 before 409.
 */
import { channelClosed, forbidden, type HttpError } from '../errors.js';

export const CANVAS_FORMATS = ['md', 'html', 'text'] as const;
export const CANVAS_TITLE_MAX = 200;

export interface CanvasWriteFacts {
  /** The caller as a user, or null for a guild token. */
  userId: string | null;
  isMember: boolean;
  /** The sharer of the current canvas, or null when there is none. */
  sharedBy: string | null;
  closed: boolean;
}

/**
 * Why a write is refused, or null when it is allowed. Sharing needs a user who is a channel
 * member; replacing needs the sharer too; removing needs the sharer only.
 */
export function canvasWriteRefusal(action: 'put' | 'delete', f: CanvasWriteFacts): HttpError | null {
  if (action === 'put') {
    if (f.userId === null) return forbidden('sharing a canvas needs a user token');
    if (!f.isMember) return forbidden('sharing a canvas needs channel membership');
  }
  if (f.sharedBy !== null && f.sharedBy !== f.userId) return forbidden('only the member who shared the canvas may change or remove it');
  if (f.closed) return channelClosed();
  return null;
}

/** Content is limited in UTF-8 bytes, as stored. */
export const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

// api.md's 1 MiB for every JSON body (as lib/http/body.ts, which endpoints load lazily: not imported here).
const JSON_BODY_LIMIT = 1024 * 1024;

/**
 * The largest JSON body that can still carry content of `maxBytes`: JSON may spell one byte
 * as six (`\u0001`), plus room for the title and the framing; never less than the 1 MiB
 * every JSON body may take.
 */
export const canvasBodyLimit = (maxBytes: number) => Math.max(JSON_BODY_LIMIT, maxBytes * 6 + 16 * 1024);
