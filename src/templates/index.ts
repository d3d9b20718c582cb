// Public API of templates (DESIGN §4.4). Config, plan and engine import from here only.
export { TEMPLATE_CODE, TEMPLATE_CODES, type TemplateCode } from './codes.js';
export {
  compileTemplate,
  parseTemplate,
  type CompiledHandlebars,
  type CompileTemplateResult,
  type EscapeMode,
  type ParseTemplateResult,
  type TemplateAst,
} from './compile-template.js';
export { checkTemplate, type CheckTemplateOptions, type CheckTemplateResult, type DerivedName, type TemplateUsage } from './check-variables.js';
export { HELPERS, RECENT_MAX, findHelper, formatDate, formatMoney, type HelperSpec } from './helpers.js';
export { countSmsSegments, SMS_LIMITS, GSM7_BASIC, GSM7_EXTENSION, type SmsCount, type SmsEncoding } from './sms-segments.js';
export type { DerivedValues, RecentEvent, RenderContext } from './template-data.js';
export {
  TemplateRenderError,
  compileTemplateSet,
  hasChannel,
  mergeUsage,
  renderMessage,
  type ChannelType,
  type CompiledEmail,
  type CompiledJson,
  type CompiledPush,
  type CompiledTemplateSet,
  type CompiledText,
  type CompileTemplateSetOptions,
  type CompileTemplateSetResult,
  type JsonTemplate,
  type JsonValue,
  type RenderedByChannel,
  type RenderedEmail,
  type RenderedMessage,
  type RenderedPush,
  type RenderedSms,
  type RenderedWebhook,
  type TemplateDiagnostic,
  type TemplateSetInput,
  type TemplateSource,
  type TemplateText,
} from './template.js';
export { astMentions, hasUnsubscribeLink } from './unsubscribe.js';
