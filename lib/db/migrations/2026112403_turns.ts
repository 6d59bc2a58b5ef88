import { type Kysely, sql } from 'kysely';
import { tableOptions } from './table-options.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.


export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('channel_turn_state')
    .ifNotExists()
    .addColumn('channel_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('state', sql`mediumtext`, (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .modifyEnd(tableOptions(db))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('channel_turn_state').ifExists().execute();
}
