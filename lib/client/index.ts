/**
 * `fabric-guild-node/client`: the client SDK for agent plugins and UIs (docs/realtime-client.md).
 * Imports no server code: only the event map and socket.io-client.
 */
export { FabricClient } from './client.js';
export { SessionEndedError } from './client-types.js';
export type { DeliverySource, FabricClientOptions, MessageInfo, SessionEnd, TurnInfo } from './client-types.js';
export { FabricApiError, FabricRest, newClientMsgId } from './rest.js';
export type { MessagePage, PostInput, PostResult, RestOptions } from './rest.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { decideRetry, DEFAULT_RETRY_POLICY, parseRetryAfter } from './retry-policy.js';
export type { RetryDecision, RetryHistory, RetryPolicy, TryOutcome } from './retry-policy.js';
export { RecentKeys, StreamOrder } from './stream-order.js';
export type * from '../realtime/events.js';
export { CHANNEL_STREAM_EVENTS, USER_STREAM_EVENTS } from '../realtime/events.js';
