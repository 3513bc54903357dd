// A small logic-less template language for the emails, so a school can edit the wording without
// touching code: `{{name}}` (escaped for HTML in .html templates), `{{{name}}}` (as is),
// `{{#list}}…{{/list}}` (repeat for each item, or show when true), `{{^name}}…{{/name}}` (show when
// false or empty), `{{! comment }}`, `{{.}}` (the current item), dotted names (`rule.title`).
// A section tag alone on its line takes the line with it. Templates are trusted configuration;
// the values put into them (redacted evidence) never pass through a regular expression.

type Node =
  | { t: 'text'; s: string }
  | { t: 'var'; name: string; raw: boolean }
  | { t: 'section'; name: string; inverted: boolean; children: Node[] };

export class TemplateError extends Error {}

export interface Template {
  render(data: unknown, escape: (s: string) => string): string;
}

export function compileTemplate(source: string, name: string): Template {
  // Standalone section/comment tags: drop the whitespace and newline around them.
  const text = source.replace(/^[ \t]*(\{\{[#^/!][^}]*\}\})[ \t]*\r?\n/gm, '$1');
  const tag = /\{\{(\{)?\s*([#^/!]?)\s*([^}]*?)\s*\}?\}\}/g;
  const root: Node[] = [];
  const stack: Array<{ name: string; children: Node[] }> = [{ name: '', children: root }];
  let last = 0;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    const top = stack[stack.length - 1];
    if (m.index > last) top.children.push({ t: 'text', s: text.slice(last, m.index) });
    last = tag.lastIndex;
    const [, triple, kind, ident] = m;
    if (kind === '!') continue;
    if (kind === '#' || kind === '^') {
      const node: Node = { t: 'section', name: ident, inverted: kind === '^', children: [] };
      top.children.push(node);
      stack.push({ name: ident, children: node.children });
    } else if (kind === '/') {
      if (stack.length === 1 || top.name !== ident) throw new TemplateError(`${name}: {{/${ident}}} does not close ${stack.length > 1 ? `{{#${top.name}}}` : 'any section'}`);
      stack.pop();
    } else {
      if (!ident) throw new TemplateError(`${name}: empty {{ }}`);
      top.children.push({ t: 'var', name: ident, raw: !!triple });
    }
  }
  if (stack.length > 1) throw new TemplateError(`${name}: {{#${stack[stack.length - 1].name}}} is never closed`);
  if (last < text.length) root.push({ t: 'text', s: text.slice(last) });

  return {
    render(data, escape) {
      const out: string[] = [];
      walk(root, [data], escape, out);
      return out.join('');
    },
  };
}

function lookup(stack: unknown[], name: string): unknown {
  if (name === '.') return stack[stack.length - 1];
  const [first, ...rest] = name.split('.');
  for (let i = stack.length - 1; i >= 0; i--) {
    const ctx = stack[i];
    if (ctx && typeof ctx === 'object' && first in (ctx as Record<string, unknown>)) {
      let v: unknown = (ctx as Record<string, unknown>)[first];
      for (const part of rest) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
      return v;
    }
  }
  return undefined;
}

function walk(nodes: Node[], stack: unknown[], escape: (s: string) => string, out: string[]): void {
  for (const n of nodes) {
    if (n.t === 'text') out.push(n.s);
    else if (n.t === 'var') {
      const v = lookup(stack, n.name);
      if (v === undefined || v === null || v === false) continue;
      const s = String(v);
      out.push(n.raw ? s : escape(s));
    } else {
      const v = lookup(stack, n.name);
      const empty = v === undefined || v === null || v === false || v === '' || (Array.isArray(v) && v.length === 0);
      if (n.inverted) {
        if (empty) walk(n.children, stack, escape, out);
      } else if (!empty) {
        if (Array.isArray(v)) for (const item of v) walk(n.children, [...stack, item], escape, out);
        else walk(n.children, typeof v === 'object' ? [...stack, v] : stack, escape, out);
      }
    }
  }
}

/**
 * HTML escaping by character (no regular expression over message-derived text): & < > " ' and
 * NUL (as U+FFFD). The one escaper for notices and the console.
 */
export function escapeHtml(text: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    let rep: string | undefined;
    switch (text.charCodeAt(i)) {
      case 38: rep = '&amp;'; break;
      case 60: rep = '&lt;'; break;
      case 62: rep = '&gt;'; break;
      case 34: rep = '&quot;'; break;
      case 39: rep = '&#39;'; break;
      case 0: rep = '\ufffd'; break;
      default: break;
    }
    if (rep !== undefined) {
      if (i > last) out += text.slice(last, i);
      out += rep;
      last = i + 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Plain text: values are inserted as they are, minus control characters other than newline. */
export function plainText(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out += c < 0x20 && c !== 0x0a ? ' ' : ch;
  }
  return out;
}
