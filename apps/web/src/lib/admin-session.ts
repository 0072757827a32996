/**
 * The admin's sign-in, one for the whole app: the landing page, the dashboard and every tab of them. The token lives
 * in this tab (sessionStorage), in this browser when the admin asks to be remembered (localStorage), and is handed
 * to the app's other open tabs when they ask (BroadcastChannel), so a tab opened from a hospital tab's "Dashboard"
 * link does not ask again; it ends when the last tab closes (unless remembered) or when any tab signs out.
 */
import { useCallback, useEffect, useState } from 'react';

const TOKEN_KEY = 'facmic.admin.token';
const CHANNEL = 'facmic-admin-session';
/** How long a new tab waits for another tab's answer before it shows the sign-in form. */
const ASK_TIMEOUT_MS = 400;

type SessionMessage = { readonly type: 'ask' } | { readonly type: 'token'; readonly token: string } | { readonly type: 'signed-out' };

function isSessionMessage(value: unknown): value is SessionMessage {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  const { type } = value;
  return type === 'ask' || type === 'signed-out' || (type === 'token' && typeof (value as { token?: unknown }).token === 'string');
}

function openChannel(): BroadcastChannel | null {
  return typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);
}

/** The token this tab holds: from the address (`#token=…`, then removed from it), this tab, or this browser. */
export function readAdminToken(): string | null {
  const hash = new URLSearchParams(window.location.hash.slice(1));
  const fromLink = hash.get('token');
  if (fromLink !== null && fromLink !== '') {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    hash.delete('token');
    const rest = hash.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${rest ? `#${rest}` : ''}`);
    return fromLink;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
}

function keepToken(token: string, remember: boolean): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  if (remember) localStorage.setItem(TOKEN_KEY, token);
}

function dropToken(token: string | null): void {
  sessionStorage.removeItem(TOKEN_KEY);
  if (token === null || localStorage.getItem(TOKEN_KEY) === token) localStorage.removeItem(TOKEN_KEY);
}

/** Asks the app's other open tabs for their token; null when none answers in time. */
export function askOtherTabs(timeoutMs = ASK_TIMEOUT_MS): Promise<string | null> {
  const channel = openChannel();
  if (!channel) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (token: string | null) => {
      clearTimeout(timer);
      channel.close();
      resolve(token);
    };
    const timer = setTimeout(() => {
      done(null);
    }, timeoutMs);
    channel.onmessage = (event: MessageEvent<unknown>) => {
      if (isSessionMessage(event.data) && event.data.type === 'token') done(event.data.token);
    };
    channel.postMessage({ type: 'ask' } satisfies SessionMessage);
  });
}

const signOutListeners = new Set<() => void>();

/**
 * Serves this tab's part of the shared session (the app mounts it once, on every page): answers other tabs that
 * ask for the token, and forgets it here when another tab signs out. Returns the function that stops it.
 */
export function shareAdminSession(): () => void {
  const channel = openChannel();
  if (!channel) return () => undefined;
  channel.onmessage = (event: MessageEvent<unknown>) => {
    if (!isSessionMessage(event.data)) return;
    if (event.data.type === 'ask') {
      const token = sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY);
      if (token !== null) channel.postMessage({ type: 'token', token } satisfies SessionMessage);
    } else if (event.data.type === 'signed-out') {
      dropToken(null);
      for (const listener of signOutListeners) listener();
    }
  };
  return () => {
    channel.close();
  };
}

export interface AdminSession {
  /** The admin token, or null when signed out. */
  readonly token: string | null;
  /** Asking the other tabs for their token (show nothing yet rather than the sign-in form). */
  readonly checking: boolean;
  /** Why the last token was refused, in words, or null. */
  readonly problem: string | null;
  readonly signIn: (token: string, remember?: boolean) => void;
  /** Signs out this tab and the app's other tabs. */
  readonly signOut: () => void;
  /** The coordinator refused the token: forgotten in this tab, with the sentence to show at the sign-in form. */
  readonly refused: (problem: string) => void;
}

export function useAdminSession(): AdminSession {
  const [token, setToken] = useState<string | null>(readAdminToken);
  const [checking, setChecking] = useState(token === null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (!checking) return;
    let cancelled = false;
    void askOtherTabs().then((shared) => {
      if (cancelled) return;
      if (shared !== null) {
        keepToken(shared, false);
        setToken(shared);
      }
      setChecking(false);
    });
    return () => {
      cancelled = true;
    };
  }, [checking]);

  useEffect(() => {
    const listener = () => {
      setToken(null);
      setProblem(null);
    };
    signOutListeners.add(listener);
    return () => {
      signOutListeners.delete(listener);
    };
  }, []);

  const signIn = useCallback((next: string, remember = false) => {
    keepToken(next, remember);
    setProblem(null);
    setToken(next);
  }, []);
  const signOut = useCallback(() => {
    dropToken(null);
    setToken(null);
    setProblem(null);
    const channel = openChannel();
    channel?.postMessage({ type: 'signed-out' } satisfies SessionMessage);
    channel?.close();
  }, []);
  const refused = useCallback((why: string) => {
    dropToken(sessionStorage.getItem(TOKEN_KEY));
    setToken(null);
    setProblem(why);
  }, []);
  return { token, checking: checking && token === null, problem, signIn, signOut, refused };
}
