// The sign-in page. Works without JavaScript; the form carries a one-time token that must match a
// cookie set with it (login CSRF), and errors never say whether the name or the password was wrong.
import { html } from '../html.ts';
import { formatTime, page } from '../layout.ts';

export interface SignInView {
  schoolName: string;
  timeZone: string;
  token: string;
  username?: string;
  next?: string;
  error?: 'wrong' | 'locked' | 'expired' | 'signed-out';
  lockedUntil?: Date;
}

export function signInPage(v: SignInView): string {
  const message = v.error === 'wrong'
    ? html`<div class="notice error" role="alert" id="signin-error"><p>The user name or password is not right. Check them and try again.</p></div>`
    : v.error === 'locked'
      ? html`<div class="notice error" role="alert" id="signin-error"><p>Too many failed attempts: this account is locked until ${v.lockedUntil ? formatTime(v.lockedUntil, v.timeZone) : 'later'}. Try again then, or ask IT to reset the password.</p></div>`
      : v.error === 'expired'
        ? html`<div class="notice warn" role="status"><p>Your session ended. Please sign in again.</p></div>`
        : v.error === 'signed-out'
          ? html`<div class="notice" role="status"><p>You have signed out.</p></div>`
          : '';
  return page({
    title: 'Sign in',
    user: null,
    schoolName: v.schoolName,
    body: html`<div class="signin">
<h1>Sign in</h1>
<p class="muted">Held email and the incident register for ${v.schoolName === 'the school' ? 'your school' : v.schoolName}.</p>
${message}
<form method="post" action="/sign-in" novalidate>
<input type="hidden" name="_signin" value="${v.token}">
${v.next ? html`<input type="hidden" name="next" value="${v.next}">` : ''}
<div><label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${v.username ?? ''}"${v.error ? html` aria-describedby="signin-error"` : ''}></div>
<div><label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required></div>
<div><button class="btn" type="submit">Sign in</button></div>
</form>
<p class="hint">Forgotten your password? Ask IT to reset it (<code>hallmonitor users reset</code>).</p>
</div>`,
  });
}
