import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { CallTree } from "../calltree.jsx";
import { Progress, TERMINAL, useSessionProgress } from "../components.jsx";
import { FundFlow } from "../fundflow.jsx";
import { Balances, Comparison, Findings, Profit, StateDiff, Summary, Transfers } from "../sections.jsx";

function Downloads({ sessionId, tx, analysis }) {
  const base = `/api/time-machine/sessions/${sessionId}`;
  return (
    <span class="downloads">
      <a href={base} download={`session-${sessionId}.json`}>Session JSON</a>
      {analysis && (
        <>
          <a href={`${base}/report?format=json&tx_index=${tx}`} download={`report-${sessionId}-${tx}.json`}>Report JSON</a>
          <a href={`${base}/report?format=html&tx_index=${tx}`} target="_blank" rel="noopener">HTML report</a>
        </>
      )}
    </span>
  );
}

/** The view's API path for session `id`, transaction `tx` (also preloaded by main.jsx). */
export const viewPath = (id, query) => `/api/console/sessions/${id}/view?tx=${Number(query.get("tx") ?? 0)}`;

export function TxView({ id, query }) {
  const tx = Number(query.get("tx") ?? 0);
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState("");
  const progress = useSessionProgress(detail && !TERMINAL.has(detail.session.status) ? id : null);
  const load = () => api(viewPath(id, query)).then(setDetail, (failure) => setError(failure.message));
  useEffect(() => {
    setDetail(null);
    load();
  }, [id, tx]);
  useEffect(() => {
    if (progress && TERMINAL.has(progress.status)) load();
  }, [progress?.status]);
  const result = detail?.result;
  const replay = result?.replay;
  const analysis = result?.analysis;
  const roles = useMemo(() => {
    const marks = {};
    for (const a of analysis?.profit?.attackers ?? []) marks[a.toLowerCase()] = "attacker";
    for (const l of analysis?.profit?.losses ?? []) marks[l.address.toLowerCase()] = "victim";
    return marks;
  }, [analysis]);
  if (error) return <p class="error">{error}</p>;
  if (!detail) return <p class="muted">Loading session…</p>;
  const session = detail.session;
  return (
    <section class="txview">
      <header class="txhead">
        <h2>
          {session.kind} <code>{session.id.slice(0, 12)}</code>
        </h2>
        {detail.tx_indexes.length > 1 && (
          <nav class="tabs">
            {detail.tx_indexes.map((index) => (
              <a href={`#/session/${id}?tx=${index}`} class={index === tx ? "active" : ""}>
                tx {index}
              </a>
            ))}
          </nav>
        )}
        <Downloads sessionId={id} tx={tx} analysis={analysis} />
      </header>
      {!TERMINAL.has(session.status) && <Progress state={progress ?? session} />}
      {session.error && <p class="error">{session.error}</p>}
      {!result && TERMINAL.has(session.status) && <p class="muted">No result for tx {tx}.</p>}
      {result && (
        <>
          <Summary replay={replay} analysis={analysis} />
          {analysis?.comparison && (
            <div class="card">
              <h3>What-if comparison</h3>
              <Comparison comparison={analysis.comparison} />
            </div>
          )}
          <div class="grid">
            <div class="card wide">
              <h3>Call tree</h3>
              {replay?.trace ? <CallTree root={replay.trace} focus={query.get("frame")} /> : <p class="muted">No call tree stored (start with detailed tracing).</p>}
            </div>
            <div class="card side">
              <h3>Findings</h3>
              <Findings findings={analysis?.findings} sessionId={id} tx={tx} />
              <h3>Profit and loss</h3>
              <Profit profit={analysis?.profit} />
            </div>
          </div>
          <div class="card">
            <h3>Fund flow</h3>
            <FundFlow flow={analysis?.fund_flow} roles={roles} />
          </div>
          <div class="grid two">
            <div class="card">
              <h3>Balance changes</h3>
              <Balances changes={replay?.balance_changes ?? analysis?.balance_changes} />
            </div>
            <div class="card">
              <h3>Token moves</h3>
              <Transfers transfers={replay?.token_transfers} />
            </div>
          </div>
          <div class="card">
            <h3>State diff</h3>
            <StateDiff diff={replay?.state_diff} />
          </div>
        </>
      )}
    </section>
  );
}
