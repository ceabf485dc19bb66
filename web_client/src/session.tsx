import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiClient, ApiError, browserTokenStore, type User } from "./api";
import type { SharedTokenStore } from "./api/tokenStore";

interface SessionValue {
  api: ApiClient;
  loggedIn: boolean;
  user: User | null;
  notice: string | null;
  setNotice: (notice: string | null) => void;
  signedIn: () => void;
  logOut: () => Promise<void>;
  ended: () => void;
  reloadUser: () => Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

// What other tabs need to know of the profile: a change (verified elsewhere, a new plan) makes
// them read it again. Writing the same value fires no event, so tabs never echo each other.
const PROFILE_KEY = "atelier.profile";

function announceProfile(user: User) {
  try {
    window.localStorage.setItem(PROFILE_KEY, JSON.stringify({ id: user.id, verified: user.verified, tier: user.tier }));
  } catch {
    // Blocked storage: other tabs catch up when they are next shown.
  }
}

export function SessionProvider({ api: injected, store: injectedStore, children }: {
  api?: ApiClient;
  /** The session's shared store; the browser's localStorage unless a test brings its own. */
  store?: SharedTokenStore;
  children: ReactNode;
}) {
  const [notice, setNotice] = useState<string | null>(null);
  const [user, setUser] = useState<User | null>(null);
  // A test brings its own client (and a store, where it follows other tabs); the browser's
  // session lives in localStorage.
  const store = useMemo(() => injectedStore ?? (injected ? null : browserTokenStore()), [injected, injectedStore]);
  const api = useMemo(
    () =>
      injected ??
      new ApiClient({
        store: store ?? browserTokenStore(),
        onSessionEnded: () => {
          setNotice("Your session has ended. Please log in again.");
          setLoggedIn(false);
        },
      }),
    [injected, store],
  );
  const [loggedIn, setLoggedIn] = useState<boolean>(() => api.isLoggedIn());

  const reloadUser = useCallback(async () => {
    try {
      const me = await api.me();
      setUser(me);
      announceProfile(me);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) setUser(null);
    }
  }, [api]);

  useEffect(() => {
    if (loggedIn) void reloadUser();
    else setUser(null);
  }, [loggedIn, reloadUser]);

  // Another tab logged in or out: follow it, so every tab shows the same session. (A rotated
  // refresh token changes nothing here.)
  useEffect(() => store?.subscribe(() => {
    const now = api.isLoggedIn();
    if (now === loggedIn) return;
    setNotice(now ? null : "You have logged out in another tab.");
    setLoggedIn(now);
  }), [store, api, loggedIn]);

  // The profile changes outside this tab: another tab announces it; a verification link opened
  // in another browser is caught when this tab is shown again.
  useEffect(() => {
    if (!loggedIn) return;
    const onProfile = (event: StorageEvent) => {
      if (event.key === PROFILE_KEY) void reloadUser();
    };
    const onShown = () => {
      if (document.visibilityState === "visible") void reloadUser();
    };
    window.addEventListener("storage", onProfile);
    document.addEventListener("visibilitychange", onShown);
    return () => {
      window.removeEventListener("storage", onProfile);
      document.removeEventListener("visibilitychange", onShown);
    };
  }, [loggedIn, reloadUser]);

  const value = useMemo<SessionValue>(
    () => ({
      api,
      loggedIn,
      user,
      notice,
      setNotice,
      reloadUser,
      signedIn: () => {
        setNotice(null);
        setLoggedIn(true);
      },
      ended: () => setLoggedIn(api.isLoggedIn()),
      logOut: async () => {
        await api.logout();
        setNotice("You have logged out.");
        setLoggedIn(false);
      },
    }),
    [api, loggedIn, user, notice, reloadUser],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside <SessionProvider>");
  return value;
}
