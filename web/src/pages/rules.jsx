import { useEffect, useState } from "preact/hooks";
import { api, canWrite, parseJson } from "../api.js";
import { Table } from "../components.jsx";
import { cell, pretty } from "../download.js";

const RULES = "/api/time-machine/rules";
const TEMPLATE = `rules:
  - id: large-transfer
    when: 'stage == "pending" and tx.value >= 1000000000000000000'
    severity: high
`;
const EVENT = { stage: "pending", chain: "devnet", chain_id: 31337, tx: { hash: null, from: null, to: null, value: 0, input: "0x" } };

/** `event` with the stage and fields of a transaction the monitor saw (the monitor's own
 * events add logs, simulation and findings when it has them). */
function withTx(event, record) {
  const { tx } = record;
  return {
    ...event,
    stage: record.status === "pending" ? "pending" : "mined",
    chain: tx.chain,
    tx: { hash: tx.hash, from: tx.sender, to: tx.to, value: tx.value, input: tx.input ?? "0x" },
  };
}

/** The chosen stored document (or a new one) in an editor; `document` is the draft's text. */
function Editor({ me, rule, document, setDocument, onSaved }) {
  const editable = canWrite(me.role);
  const [name, setName] = useState(rule?.name ?? "");
  const [note, setNote] = useState(null);
  const [versions, setVersions] = useState([]);
  useEffect(() => {
    setName(rule?.name ?? "");
    setNote(null);
    if (rule) api(`${RULES}/${rule.id}/versions`).then(setVersions, () => setVersions([]));
    else setVersions([]);
  }, [rule?.id, rule?.version]);
  const attempt = (work) => async () => {
    try {
      await work();
    } catch (failure) {
      setNote({ error: failure.message });
    }
  };
  const validate = attempt(async () => {
    const checked = await api(`${RULES}/validate`, { method: "POST", body: { document } });
    setNote({ ok: `valid: ${checked.rules} rule(s), ${checked.channels} channel(s)` });
  });
  const save = attempt(async () => {
    const saved = rule
      ? await api(`${RULES}/${rule.id}`, { method: "PUT", body: { name, document } })
      : await api(RULES, { method: "POST", body: { name, document, enabled: true } });
    setNote({ ok: `saved: version ${saved.version}` });
    onSaved(saved);
  });
  const toggle = attempt(async () => onSaved(await api(`${RULES}/${rule.id}`, { method: "PUT", body: { enabled: !rule.enabled } })));
  const remove = attempt(async () => {
    await api(`${RULES}/${rule.id}`, { method: "DELETE" });
    onSaved(null);
  });
  return (
    <div class="card">
      <h3>{rule ? `${rule.name} · version ${rule.version}${rule.enabled ? "" : " · disabled"}` : "New rule document"}</h3>
      <div class="form">
        <label class="full">
          Name
          <input name="rule_name" value={name} disabled={!editable} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="full">
          Document (YAML or JSON: channels, watchlists, rules)
          <textarea name="document" rows="12" spellcheck={false} value={document} readOnly={!editable} onInput={(e) => setDocument(e.currentTarget.value)} />
        </label>
      </div>
      {editable ? (
        <div class="filters">
          <button onClick={validate}>Validate</button>
          <button onClick={save} disabled={!name.trim()}>
            {rule ? "Save new version" : "Create"}
          </button>
          {rule && (
            <button class="ghost" onClick={toggle}>
              {rule.enabled ? "Disable" : "Enable"}
            </button>
          )}
          {rule && (
            <button class="ghost" onClick={remove}>
              Delete
            </button>
          )}
        </div>
      ) : (
        <p class="muted">Editing rules needs the analyst role; you are {me.role}.</p>
      )}
      {note && <p class={note.error ? "error" : "gain"} data-testid="rule-note">{note.error ?? note.ok}</p>}
      {versions.length > 0 && (
        <details>
          <summary>{versions.length} version(s)</summary>
          <Table
            columns={[
              ["Version", (v) => v.version],
              ["Name", (v) => v.name],
              ["Enabled", (v) => (v.enabled ? "yes" : "no")],
              ["Author", (v) => v.author],
              ["At", (v) => new Date(v.created_at).toLocaleString()],
            ]}
            rows={versions}
          />
        </details>
      )}
    </div>
  );
}

/** A dry run on an event: of the stored document when one is chosen, else of the unsaved draft. */
function DryRun({ rule, document }) {
  const [event, setEvent] = useState(pretty(EVENT));
  const [where, setWhere] = useState({ chain: "", hash: "" });
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState("");
  const load = async (e) => {
    e.preventDefault();
    setError("");
    try {
      const record = await api(`/api/v1/monitor/transactions/${encodeURIComponent(where.chain)}/${where.hash}`);
      setEvent(pretty(withTx(parseJson(event), record)));
    } catch (failure) {
      setError(failure.message);
    }
  };
  const run = async () => {
    setError("");
    setAnswer(null);
    try {
      const body = { event: JSON.parse(pretty(parseJson(event))) };
      setAnswer(
        rule
          ? await api(`${RULES}/${rule.id}/test`, { method: "POST", body })
          : await api(`${RULES}/dry-run`, { method: "POST", body: { ...body, document } }),
      );
    } catch (failure) {
      setError(failure.message);
    }
  };
  return (
    <div class="card">
      <h3>Dry run {rule ? `of version ${rule.version}` : "of this draft"} against a transaction</h3>
      <form class="filters" onSubmit={load}>
        <input placeholder="chain" aria-label="Monitored chain" class="narrow" onInput={(e) => setWhere({ ...where, chain: e.currentTarget.value.trim() })} />
        <input placeholder="0x… tx hash the monitor saw" aria-label="Monitored tx hash" onInput={(e) => setWhere({ ...where, hash: e.currentTarget.value.trim() })} />
        <button type="submit" class="ghost">
          Load tx
        </button>
      </form>
      <label class="form">
        <span class="full">Event (a rule event: stage, chain, tx, logs, findings…)</span>
        <textarea class="full" name="event" rows="10" spellcheck={false} value={event} onInput={(e) => setEvent(e.currentTarget.value)} />
      </label>
      <div class="filters">
        <button onClick={run}>Dry run</button>
        <span class="muted">nothing is sent or stored</span>
      </div>
      {error && <p class="error">{error}</p>}
      {answer && (
        <>
          <p data-testid="dryrun-summary">{answer.matches.length} rule(s) match</p>
          <Table
            columns={[
              ["Rule", (m) => m.rule],
              ["Severity", (m) => <span class={`pill sev-${m.severity}`}>{m.severity}</span>],
              ["Notify", (m) => m.notify.join(", ") || "—"],
              ["Evidence", (m) => <code>{cell(m.evidence)}</code>],
            ]}
            rows={answer.matches}
            rowProps={(m) => ({ class: "match", "data-rule": m.rule })}
            empty="No rule matches this event."
          />
        </>
      )}
    </div>
  );
}

/** Rule documents: the stored ones (the monitor runs the enabled ones) listed, edited with
 * validation, versions, enable/disable, delete; a stored document or an unsaved draft dry-run on
 * an event or a monitored tx. */
export function Rules({ me }) {
  const [rules, setRules] = useState(null);
  const [chosen, setChosen] = useState(null);
  const [document, setDocument] = useState(TEMPLATE);
  const [error, setError] = useState("");
  useEffect(() => setDocument(chosen?.document ?? TEMPLATE), [chosen?.id, chosen?.version]);
  const reload = (keep) =>
    api(RULES).then(
      (found) => {
        setRules(found);
        setChosen(keep ? found.find((r) => r.id === keep.id) ?? null : null);
      },
      (failure) => setError(failure.message),
    );
  useEffect(() => {
    reload(null);
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (rules === null) return <p class="muted">Loading…</p>;
  return (
    <section>
      <h2>Rules</h2>
      <div class="grid">
        <div>
          <Editor me={me} rule={chosen} document={document} setDocument={setDocument} onSaved={reload} />
          {(chosen || canWrite(me.role)) && <DryRun rule={chosen} document={document} />}
        </div>
        <div class="card">
          <h3>Rule documents</h3>
          <Table
            columns={[
              ["Name", (r) => <a href="#/rules" onClick={(e) => (e.preventDefault(), setChosen(r))}>{r.name}</a>],
              ["Version", (r) => r.version],
              ["Enabled", (r) => (r.enabled ? "yes" : "no")],
              ["Updated", (r) => new Date(r.updated_at).toLocaleString()],
            ]}
            rows={rules}
            rowProps={(r) => ({ "data-rule-id": r.id, class: chosen?.id === r.id ? "selected" : "" })}
            empty="No rule document yet."
          />
          {canWrite(me.role) && chosen && (
            <button class="ghost" onClick={() => setChosen(null)}>
              New document
            </button>
          )}
        </div>
      </div>
    </section>
  );
}
