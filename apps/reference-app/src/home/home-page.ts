import { createHash } from 'node:crypto';

/** What the page shows of the logged-in user. */
export interface HomePageUser {
  readonly username: string;
  readonly displayName: string | null;
  readonly email: string | null;
  /** Effective local groups. */
  readonly groups: readonly string[];
}

export interface HomePageView {
  /** null: nobody is logged in. */
  readonly user: HomePageUser | null;
  /** The logout endpoint's path, or null when the app has none (no sessions, no logout URL). */
  readonly logoutPath: string | null;
}

/**
 * The page's only style, inline and allowed by its hash: the page loads nothing else, and the policy below
 * allows no script at all.
 */
const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}' +
  'h1{font-size:1.5rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}' +
  'dd{margin:0}ul{margin:0;padding:0;list-style:none}button{font:inherit;padding:.4rem 1rem;cursor:pointer}' +
  '.muted{color:#666}';
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** Identity values are attacker-influenced text (the proxy passes on what the user typed at the provider). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * The headers the page is sent with. `logoutTarget` is where the logout endpoint redirects (AUTH_PROXY_LOGOUT_URL):
 * browsers apply `form-action` to the redirects a form submission follows, so the sign-out's origin must be
 * allowed beside the page's own, or the browser stops at the 303 and never reaches the proxy's sign-out.
 */
export function homePageHeaders(logoutTarget: string | null): Record<string, string> {
  const formAction = ["'self'"];
  const targetOrigin = logoutTarget === null ? null : absoluteOrigin(logoutTarget);
  if (targetOrigin !== null) formAction.push(targetOrigin);
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': [
      "default-src 'none'",
      `style-src ${STYLE_HASH}`,
      `form-action ${formAction.join(' ')}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'Cache-Control': 'no-store',
    // No Referrer-Policy of no-referrer: with it browsers send `Origin: null` on the logout POST, which the
    // cross-site check (Origin, for browsers without Sec-Fetch-Site) would refuse.
    'X-Content-Type-Options': 'nosniff',
  };
}

/** `https://auth.example.com/logout?x` -> `https://auth.example.com`; null for a path on this host. */
function absoluteOrigin(target: string): string | null {
  if (target.startsWith('/')) return null;
  const url = new URL(target);
  return url.origin;
}

/** The whole page; every value from the user is escaped here and nowhere else. */
export function renderHomePage(view: HomePageView): string {
  const body = view.user === null ? anonymousSection() : userSection(view.user, view.logoutPath);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nestjs-trusted-header reference app</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function anonymousSection(): string {
  return `<h1>Not logged in</h1>
<p class="muted">Sign in through the authenticating proxy to see who you are here.</p>`;
}

function userSection(user: HomePageUser, logoutPath: string | null): string {
  const name = user.displayName ?? user.username;
  const groups =
    user.groups.length === 0
      ? '<span class="muted">none</span>'
      : `<ul>${user.groups.map((group) => `<li>${escapeHtml(group)}</li>`).join('')}</ul>`;
  const logout =
    logoutPath === null
      ? '<p class="muted">To log out, sign out at the authenticating proxy.</p>'
      : `<form method="post" action="${escapeHtml(logoutPath)}"><button type="submit">Log out</button></form>`;
  return `<h1>Logged in as <span id="display-name">${escapeHtml(name)}</span></h1>
<dl>
<dt>Username</dt><dd id="username">${escapeHtml(user.username)}</dd>
<dt>Email</dt><dd id="email">${user.email === null ? '<span class="muted">none</span>' : escapeHtml(user.email)}</dd>
<dt>Groups</dt><dd id="groups">${groups}</dd>
</dl>
${logout}`;
}
