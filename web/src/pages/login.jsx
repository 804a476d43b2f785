import { useState } from "preact/hooks";
import { api, currentUser } from "../api.js";

export function Login({ onIn }) {
  const [error, setError] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError("");
    try {
      await api("/api/console/login", {
        method: "POST",
        body: { username: form.get("username"), password: form.get("password") },
      });
      onIn(await currentUser());
    } catch (failure) {
      setError(failure.message);
    }
  };
  return (
    <form class="login card" onSubmit={submit}>
      <h1>Time Machine</h1>
      <label>
        Username <input name="username" autocomplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autocomplete="current-password" required />
      </label>
      <button type="submit">Log in</button>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
