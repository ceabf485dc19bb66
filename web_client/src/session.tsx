import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiClient, ApiError, sessionTokenStore, type User } from "./api";

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

export function SessionProvider({ api: injected, children }: { api?: ApiClient; children: ReactNode }) {
  const [notice, setNotice] = useState<string | null>(null);
  const [loggedIn, setLoggedIn] = useState<boolean>(() => injected?.isLoggedIn() ?? sessionTokenStore().get() !== null);
  const [user, setUser] = useState<User | null>(null);
  const api = useMemo(
    () =>
      injected ??
      new ApiClient({
        store: sessionTokenStore(),
        onSessionEnded: () => {
          setNotice("Your session has ended. Please log in again.");
          setLoggedIn(false);
        },
      }),
    [injected],
  );

  const reloadUser = useCallback(async () => {
    try {
      setUser(await api.me());
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) setUser(null);
    }
  }, [api]);

  useEffect(() => {
    if (loggedIn) void reloadUser();
    else setUser(null);
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
