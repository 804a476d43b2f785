import { useEffect, useRef, useState } from "preact/hooks";
import { api, canWrite } from "../api.js";
import { Progress, TERMINAL, useSessionProgress } from "../components.jsx";
import { Comparison } from "../sections.jsx";
import { highlight } from "../solidity.js";

function SolidityEditor({ value, onInput }) {
  const code = useRef(null);
  const sync = (event) => {
    code.current.scrollTop = event.currentTarget.scrollTop;
    code.current.scrollLeft = event.currentTarget.scrollLeft;
  };
  return (
    <div class="editor">
      <pre class="highlight" ref={code} aria-hidden="true">
        {highlight(value).map(([kind, text]) => (kind ? <span class={`sol-${kind}`}>{text}</span> : text))}
        {"\n"}
      </pre>
      <textarea
        spellcheck={false}
        aria-label="Patched Solidity source"
        value={value}
        onInput={(event) => onInput(event.currentTarget.value)}
        onScroll={sync}
      />
    </div>
  );
}

function request(form, source) {
  const body = { tx_hash: form.tx_hash.trim(), chain_id: Number(form.chain_id) || 31337, compare: true };
  if (form.sender.trim()) body.sender = form.sender.trim();
  if (form.at_block.trim()) body.at_block = Number(form.at_block);
  if (form.drop.trim()) body.drop = form.drop.split(/[\s,]+/).filter(Boolean);
  if (form.overrides.trim()) body.overrides = JSON.parse(form.overrides);
  if (form.patch_address.trim() && source.trim()) {
    body.patches = [{ address: form.patch_address.trim(), source_text: source, ...(form.contract.trim() ? { contract: form.contract.trim() } : {}) }];
  }
  return body;
}

export function WhatIf({ me, query }) {
  const [form, setForm] = useState({
    tx_hash: query.get("tx_hash") ?? "",
    chain_id: "31337",
    sender: "",
    at_block: "",
    drop: "",
    overrides: "",
    patch_address: "",
    contract: "",
  });
  const [source, setSource] = useState("// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n");
  const [sessionId, setSessionId] = useState(null);
  const [detail, setDetail] = useState(null);
  const [error, setError] = useState("");
  const progress = useSessionProgress(sessionId);
  useEffect(() => {
    if (progress && TERMINAL.has(progress.status)) {
      api(`/api/console/sessions/${sessionId}/view?tx=0`).then(setDetail, (failure) => setError(failure.message));
    }
  }, [progress?.status]);
  if (!canWrite(me.role)) return <p class="muted">What-if runs need the analyst role; you are {me.role}.</p>;
  const field = (key) => ({ value: form[key], onInput: (event) => setForm({ ...form, [key]: event.currentTarget.value }) });
  const run = async (event) => {
    event.preventDefault();
    setError("");
    setDetail(null);
    try {
      const started = await api("/api/time-machine/whatif/start", { method: "POST", body: request(form, source) });
      setSessionId(started.session_id);
    } catch (failure) {
      setError(failure.message);
    }
  };
  const modified = detail?.result;
  return (
    <section class="whatif">
      <h2>What-if</h2>
      <form class="card form" onSubmit={run}>
        <label>Transaction hash <input name="tx_hash" required pattern="0x[0-9a-fA-F]{64}" {...field("tx_hash")} /></label>
        <label>Chain id <input name="chain_id" class="narrow" {...field("chain_id")} /></label>
        <label>Sender <input name="sender" placeholder="0x… (optional)" {...field("sender")} /></label>
        <label>At block <input name="at_block" class="narrow" placeholder="time-shift" {...field("at_block")} /></label>
        <label>Drop txs <input name="drop" placeholder="hashes run before it to remove" {...field("drop")} /></label>
        <label class="full">
          State overrides (JSON list of {"{address, balance, nonce, code, storage}"})
          <textarea name="overrides" rows="3" placeholder='[{"address": "0x…", "balance": "0x0"}]' {...field("overrides")} />
        </label>
        <label>Patch contract at <input name="patch_address" placeholder="0x…" {...field("patch_address")} /></label>
        <label>Contract name <input name="contract" placeholder="when the source holds several" {...field("contract")} /></label>
        <div class="full">
          <span class="muted">Patched source</span>
          <SolidityEditor value={source} onInput={setSource} />
        </div>
        <button type="submit">Run what-if</button>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
      {sessionId && (
        <div class="card">
          <Progress state={progress} /> <a href={`#/session/${sessionId}`}>open session</a>
          {modified?.analysis?.comparison && (
            <>
              <h3>Original vs what-if</h3>
              <Comparison comparison={modified.analysis.comparison} />
            </>
          )}
        </div>
      )}
    </section>
  );
}
