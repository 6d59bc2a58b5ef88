import { type Kysely, sql } from 'kysely';
import { tableOptions } from './table-options.js';
import { createIndexOnce } from './schema-steps.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.


export async function up(db: Kysely<any>): Promise<void> {
  const opts = tableOptions(db);
  await db.schema
    .createTable('files')
    .ifNotExists()
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('uploader_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('mime', 'varchar(255)', (c) => c.notNull())
    .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('storage_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .modifyEnd(opts)
    .execute();
  await createIndexOnce(db, 'files_created_idx', 'files', (i) => i.columns(['created_at']));
  await createIndexOnce(db, 'files_uploader_idx', 'files', (i) => i.columns(['uploader_id']));
  // The sweep's orphan pass looks stored names up in batches.
  await createIndexOnce(db, 'files_storage_uq', 'files', (i) => i.columns(['storage_name']).unique());

  await db.schema
    .createTable('canvases')
    .ifNotExists()
    .addColumn('channel_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('format', 'varchar(8)', (c) => c.notNull())
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('content', sql`mediumtext`, (c) => c.notNull())
    .addColumn('shared_by', 'varchar(128)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .modifyEnd(opts)
    .execute();

  await db.schema
    .createTable('commands')
    .ifNotExists()
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('name', 'varchar(32)', (c) => c.notNull())
    .addColumn('description', 'varchar(200)', (c) => c.notNull())
    .addColumn('spec', sql`mediumtext`, (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('commands_pk', ['user_id', 'name'])
    .modifyEnd(opts)
    .execute();
  await createIndexOnce(db, 'commands_name_idx', 'commands', (i) => i.columns(['name']));

  await db.schema
    .createTable('leases')
    .ifNotExists()
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('holder', 'varchar(64)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .modifyEnd(opts)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['leases', 'commands', 'canvases', 'files']) await db.schema.dropTable(t).ifExists().execute();
}
