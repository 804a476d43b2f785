// A small Solidity highlighter for the patch editor: tokens → spans (text escaped by Preact).

const TOKEN =
  /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|\b(pragma|solidity|contract|interface|library|function|modifier|event|error|struct|enum|mapping|returns?|if|else|for|while|do|break|continue|emit|revert|require|assert|new|delete|public|private|internal|external|view|pure|payable|virtual|override|memory|storage|calldata|constant|immutable|is|using|import|constructor|receive|fallback|unchecked)\b|\b(address|bool|string|bytes\d*|u?int\d*)\b|\b(0x[0-9a-fA-F]+|\d[\d_]*(?:e\d+)?)\b/g;

const CLASSES = [null, "comment", "string", "keyword", "type", "number"];

/** [[className | null, text]] covering `source` exactly. */
export function highlight(source) {
  const parts = [];
  let last = 0;
  for (const match of source.matchAll(TOKEN)) {
    if (match.index > last) parts.push([null, source.slice(last, match.index)]);
    const group = match.findIndex((value, i) => i > 0 && value !== undefined);
    parts.push([CLASSES[group], match[0]]);
    last = match.index + match[0].length;
  }
  parts.push([null, source.slice(last)]);
  return parts;
}
