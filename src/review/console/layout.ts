// The page shell every console page shares: landmarks (header/nav/main/footer), a skip link,
// the signed-in user and a sign-out form, and formatting helpers used across pages.
import { ruleDefinition } from '../../decide/rules.ts';
import type { IncidentStatus } from '../../store/schema.ts';
import { ROLE_TITLES } from '../users.ts';
import type { SessionUser } from './auth.ts';
import { html, type Html, type HtmlValue } from './html.ts';
import { can } from './roles.ts';

export interface PageOptions {
  title: string;
  user: SessionUser | null;
  schoolName: string;
  /** Which nav item is current. */
  active?: 'queue' | 'register' | 'report' | 'system';
  body: HtmlValue;
}

/** Which school (or the trust) the signed-in user is looking at; the service's name before sign-in. */
function brandName(o: PageOptions): string {
  const name = o.user?.scopeName ?? o.schoolName;
  return name === 'the school' ? 'outbound email checks' : name;
}

export function page(o: PageOptions): string {
  const nav: Array<{ key: PageOptions['active']; href: string; label: string; show: boolean }> = o.user
    ? [
        { key: 'queue', href: '/queue', label: 'Held mail', show: can(o.user.role, 'queue') },
        { key: 'register', href: '/register', label: 'Incident register', show: can(o.user.role, 'register') },
        { key: 'report', href: '/report', label: "Governors' report", show: can(o.user.role, 'register') },
        { key: 'system', href: '/system', label: 'System health', show: can(o.user.role, 'health') },
      ]
    : [];
  return '<!doctype html>' + html`<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${o.title} – Hallmonitor</title>
<link rel="stylesheet" href="/static/console.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="top">
<div class="bar">
<a class="brand" href="/">Hallmonitor<span>${brandName(o)}</span></a>
${o.user ? html`<nav aria-label="Main"><ul>${nav.filter((n) => n.show).map((n) => html`<li><a href="${n.href}"${o.active === n.key ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}</ul></nav>
<div class="who"><span>${o.user.displayName} <span class="visually-hidden">signed in as</span>(${ROLE_TITLES[o.user.role]})</span>
<form method="post" action="/sign-out"><input type="hidden" name="_csrf" value="${o.user.csrf}"><button type="submit">Sign out</button></form></div>` : ''}
</div>
</header>
<main id="main" tabindex="-1">
${o.body}
</main>
<footer class="foot">Hallmonitor checks the school's outgoing email against its data-protection policy. Everything you open or decide here is recorded in the incident's history.</footer>
</body>
</html>`.value;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per time zone and style, made once: building an Intl.DateTimeFormat is slow. */
export function formatter(timeZone: string, style: 'time' | 'date' | 'day' | 'clock'): Intl.DateTimeFormat {
  const key = `${timeZone} ${style}`;
  let f = formatters.get(key);
  if (!f) {
    f = style === 'time'
      ? new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      : style === 'date'
        ? new Intl.DateTimeFormat('en-GB', { timeZone, day: 'numeric', month: 'short', year: 'numeric' })
        : style === 'day'
          ? new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
          : new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(key, f);
  }
  return f;
}

export function formatTime(d: Date, timeZone: string): string {
  return formatter(timeZone, 'time').format(d);
}

export function time(d: Date | null | undefined, timeZone: string): Html {
  if (!d) return html`<span class="muted">–</span>`;
  return html`<time datetime="${d.toISOString()}">${formatTime(d, timeZone)}</time>`;
}

export function dateOnly(d: Date, timeZone: string): string {
  return formatter(timeZone, 'date').format(d);
}

export const STATUS_TITLES: Record<IncidentStatus, string> = {
  open: 'Waiting for a decision',
  released: 'Released',
  rejected: 'Rejected',
  'reported-to-ico': 'Reported to the ICO',
  'closed-no-breach': 'Closed – no breach',
};

export function statusBadge(s: IncidentStatus): Html {
  return html`<span class="badge st-${s}">${STATUS_TITLES[s] ?? s}</span>`;
}

export function severityBadge(n: number): Html {
  const word = n >= 5 ? 'serious' : n === 4 ? 'high' : n === 3 ? 'medium' : 'low';
  return html`<span class="badge sev-${Math.max(0, Math.min(5, n))}">Severity ${n} <span class="visually-hidden">of 5, </span>(${word})</span>`;
}

export function ruleTitle(id: string): string {
  return ruleDefinition(id)?.title ?? id;
}

/** "Subject line", "Attachment report.xlsx", "File name of attachment photo.jpg". */
export function whereTitle(where: string): string {
  if (where === 'subject') return 'Subject line';
  if (where === 'body') return 'Message text';
  if (where === 'body:html') return 'Message text (formatted version)';
  if (where === 'body:header-lines') return 'Message text (lines among its header fields)';
  if (where === 'body:preamble') return 'Message text (before its first part)';
  if (where.startsWith('filename:attachment:')) return `File name of attachment ${where.slice('filename:attachment:'.length)}`;
  if (where.startsWith('filename:')) return `File name of ${where.slice('filename:'.length)}`;
  if (where.startsWith('attachment:')) return `Attachment ${where.slice('attachment:'.length)}`;
  if (where === 'recipients' || where === 'envelope') return 'Recipients';
  return where;
}

/** An email address that may wrap before the @ rather than mid-word. */
export function address(a: string): Html {
  const at = a.lastIndexOf('@');
  return at > 0 ? html`${a.slice(0, at)}<wbr>${a.slice(at)}` : html`${a}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** "41 h 12 min" */
export function duration(ms: number, opts: { days?: boolean } = {}): string {
  const m = Math.max(0, Math.round(ms / 60_000));
  const h = Math.floor(m / 60);
  if (h >= 48 && opts.days !== false) return `${Math.floor(h / 24)} days ${h % 24} h`;
  return h ? `${h} h ${m % 60} min` : `${m} min`;
}

export function errorPage(user: SessionUser | null, schoolName: string, title: string, message: HtmlValue): string {
  return page({ title, user, schoolName, body: html`<h1>${title}</h1><div class="notice error" role="alert"><p>${message}</p></div><p><a href="/">Back to the start page</a></p>` });
}
