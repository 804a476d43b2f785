// The call tree as a flat, pre-order array, so a 5,000-frame trace is one array walk, not a
// recursive render: each node knows its depth, parent and subtree size; a collapsed node's
// subtree is skipped in one step. Paths are the analysis' evidence paths ("root",
// "calls[1].calls[0]").

export function flatten(root) {
  const nodes = [];
  const stack = [{ frame: root, path: "root", depth: 0, parent: -1 }];
  while (stack.length) {
    const item = stack.pop();
    if (item.close !== undefined) {
      nodes[item.close].size = nodes.length - item.close;
      continue;
    }
    const index = nodes.length;
    nodes.push({ index, path: item.path, depth: item.depth, parent: item.parent, frame: item.frame, size: 1 });
    const calls = item.frame.calls ?? [];
    stack.push({ close: index });
    for (let position = calls.length - 1; position >= 0; position -= 1) {
      const prefix = item.path === "root" ? "" : `${item.path}.`;
      stack.push({ frame: calls[position], path: `${prefix}calls[${position}]`, depth: item.depth + 1, parent: index });
    }
  }
  return nodes;
}

export const hasChildren = (node) => node.size > 1;

/** Indexes of the rows to show: every node whose ancestors are all expanded. */
export function visibleRows(nodes, expanded) {
  const rows = [];
  let index = 0;
  while (index < nodes.length) {
    const node = nodes[index];
    rows.push(index);
    index += expanded.has(index) ? 1 : node.size;
  }
  return rows;
}

/** The expanded set showing every frame down to `depth` (the root is depth 0). */
export function expandToDepth(nodes, depth) {
  const expanded = new Set();
  for (const node of nodes) if (node.depth < depth && hasChildren(node)) expanded.add(node.index);
  return expanded;
}

/** `expanded` plus every ancestor of `index`, so that node is shown. */
export function reveal(nodes, expanded, index) {
  const next = new Set(expanded);
  for (let parent = nodes[index].parent; parent >= 0; parent = nodes[parent].parent) next.add(parent);
  return next;
}

/** The text a search matches against: call, target, sender, revert reason, event names. */
export function searchText(node) {
  const frame = node.frame;
  const parts = [frame.type, frame.to, frame.from, frame.decoded?.signature, frame.error, frame.revert_reason];
  for (const log of frame.logs ?? []) parts.push(log.event?.name, log.address);
  return parts.filter(Boolean).join(" ").toLowerCase();
}

/** Indexes of the nodes matching `query` (case-insensitive substring), in tree order. */
export function search(nodes, query) {
  const wanted = query.trim().toLowerCase();
  if (!wanted) return [];
  return nodes.filter((node) => searchText(node).includes(wanted)).map((node) => node.index);
}
