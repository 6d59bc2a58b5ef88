import { v7 } from 'uuid';

/** A new time-sortable id (UUIDv7) for every node-generated row. */
export const newId = (): string => v7();

/** Epoch milliseconds → the API's ISO 8601 UTC string with milliseconds. */
export const isoTime = (ms: number | bigint): string => new Date(Number(ms)).toISOString();
