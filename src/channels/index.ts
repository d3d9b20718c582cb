// Channel providers (DESIGN §4.5, §6): what the engine sends through. See README.md in this folder.
export { CHANNEL_CODE, CHANNEL_CODES, type ChannelCode } from './codes.js';
export { classifyHttpFailure, parseRetryAfter } from './http-request.js';
export {
  checkProviderConfig,
  createProvider,
  ProviderConfigError,
  type ChannelProvider,
  type OutgoingMessage,
  type ProviderOptions,
  type RenderedForChannel,
  type SendResult,
} from './provider.js';
export { classifySmtpError, listUnsubscribeHeaders, messageIdFor } from './smtp.js';
export { parseSubscription, pushTopicFor, type PushSubscriptionJson } from './web-push.js';
export { SIGNATURE_HEADER, signWebhookBody, verifyWebhookSignature, type WebhookVerification } from './webhook-signature.js';
