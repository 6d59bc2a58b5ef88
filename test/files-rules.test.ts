import { describe, expect, it } from 'vitest';
import { contentDisposition, ifNoneMatchHits, ifRangeHolds, isActiveType, isInlineType, servedContentType } from '../lib/files/content-headers.js';
import { resolveRange } from '../lib/files/range.js';
import { normalizeMime, sanitizeFileName } from '../lib/files/upload-metadata.js';

describe('Range header of GET /api/files/:fileId (size 1000)', () => {
  it.each([
    [null, { kind: 'whole' }],
    ['bytes=0-99', { kind: 'partial', start: 0, end: 99 }],
    ['bytes=500-', { kind: 'partial', start: 500, end: 999 }],
    ['bytes=-100', { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-5000', { kind: 'partial', start: 0, end: 999 }],
    ['bytes=990-5000', { kind: 'partial', start: 990, end: 999 }],
    ['bytes=999-999', { kind: 'partial', start: 999, end: 999 }],
    ['bytes=0-99999999999999999999999', { kind: 'partial', start: 0, end: 999 }],
    ['Bytes=1-2', { kind: 'partial', start: 1, end: 2 }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=1000-2000', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-6', { kind: 'whole' }],
    ['bytes=5-1', { kind: 'whole' }],
    ['bytes=-', { kind: 'whole' }],
    ['bytes=abc', { kind: 'whole' }],
    ['items=0-1', { kind: 'whole' }],
  ])('%s → %j', (header, expected) => {
    expect(resolveRange(header, 1000)).toEqual(expected);
  });

  it('finds nothing satisfiable in an empty file', () => {
    expect(resolveRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(resolveRange('bytes=-10', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(resolveRange(null, 0)).toEqual({ kind: 'whole' });
  });
});

describe('served type and disposition', () => {
  it.each([
    ['text/html', true],
    ['image/svg+xml', true],
    ['application/xhtml+xml', true],
    ['text/xml', true],
    ['application/xml', true],
    ['application/javascript', true],
    ['text/javascript', true],
    ['multipart/x-mixed-replace', true],
    ['application/x-shockwave-flash', true],
    ['text/plain', false],
    ['image/png', false],
    ['application/pdf', false],
    ['application/json', false],
  ])('%s is active: %s', (mime, active) => {
    expect(isActiveType(mime)).toBe(active);
    expect(servedContentType(mime)).toBe(active ? 'application/octet-stream' : mime);
  });

  it.each([
    ['image/png', true],
    ['image/jpeg', true],
    ['audio/ogg', true],
    ['video/mp4', true],
    ['application/pdf', true],
    ['image/svg+xml', false],
    ['text/plain', false],
    ['text/html', false],
    ['application/zip', false],
  ])('%s is shown inline: %s', (mime, inline) => {
    expect(isInlineType(mime)).toBe(inline);
  });

  it.each([
    ['report.pdf', true, `inline; filename="report.pdf"; filename*=UTF-8''report.pdf`],
    ['a b.txt', false, `attachment; filename="a b.txt"; filename*=UTF-8''a%20b.txt`],
    ['résumé.txt', false, `attachment; filename="r_sum_.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt`],
    ['say "hi"\\.txt', false, `attachment; filename="say _hi__.txt"; filename*=UTF-8''say%20%22hi%22%5C.txt`],
    ["it's (1)*.txt", false, `attachment; filename="it's (1)*.txt"; filename*=UTF-8''it%27s%20%281%29%2A.txt`],
    ['100%.txt', false, `attachment; filename="100_.txt"; filename*=UTF-8''100%25.txt`],
    ['日本.png', true, `inline; filename="__.png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`],
  ])('Content-Disposition for %j (inline %s) follows RFC 6266', (name, inline, expected) => {
    expect(contentDisposition(name, inline)).toBe(expected);
  });
});

describe('validators', () => {
  const etag = '"abc"';
  it.each([
    [null, false],
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['*', true],
    ['"abd"', false],
  ])('If-None-Match %j matches: %s', (header, hit) => {
    expect(ifNoneMatchHits(header, etag)).toBe(hit);
  });

  it.each([
    [null, true],
    ['"abc"', true],
    ['W/"abc"', false],
    ['"other"', false],
    ['Wed, 21 Oct 2015 07:28:00 GMT', false],
  ])('If-Range %j keeps the range: %s', (header, holds) => {
    expect(ifRangeHolds(header, etag)).toBe(holds);
  });
});

describe('upload metadata', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\photo.jpg', 'photo.jpg'],
    ['/abs/path/', 'file'],
    ['..', 'file'],
    ['  spaced.txt  ', 'spaced.txt'],
    ['bad\u0000na\u001fme\u007f.txt', 'badname.txt'],
    ['evil\u202Egpj.exe', 'evilgpj.exe'],
    ['', 'file'],
    [null, 'file'],
    ['.env', '.env'],
  ])('the name %j is kept as %j', (raw, kept) => {
    expect(sanitizeFileName(raw)).toBe(kept);
  });

  it('cuts a long name to 255 characters, keeping the extension', () => {
    const kept = sanitizeFileName('é'.repeat(300) + '.tar.gz');
    expect([...kept].length).toBe(255);
    expect(kept.endsWith('.gz')).toBe(true);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['Text/HTML; charset=utf-8', 'text/html'],
    ['image/svg+xml', 'image/svg+xml'],
    ['garbage', 'application/octet-stream'],
    ['text/plain\r\nX-Injected: 1', 'application/octet-stream'],
    [null, 'application/octet-stream'],
  ])('the type %j is kept as %j', (raw, kept) => {
    expect(normalizeMime(raw)).toBe(kept);
  });
});
