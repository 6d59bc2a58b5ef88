/** The part of Bun's built-in `bun:sqlite` that lib/db/sqlite.ts uses (Bun ships the module; Node never loads it). */
declare module 'bun:sqlite' {
  type Binding = string | number | bigint | boolean | null | Uint8Array;
  export class Statement {
    readonly columnNames: string[];
    all(...params: Binding[]): unknown[];
    run(...params: Binding[]): { changes: number; lastInsertRowid: number | bigint };
    iterate(...params: Binding[]): IterableIterator<unknown>;
  }
  export class Database {
    constructor(filename: string, options?: { create?: boolean; readonly?: boolean; strict?: boolean });
    prepare(sql: string): Statement;
    exec(sql: string): void;
    close(): void;
  }
}
