// The HTML body of a held message, made safe to look at. Three layers:
//  1. sanitize-html keeps formatting only: no scripts, event handlers, forms, frames, objects,
//     meta/base/link, SVG or MathML; links lose their address (they cannot be followed from here);
//     pictures are placeholders unless the reviewer asks, and even then only pictures carried in
//     the message itself (cid:) are shown, as data: URIs. Pictures on the internet never load.
//  2. Styles that could fetch anything (url(), @import, image-set(), escapes, expression()) are
//     dropped, whole.
//  3. The page is served under its own CSP (default-src 'none'; style-src 'unsafe-inline';
//     img-src data:; sandbox) inside <iframe sandbox>: even if something slipped through 1 and 2,
//     nothing runs and nothing loads.
import sanitizeHtml from 'sanitize-html';
import type { DisplayAttachment } from './mail.ts';

export const VIEWER_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox";

const TEXT_TAGS = [
  'div', 'span', 'p', 'br', 'hr', 'b', 'strong', 'i', 'em', 'u', 's', 'strike', 'del', 'ins', 'sub', 'sup', 'small', 'big',
  'font', 'center', 'blockquote', 'q', 'cite', 'code', 'pre', 'tt', 'kbd', 'samp', 'var', 'abbr', 'address', 'mark',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'table', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th', 'caption', 'colgroup', 'col',
  'a', 'img', 'style', 'article', 'section', 'header', 'footer', 'aside', 'nav', 'main', 'figure', 'figcaption',
];

const LAYOUT_ATTRIBUTES = ['style', 'class', 'align', 'valign', 'width', 'height', 'bgcolor', 'color', 'border', 'cellpadding', 'cellspacing', 'colspan', 'rowspan', 'dir', 'lang', 'title', 'face', 'size', 'span', 'start', 'type'];

/** CSS that could make the viewer fetch something, or hide a fetch from these checks. */
export function unsafeCss(css: string): boolean {
  const s = css.toLowerCase();
  return s.includes('\\') || s.includes('url(') || s.includes('image(') || s.includes('image-set(') || s.includes('@import') ||
    s.includes('expression') || s.includes('behavior') || s.includes('binding') || s.includes('javascript:') || s.includes('src(') ||
    s.includes('&#') || s.includes('@namespace');
}

const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp']);
const MAX_INLINE_IMAGE_BYTES = 5 * 1024 * 1024;

export interface ViewerOptions {
  /** Show the pictures carried inside the message (cid: parts). Remote pictures never load. */
  showPictures: boolean;
  attachments: DisplayAttachment[];
}

export interface ViewerResult { html: string; pictures: number; remotePictures: number; links: number }

export function sanitiseForViewer(body: string, opts: ViewerOptions): ViewerResult {
  const byCid = new Map<string, DisplayAttachment>();
  for (const a of opts.attachments) if (a.contentId) byCid.set(a.contentId.toLowerCase(), a);
  let pictures = 0;
  let remotePictures = 0;
  let links = 0;
  const keepStyle = (attribs: Record<string, string>): Record<string, string> => {
    if (attribs.style !== undefined && unsafeCss(attribs.style)) delete attribs.style;
    return attribs;
  };
  const clean = sanitizeHtml(body, {
    allowedTags: TEXT_TAGS,
    allowVulnerableTags: true, // <style> is allowed, and filtered below
    disallowedTagsMode: 'discard',
    nonTextTags: ['script', 'textarea', 'option', 'noscript', 'title', 'xml', 'template', 'iframe', 'object', 'svg', 'math', 'select', 'button'],
    allowedAttributes: { '*': LAYOUT_ATTRIBUTES, img: [...LAYOUT_ATTRIBUTES, 'src', 'alt'], a: [...LAYOUT_ATTRIBUTES, 'name'] },
    allowedSchemes: [],
    allowedSchemesByTag: { img: ['data'] },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'cite', 'action', 'background', 'poster'],
    allowProtocolRelative: false,
    parseStyleAttributes: false,
    exclusiveFilter: (frame) => frame.tag === 'style' && unsafeCss(frame.text),
    transformTags: {
      '*': (tagName, attribs) => ({ tagName, attribs: keepStyle(attribs) }),
      a: (_tagName, attribs) => {
        if (attribs.href !== undefined) links++;
        const { href: _drop, ...rest } = attribs;
        return { tagName: 'a', attribs: { ...keepStyle(rest), class: 'hm-link' } };
      },
      img: (_tagName, attribs): { tagName: string; attribs: Record<string, string>; text?: string } => {
        const src = (attribs.src ?? '').trim();
        const alt = attribs.alt ? `: ${attribs.alt.slice(0, 80)}` : '';
        if (src.toLowerCase().startsWith('cid:')) {
          const part = byCid.get(src.slice(4).toLowerCase());
          if (opts.showPictures && part && INLINE_IMAGE_TYPES.has(part.contentType.toLowerCase()) && part.content.length <= MAX_INLINE_IMAGE_BYTES) {
            pictures++;
            const { src: _src, ...rest } = attribs;
            return { tagName: 'img', attribs: { ...keepStyle(rest), src: `data:${part.contentType.toLowerCase()};base64,${part.content.toString('base64')}` } };
          }
          return { tagName: 'span', attribs: { class: 'hm-picture' }, text: `[picture${alt}]` };
        }
        remotePictures++;
        return { tagName: 'span', attribs: { class: 'hm-picture' }, text: `[picture from the internet, not loaded${alt}]` };
      },
    },
  });
  const doc = `<!doctype html><html><head><meta charset="utf-8"><style>
html{background:#fff;color:#0b0c0c}body{margin:12px;font-family:Arial,sans-serif;font-size:15px;line-height:1.4;overflow-wrap:anywhere}
.hm-link{color:#1d4f91;text-decoration:underline dotted;cursor:default}
.hm-picture{display:inline-block;border:1px dashed #505a5f;background:#f3f2f1;color:#383f43;font:13px Arial,sans-serif;padding:2px 6px;margin:1px}
img{max-width:100%;height:auto}
</style></head><body>${clean}</body></html>`;
  return { html: doc, pictures, remotePictures, links };
}
