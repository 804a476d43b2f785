// The transaction view's read-only sections: summary, findings, profit, balances, transfers,
// state diff, and a what-if comparison.
import { Table } from "./components.jsx";
import { amount, asset, gas, short } from "./format.js";

const EVIDENCE_SHOWN = 6;

/** "root", or the frame's depth and its position under its parent: "depth 12 · #0". */
function frameName(path) {
  if (path === "root") return "root";
  const steps = path.split(".");
  return `depth ${steps.length} · #${steps[steps.length - 1].replace(/\D/g, "")}`;
}

const frameLink = (sessionId, tx, path) => `#/session/${sessionId}?tx=${tx}&frame=${encodeURIComponent(path)}`;

export function Summary({ replay, analysis }) {
  const fidelity = replay?.fidelity;
  const receipt = replay?.replayed;
  const status = receipt ? receipt.status : analysis?.status;
  return (
    <div class="summary card">
      <div class="facts">
        <span class={`pill ${status === 1 ? "ok" : "bad"}`}>{status === 1 ? "success" : "reverted"}</span>
        <span>
          tx <code>{replay?.tx_hash ?? analysis?.tx_hash}</code>
        </span>
        <span>
          {replay?.chain ?? analysis?.chain} · block {replay?.block_number ?? analysis?.block_number}
          {replay?.hardfork ? ` · ${replay.hardfork}` : ""}
        </span>
        <span>
          gas {gas(receipt?.gas_used ?? analysis?.gas_used)}
          {replay?.original ? ` (original ${gas(replay.original.gas_used)})` : ""}
        </span>
        <span>
          from <code>{short(replay?.sender ?? analysis?.sender)}</code> to <code>{short(replay?.to ?? analysis?.to)}</code>
        </span>
      </div>
      <div class="fidelity" data-verdict={fidelity?.verdict ?? analysis?.fidelity}>
        Fidelity: <strong>{fidelity?.verdict ?? analysis?.fidelity ?? "—"}</strong>
        {fidelity?.differences?.length > 0 && (
          <ul>
            {fidelity.differences.map((d) => (
              <li>
                <code>{d.field}</code>: {String(d.original)} → {String(d.replayed)} — {d.explanation}
              </li>
            ))}
          </ul>
        )}
        {fidelity?.notes?.length > 0 && (
          <ul class="muted">
            {fidelity.notes.map((note) => (
              <li>{note}</li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

export function Findings({ findings, sessionId, tx }) {
  if (!findings?.length) return <p class="muted">No findings.</p>;
  return (
    <ul class="findings">
      {findings.map((finding, i) => {
        const frame = finding.evidence?.frames?.[0];
        return (
          <li class={`finding sev-${finding.severity}`} data-finding={i}>
            <a href={frame ? frameLink(sessionId, tx, frame) : undefined} data-frame={frame}>
              <span class="pill">{finding.severity}</span> <strong>{finding.title}</strong>
            </a>
            <div class="muted">
              {finding.vulnerability_class} · {finding.detector} · confidence {Math.round(finding.confidence * 100)}%
            </div>
            <p>{finding.explanation}</p>
            {finding.evidence?.frames?.length > 0 && (
              <div class="evidence">
                evidence:{" "}
                {finding.evidence.frames.slice(0, EVIDENCE_SHOWN).map((path) => (
                  <a href={frameLink(sessionId, tx, path)} class="frame-ref" title={path}>
                    {frameName(path)}
                  </a>
                ))}
                {finding.evidence.frames.length > EVIDENCE_SHOWN && <span class="muted">+{finding.evidence.frames.length - EVIDENCE_SHOWN} more</span>}
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}

const assets = (list) => list.map((a) => `${amount(a.amount)} ${asset(a.asset)}`).join(", ") || "—";

export function Profit({ profit }) {
  if (!profit) return null;
  return (
    <div class="profit">
      <div>
        <span class="muted">Attacker profit</span>
        <strong class="gain">{amount(profit.net_gain_eth)} ETH</strong>
        <span class="muted">{assets(profit.net_gain)}</span>
      </div>
      <div>
        <span class="muted">Victim loss</span>
        <strong class="loss">{amount(profit.total_loss_eth)} ETH</strong>
        <span class="muted">{assets(profit.total_loss)}</span>
      </div>
      <div class="muted">
        attackers: {profit.attackers.map((a) => <code>{short(a)} </code>)}
        {profit.losses?.length > 0 && <> · victims: {profit.losses.map((l) => <code>{short(l.address)} </code>)}</>}
      </div>
    </div>
  );
}

export function Balances({ changes }) {
  return (
    <Table
      columns={[
        ["Address", (c) => <code>{short(c.address)}</code>],
        ["Asset", (c) => asset(c.asset, c.symbol)],
        ["Before", (c) => amount(c.before, c.decimals ?? 18)],
        ["After", (c) => amount(c.after, c.decimals ?? 18)],
        ["Change", (c) => <span class={BigInt(c.delta) < 0n ? "loss" : "gain"}>{amount(c.delta, c.decimals ?? 18)}</span>],
      ]}
      rows={changes ?? []}
      empty="No balance changed."
    />
  );
}

export function Transfers({ transfers }) {
  return (
    <Table
      columns={[
        ["Token", (t) => asset(t.token ?? "ETH", t.symbol)],
        ["From", (t) => <code>{short(t.from)}</code>],
        ["To", (t) => <code>{short(t.to)}</code>],
        ["Amount", (t) => amount(t.amount, t.decimals ?? (t.standard === "ERC721" ? 0 : 18))],
      ]}
      rows={transfers ?? []}
      empty="No tokens moved."
    />
  );
}

export function StateDiff({ diff }) {
  const addresses = [...new Set([...Object.keys(diff?.pre ?? {}), ...Object.keys(diff?.post ?? {})])];
  if (!addresses.length) return <p class="muted">No state changed.</p>;
  return (
    <div class="statediff">
      {addresses.slice(0, 100).map((address) => {
        const pre = diff.pre[address] ?? {};
        const post = diff.post[address] ?? {};
        const slots = [...new Set([...Object.keys(pre.storage ?? {}), ...Object.keys(post.storage ?? {})])];
        return (
          <details>
            <summary>
              <code>{address}</code>
              {post.balance !== undefined && post.balance !== null && ` · balance ${amount(pre.balance ?? 0)} → ${amount(post.balance)} ETH`}
              {slots.length > 0 && ` · ${slots.length} slot${slots.length === 1 ? "" : "s"}`}
            </summary>
            <table class="slots">
              {slots.slice(0, 200).map((slot) => (
                <tr>
                  <td><code>{slot}</code></td>
                  <td><code>{pre.storage?.[slot] ?? "—"}</code></td>
                  <td><code>{post.storage?.[slot] ?? "—"}</code></td>
                </tr>
              ))}
            </table>
          </details>
        );
      })}
    </div>
  );
}

const side = (diff) => (diff ? [String(diff.left ?? "—"), String(diff.right ?? "—")] : ["—", "—"]);

export function Comparison({ comparison }) {
  if (!comparison) return null;
  const rows = [
    ["status", ...side(comparison.status)],
    ["gas used", ...side(comparison.gas_used)],
    ["revert reason", ...side(comparison.revert_reason)],
    ["attacker profit (wei)", ...side(comparison.net_gain_eth)],
    ...(comparison.profit ?? []).map((p) => [`profit ${asset(p.asset)}`, amount(p.left), amount(p.right)]),
    ...(comparison.balances ?? []).map((b) => [`${short(b.address)} ${asset(b.asset, b.symbol)}`, amount(b.left, b.decimals ?? 18), amount(b.right, b.decimals ?? 18)]),
    ...(comparison.findings ?? []).map((f) => [`finding ${f.vulnerability_class}`, f.left_severity ?? "—", f.right_severity ?? "—"]),
    ...(comparison.swaps ?? []).map((s) => [`price ${short(s.pair)}`, s.left?.price?.toPrecision(6) ?? "—", s.right?.price?.toPrecision(6) ?? "—"]),
  ];
  return (
    <table class="comparison">
      <thead>
        <tr>
          <th />
          <th>{comparison.left}</th>
          <th>{comparison.right}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, left, right]) => (
          <tr class={left !== right ? "changed" : ""}>
            <th>{label}</th>
            <td>{left}</td>
            <td>{right}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
