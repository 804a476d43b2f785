import { useState } from "preact/hooks";
import { api, canWrite } from "../api.js";

const EXAMPLE_RULES = `rules:
  - id: big-transfer
    when: 'tx.value >= 10 ether'
    severity: high
`;
const EXAMPLE_EVENT = JSON.stringify(
  { stage: "pending", chain: "devnet", chain_id: 31337, tx: { from: "0x1111111111111111111111111111111111111111", to: "0x2222222222222222222222222222222222222222", value: "20000000000000000000" } },
  null,
  2,
);

const show = (value) => JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v), 2);

/** A rule document checked by the server (validate) and tried on an event (dry run). */
export function Rules({ me }) {
  const [document, setDocument] = useState(EXAMPLE_RULES);
  const [event, setEvent] = useState(EXAMPLE_EVENT);
  const [answer, setAnswer] = useState(null);
  if (!canWrite(me.role)) return <p class="muted">Validating and dry-running rules need the analyst role; you are {me.role}.</p>;
  const run = async (path, body) => {
    try {
      setAnswer({ ok: true, text: show(await api(path, { method: "POST", body })) });
    } catch (failure) {
      setAnswer({ ok: false, text: failure.message });
    }
  };
  const dryRun = () => {
    let parsed;
    try {
      parsed = JSON.parse(event);
    } catch (failure) {
      setAnswer({ ok: false, text: `the event is not JSON: ${failure.message}` });
      return;
    }
    run("/api/time-machine/rules/dry-run", { document, event: parsed });
  };
  return (
    <section>
      <h2>Rules</h2>
      <div class="grid two">
        <label class="card stack">
          Rule document (YAML or JSON)
          <textarea rows="14" spellcheck={false} aria-label="Rule document" value={document} onInput={(e) => setDocument(e.currentTarget.value)} />
        </label>
        <label class="card stack">
          Event to try them on (JSON)
          <textarea rows="14" spellcheck={false} aria-label="Event" value={event} onInput={(e) => setEvent(e.currentTarget.value)} />
        </label>
      </div>
      <div class="filters">
        <button onClick={() => run("/api/time-machine/rules/validate", { document })}>Validate</button>
        <button onClick={dryRun}>Dry run</button>
      </div>
      {answer && <pre class={`card rules-answer ${answer.ok ? "" : "error"}`} data-ok={String(answer.ok)}>{answer.text}</pre>}
    </section>
  );
}
