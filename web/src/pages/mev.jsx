import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { BarChart, Table } from "../components.jsx";
import { amount, short } from "../format.js";

const TYPES = ["swap", "arbitrage", "sandwich", "liquidation", "jit_liquidity"];

export function Mev() {
  const [filter, setFilter] = useState({ chain_id: "1", type: "", searcher: "", pool: "", token: "", from_block: "", to_block: "" });
  const [page, setPage] = useState(null);
  const [error, setError] = useState("");
  const load = (wanted) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(wanted)) if (value) params.set(name, value);
    params.set("limit", "500");
    setError("");
    api(`/api/time-machine/mev/findings?${params}`).then(setPage, (failure) => setError(failure.message));
  };
  useEffect(() => load(filter), []);
  const set = (key) => (event) => setFilter({ ...filter, [key]: event.currentTarget.value.trim() });
  const perBlock = new Map();
  for (const item of page?.items ?? []) perBlock.set(item.block_number, (perBlock.get(item.block_number) ?? 0) + 1);
  return (
    <section>
      <h2>MEV explorer</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          load(filter);
        }}
      >
        <input aria-label="Chain id" class="narrow" value={filter.chain_id} onInput={set("chain_id")} />
        <select aria-label="MEV type" value={filter.type} onChange={set("type")}>
          <option value="">all types</option>
          {TYPES.map((t) => (
            <option value={t}>{t}</option>
          ))}
        </select>
        <input aria-label="Searcher" placeholder="searcher" value={filter.searcher} onInput={set("searcher")} />
        <input aria-label="Pool" placeholder="pool" value={filter.pool} onInput={set("pool")} />
        <input aria-label="Token" placeholder="token" value={filter.token} onInput={set("token")} />
        <input aria-label="From block" placeholder="from block" class="narrow" value={filter.from_block} onInput={set("from_block")} />
        <input aria-label="To block" placeholder="to block" class="narrow" value={filter.to_block} onInput={set("to_block")} />
        <button type="submit">Filter</button>
      </form>
      {error && <p class="error">{error}</p>}
      {page && (
        <>
          <BarChart title="Findings per block" rows={[...perBlock].sort((a, b) => a[0] - b[0]).map(([b, n]) => [String(b), n])} format={String} />
          <p class="muted" data-testid="mev-count">{page.items.length} findings</p>
          <Table
            columns={[
              ["Block", (f) => f.block_number],
              ["Type", (f) => f.type],
              ["Tx", (f) => <code>{short(f.transaction_hash)}</code>],
              ["Searcher", (f) => <code>{short(f.searcher)}</code>],
              ["Pool", (f) => <code>{short(f.pool)}</code>],
              ["Profit", (f) => (f.profit_amount === null ? "—" : `${amount(f.profit_amount)} ${short(f.profit_token)}`)],
            ]}
            rows={page.items}
            rowProps={(f) => ({ "data-type": f.type })}
            empty="No MEV found for this filter."
          />
        </>
      )}
    </section>
  );
}
