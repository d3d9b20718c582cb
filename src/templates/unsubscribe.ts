// Marketing email must carry an unsubscribe link (DESIGN §4.4); the config layer rejects one whose html and
// text never mention `unsubscribe_url` (HER3012). "Mention" is anywhere in the AST — printed, passed to a
// helper, tested in a block, reached as @root.unsubscribe_url or ../unsubscribe_url — but not in a comment.
import type { TemplateAst } from './compile-template.js';
import type { CompiledEmail } from './template.js';

export function hasUnsubscribeLink(email: CompiledEmail): boolean {
  return [email.html, email.text].some((t) => t !== undefined && astMentions(t.ast, 'unsubscribe_url'));
}

/** Whether any path expression in the template ends in `name`. */
export function astMentions(ast: TemplateAst, name: string): boolean {
  let found = false;
  const visit = (node: unknown): void => {
    if (found || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    const n = node as { type?: unknown; parts?: unknown; loc?: unknown };
    if (n.type === 'CommentStatement' || n.type === 'ContentStatement') return;
    if (n.type === 'PathExpression' && Array.isArray(n.parts) && n.parts[n.parts.length - 1] === name) {
      found = true;
      return;
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'loc') visit(value);
  };
  visit(ast);
  return found;
}
