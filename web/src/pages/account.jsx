import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { Table } from "../components.jsx";

/** Who you are, and your API keys: list, create (the key is shown once), revoke. */
export function Account({ me }) {
  const [session, setSession] = useState(null);
  const [keys, setKeys] = useState([]);
  const [created, setCreated] = useState(null);
  const [error, setError] = useState("");
  const load = () => api("/api/auth/api-keys").then(setKeys, (failure) => setError(failure.message));
  useEffect(() => {
    api("/api/console/session").then(setSession, () => {});
    load();
  }, []);
  const scopes = session?.me?.scopes ?? [];
  const create = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError("");
    try {
      setCreated(await api("/api/auth/api-keys", { method: "POST", body: { name: form.get("name"), scopes: form.getAll("scope") } }));
      load();
    } catch (failure) {
      setError(failure.message);
    }
  };
  const revoke = async (key) => {
    await api(`/api/auth/api-keys/${key.id}`, { method: "DELETE" }).catch((failure) => setError(failure.message));
    load();
  };
  return (
    <section>
      <h2>Account</h2>
      <p>
        {me.username} · role <strong>{me.role}</strong>
      </p>
      <div class="card">
        <h3>API keys</h3>
        <Table
          columns={[
            ["Name", (k) => k.name],
            ["Prefix", (k) => <code>{k.prefix}</code>],
            ["Scopes", (k) => k.scopes.join(", ")],
            ["Last used", (k) => (k.last_used_at ? new Date(k.last_used_at).toLocaleString() : "never")],
            ["", (k) => (k.revoked_at ? "revoked" : <button class="ghost" onClick={() => revoke(k)}>Revoke</button>)],
          ]}
          rows={keys}
          empty="No API key."
        />
        <form class="filters" onSubmit={create}>
          <input name="name" placeholder="key name" aria-label="Key name" required />
          {scopes.map((scope) => (
            <label>
              <input type="checkbox" name="scope" value={scope} /> {scope}
            </label>
          ))}
          <button type="submit">Create key</button>
        </form>
        {created && (
          <p class="new-key">
            New key (shown this once): <code>{created.key}</code>
          </p>
        )}
        {error && <p class="error">{error}</p>}
      </div>
    </section>
  );
}
