import { type Kysely, sql } from 'kysely';
import { tableOptions } from './table-options.js';

// Frozen: never edit a migration that has shipped; add a new one.


export async function up(db: Kysely<any>): Promise<void> {
  const opts = tableOptions(db);
  await db.schema
    .createTable('files')
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
  await db.schema.createIndex('files_created_idx').on('files').columns(['created_at']).execute();
  await db.schema.createIndex('files_uploader_idx').on('files').columns(['uploader_id']).execute();
  // The sweep's orphan pass looks stored names up in batches.
  await db.schema.createIndex('files_storage_uq').on('files').columns(['storage_name']).unique().execute();

  await db.schema
    .createTable('canvases')
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
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('name', 'varchar(32)', (c) => c.notNull())
    .addColumn('description', 'varchar(200)', (c) => c.notNull())
    .addColumn('spec', sql`mediumtext`, (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('commands_pk', ['user_id', 'name'])
    .modifyEnd(opts)
    .execute();
  await db.schema.createIndex('commands_name_idx').on('commands').columns(['name']).execute();

  await db.schema
    .createTable('leases')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('holder', 'varchar(64)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .modifyEnd(opts)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['leases', 'commands', 'canvases', 'files']) await db.schema.dropTable(t).ifExists().execute();
}
