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
  const digits = decimals ? (abs % unit).toString().padStart(decimals, "0") : "";
  // 6 decimals, or 6 significant digits below 1
  const keep = whole > 0n ? 6 : digits.search(/[1-9]/) + 6;
  const fraction = digits.slice(0, Math.max(keep, 0)).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole.toLocaleString("en-US")}${fraction ? `.${fraction}` : ""}`;
}

export const asset = (name, symbol) => symbol || (name === "ETH" ? "ETH" : short(name));

export const gas = (value) => Number(value ?? 0).toLocaleString("en-US");

export const usd = (value) =>
  value === null || value === undefined ? "—" : `$${Math.round(Number(value)).toLocaleString("en-US")}`;
