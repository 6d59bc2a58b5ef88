import type { Kysely } from 'kysely';
import { tableOptions } from './table-options.js';
import { createIndexOnce } from './schema-steps.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.


export async function up(db: Kysely<any>): Promise<void> {
  const opts = tableOptions(db);
  await db.schema
    .createTable('guilds')
    .ifNotExists()
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .modifyEnd(opts)
    .execute();

  await db.schema
    .createTable('guild_members')
    .ifNotExists()
    .addColumn('guild_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('guild_members_pk', ['guild_id', 'user_id'])
    .modifyEnd(opts)
    .execute();
  await createIndexOnce(db, 'guild_members_user_idx', 'guild_members', (i) => i.columns(['user_id','guild_id']));

  await db.schema
    .createTable('channels')
    .ifNotExists()
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('guild_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('x_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('closed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', 'varchar(128)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .modifyEnd(opts)
    .execute();
  await createIndexOnce(db, 'channels_guild_name_idx', 'channels', (i) => i.columns(['guild_id','name']));

  await db.schema
    .createTable('channel_members')
    .ifNotExists()
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_members_pk', ['channel_id', 'user_id'])
    .modifyEnd(opts)
    .execute();
  await createIndexOnce(db, 'channel_members_user_idx', 'channel_members', (i) => i.columns(['user_id','channel_id']));

  await db.schema
    .createTable('channel_wake_users')
    .ifNotExists()
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_wake_users_pk', ['channel_id', 'user_id'])
    .modifyEnd(opts)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['channel_wake_users', 'channel_members', 'channels', 'guild_members', 'guilds']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
