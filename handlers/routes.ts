/**
 * The whole REST API in one table: each entry is a standalone handler carrying its method
 * and path. Read top to bottom, it is the API of api.md.
 */
import type { Handler } from '../lib/http/handler.js';
import health from './health.js';
import ready from './ready.js';
import guildsCreate from './guilds/create.js';
import guildsList from './guilds/list.js';
import guildsGet from './guilds/get.js';
import guildsUpdate from './guilds/update.js';
import guildMembersList from './guilds/members-list.js';
import guildMembersAdd from './guilds/members-add.js';
import guildMembersRemove from './guilds/members-remove.js';
import guildMembersUpdate from './guilds/members-update.js';
import channelsCreate from './channels/create.js';
import channelsList from './channels/list.js';
import channelsGet from './channels/get.js';
import channelsUpdate from './channels/update.js';
import channelMembersList from './channels/members-list.js';
import channelMembersAdd from './channels/members-add.js';
import channelMembersRemove from './channels/members-remove.js';
import channelsJoin from './channels/join.js';
import channelsLeave from './channels/leave.js';
import wakeMappingGet from './channels/wake-mapping-get.js';
import wakeMappingPut from './channels/wake-mapping-put.js';
import channelsReadPut from './channels/read-put.js';
import channelsPresenceGet from './channels/presence-get.js';
import loopGuardReset from './channels/loop-guard-reset.js';
import filesUpload from './files/upload.js';
import filesDownload from './files/download.js';
import filesHead from './files/head.js';
import filesDelete from './files/delete.js';
import canvasGet from './canvas/get.js';
import canvasPut from './canvas/put.js';
import canvasDelete from './canvas/delete.js';
import commandsPut from './commands/put.js';
import commandsList from './commands/list.js';
import messagesCreate from './messages/create.js';
import messagesList from './messages/list.js';
import messagesGet from './messages/get.js';
import messagesUpdate from './messages/update.js';
import messagesDelete from './messages/delete.js';
import turnGet from './turns/get.js';
import turnUpdate from './turns/update.js';
import turnMoveToBypass from './turns/move-to-bypass.js';
import turnMoveToOrder from './turns/move-to-order.js';
import turnAck from './turns/ack.js';
import openApi from './reference/openapi.js';
import docsPage from './reference/docs.js';
import docsAsset from './reference/docs-asset.js';

export const routes: readonly Handler[] = [
  health,
  ready,
  // Guilds
  guildsCreate,
  guildsList,
  guildsGet,
  guildsUpdate,
  guildMembersList,
  guildMembersAdd,
  guildMembersUpdate,
  guildMembersRemove,
  // Channels
  channelsCreate,
  channelsList,
  channelsGet,
  channelsUpdate,
  channelMembersList,
  channelMembersAdd,
  channelMembersRemove,
  channelsJoin,
  channelsLeave,
  wakeMappingGet,
  wakeMappingPut,
  channelsReadPut,
  channelsPresenceGet,
  loopGuardReset,
  // Messages
  messagesCreate,
  messagesList,
  messagesGet,
  messagesUpdate,
  messagesDelete,
  // Turn engine (discuss and work channels)
  turnGet,
  turnUpdate,
  turnMoveToBypass,
  turnMoveToOrder,
  turnAck,
  // Files
  filesUpload,
  filesDownload,
  filesHead,
  filesDelete,
  // Canvas
  canvasGet,
  canvasPut,
  canvasDelete,
  // Slash-command registry
  commandsPut,
  commandsList,
  // The API reference (no token)
  openApi,
  docsPage,
  docsAsset,
];
