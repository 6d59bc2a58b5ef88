import { type Kysely, sql } from 'kysely';
import { tableOptions } from './table-options.js';
import { createIndexOnce } from './schema-steps.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.


export async function up(db: Kysely<any>): Promise<void> {
  const opts = tableOptions(db);
  await db.schema
    .createTable('messages')
    .ifNotExists()
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('guild_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('author_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('content', sql`mediumtext`, (c) => c.notNull())
    .addColumn('reply_to_id', 'varchar(36)')
    .addColumn('mentions', 'text', (c) => c.notNull())
    .addColumn('client_msg_id', 'varchar(64)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('edited_at', 'bigint')
    .addColumn('deleted_at', 'bigint')
    .modifyEnd(opts)
    .execute();
  // Paging by seq, and the guarantee of no duplicate seq.
  await createIndexOnce(db, 'messages_channel_seq_uq', 'messages', (i) => i.columns(['channel_id','seq']).unique());
  // Idempotency of clientMsgId is enforced here, not only by a read before the write (NULLs never collide).
  await createIndexOnce(db, 'messages_client_msg_uq', 'messages', (i) => i.columns(['channel_id', 'author_id', 'client_msg_id']).unique());

  await db.schema
    .createTable('message_attachments')
    .ifNotExists()
    .addColumn('message_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('file_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    // Copied from the file at post time, so an attachment still describes itself after the sweep removed the file.
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('mime', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('message_attachments_pk', ['message_id', 'file_id'])
    .modifyEnd(opts)
    .execute();
  await createIndexOnce(db, 'message_attachments_file_idx', 'message_attachments', (i) => i.columns(['file_id']));
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('message_attachments').ifExists().execute();
  await db.schema.dropTable('messages').ifExists().execute();
}
