// Saving an answer of an unsafe request (a POST) as a file: fetched with the session cookie and
// the CSRF header like every api() call, handed to the browser as a blob download.

import { csrfToken, errorDetail } from "./api.js";

/** POST `body` to `path` and save the answer as `filename`; rejects with the API's detail. */
export async function downloadPost(path, body, filename) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(errorDetail(await response.text()));
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

const bigints = (_key, item) => (typeof item === "bigint" ? item.toString() : item);

/** A table cell for any JSON value (BigInt-safe; lists and objects as compact JSON). */
export const cell = (value) =>
  value === null || value === undefined ? "∅" : typeof value === "object" ? JSON.stringify(value, bigints) : String(value);

/** Indented JSON, BigInts as decimal strings. */
export const pretty = (value) => JSON.stringify(value, bigints, 2);
