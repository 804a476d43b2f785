import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, currentUser, preload, whenSignedOut } from "./api.js";
import { Alerts } from "./pages/alerts.jsx";
import { Archive } from "./pages/archive.jsx";
import { Account } from "./pages/account.jsx";
import { Catalog } from "./pages/catalog.jsx";
import { Live } from "./pages/live.jsx";
import { Login } from "./pages/login.jsx";
import { Mev } from "./pages/mev.jsx";
import { Ops } from "./pages/ops.jsx";
import { Rules } from "./pages/rules.jsx";
import { Sessions } from "./pages/sessions.jsx";
import { TxView, viewPath } from "./pages/txview.jsx";
import { WhatIf } from "./pages/whatif.jsx";

/** The hash route: "#/session/ID?tx=0&frame=calls[0]" → {parts: ["session", "ID"], query}. */
function route() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

const PAGES = [
  ["exploits", "Exploits"],
  ["sessions", "Sessions"],
  ["whatif", "What-if"],
  ["live", "Live"],
  ["mev", "MEV"],
  ["archive", "Archive"],
  ["alerts", "Alerts"],
  ["rules", "Rules"],
  ["ops", "Operations"],
];

function useTheme() {
  const [theme, setTheme] = useState(localStorage.getItem("tm-theme") || "dark");
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("tm-theme", theme);
  }, [theme]);
  return [theme, () => setTheme(theme === "dark" ? "light" : "dark")];
}

function App() {
  const [where, setWhere] = useState(route());
  const [me, setMe] = useState(undefined);
  const [theme, toggleTheme] = useTheme();
  useEffect(() => {
    const changed = () => setWhere(route());
    addEventListener("hashchange", changed);
    whenSignedOut(() => setMe(null));
    currentUser().then(setMe, () => setMe(null));
    return () => removeEventListener("hashchange", changed);
  }, []);
  if (me === undefined) return <p class="muted pad">Loading…</p>;
  if (me === null) return <Login onIn={(user) => setMe(user)} />;
  const [page = "exploits", ...rest] = where.parts;
  const logout = async () => {
    await api("/api/console/logout", { method: "POST" }).catch(() => {});
    setMe(null);
  };
  return (
    <div class="shell">
      <header class="top">
        <strong class="brand">Time Machine</strong>
        <nav>
          {PAGES.map(([id, label]) => (
            <a href={`#/${id}`} class={page === id ? "active" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <button class="ghost" onClick={toggleTheme} title="Switch theme" aria-label="Switch theme">
          {theme === "dark" ? "☀" : "☾"}
        </button>
        <a class="who" data-role={me.role} href="#/account">
          {me.username} · {me.role}
        </a>
        <button class="ghost" onClick={logout}>
          Log out
        </button>
      </header>
      <main>
        {page === "exploits" && <Catalog me={me} />}
        {page === "sessions" && <Sessions me={me} />}
        {page === "session" && <TxView id={rest[0]} query={where.query} me={me} />}
        {page === "whatif" && <WhatIf me={me} query={where.query} />}
        {page === "live" && <Live me={me} />}
        {page === "mev" && <Mev />}
        {page === "archive" && <Archive me={me} />}
        {page === "alerts" && <Alerts me={me} />}
        {page === "ops" && <Ops me={me} />}
        {page === "account" && <Account me={me} />}
        {page === "rules" && <Rules me={me} />}
      </main>
    </div>
  );
}

// A transaction view's link: fetch its (megabytes of) data alongside the session check.
const opened = route();
if (opened.parts[0] === "session" && opened.parts[1]) preload(viewPath(opened.parts[1], opened.query));
render(<App />, document.getElementById("app"));
