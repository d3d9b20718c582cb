import { describe, expect, it } from 'vitest';
import { compileTemplateSet, hasUnsubscribeLink } from '../../src/templates/index.js';
import { demoModel } from '../support/demo-model.js';

function email(html: string | undefined, text?: string) {
  const r = compileTemplateSet({ email: { subject: 'Hi {{unsubscribe_url}}', ...(html !== undefined ? { html } : {}), ...(text !== undefined ? { text } : {}) } }, demoModel);
  if (!r.templateSet?.email) throw new Error(JSON.stringify(r.diagnostics));
  return r.templateSet.email;
}

describe('hasUnsubscribeLink', () => {
  it('finds unsubscribe_url in html or text, in any position', () => {
    expect(hasUnsubscribeLink(email('<a href="{{unsubscribe_url}}">x</a>'))).toBe(true);
    expect(hasUnsubscribeLink(email(undefined, 'Stop: {{link unsubscribe_url}}'))).toBe(true);
    expect(hasUnsubscribeLink(email('{{#if unsubscribe_url}}<a href="{{@root.unsubscribe_url}}">x</a>{{/if}}'))).toBe(true);
    expect(hasUnsubscribeLink(email('{{#each (recent "cart_add" 1)}}{{../unsubscribe_url}}{{/each}}'))).toBe(true);
    expect(hasUnsubscribeLink(email('no link', '{{unsubscribe_url}}'))).toBe(true);
  });

  it('is false when only the subject, a comment or plain text mention it', () => {
    expect(hasUnsubscribeLink(email('<p>{{first_name}}</p>'))).toBe(false);
    expect(hasUnsubscribeLink(email('{{!-- {{unsubscribe_url}} --}}<p>unsubscribe_url</p>', 'x'))).toBe(false);
    expect(hasUnsubscribeLink(email('{{preferences_url}}'))).toBe(false);
  });
});
