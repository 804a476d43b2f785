// Display helpers: addresses, amounts (BigInt-safe), gas.

export const short = (address) =>
  typeof address === "string" && address.length > 14 ? `${address.slice(0, 8)}…${address.slice(-4)}` : String(address ?? "");

export function amount(value, decimals = 18) {
  if (value === null || value === undefined) return "—";
  const big = BigInt(value);
  const negative = big < 0n;
  const abs = negative ? -big : big;
  const unit = 10n ** BigInt(decimals ?? 0);
  const whole = abs / unit;
  let fraction = decimals ? (abs % unit).toString().padStart(decimals, "0").slice(0, 6).replace(/0+$/, "") : "";
  if (!fraction && abs > 0n && whole === 0n) fraction = "…";
  return `${negative ? "-" : ""}${whole.toLocaleString("en-US")}${fraction ? `.${fraction}` : ""}`;
}

export const asset = (name, symbol) => symbol || (name === "ETH" ? "ETH" : short(name));

export const gas = (value) => Number(value ?? 0).toLocaleString("en-US");

export const usd = (value) =>
  value === null || value === undefined ? "—" : `$${Math.round(Number(value)).toLocaleString("en-US")}`;
