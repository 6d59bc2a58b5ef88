import type { Kysely } from 'kysely';
import { tableOptions } from './table-options.js';

// Frozen: never edit a migration that has shipped; add a new one.


export async function up(db: Kysely<any>): Promise<void> {
  const opts = tableOptions(db);
  await db.schema
    .createTable('guilds')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .modifyEnd(opts)
    .execute();

  await db.schema
    .createTable('guild_members')
    .addColumn('guild_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('guild_members_pk', ['guild_id', 'user_id'])
    .modifyEnd(opts)
    .execute();
  await db.schema.createIndex('guild_members_user_idx').on('guild_members').columns(['user_id', 'guild_id']).execute();

  await db.schema
    .createTable('channels')
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
  await db.schema.createIndex('channels_guild_name_idx').on('channels').columns(['guild_id', 'name']).execute();

  await db.schema
    .createTable('channel_members')
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_members_pk', ['channel_id', 'user_id'])
    .modifyEnd(opts)
    .execute();
  await db.schema.createIndex('channel_members_user_idx').on('channel_members').columns(['user_id', 'channel_id']).execute();

  await db.schema
    .createTable('channel_wake_users')
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
