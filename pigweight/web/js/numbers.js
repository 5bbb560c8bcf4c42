// The one reading of numbers the operator types, for every form of the page: the live
// weighing, its review and the archive's weighing from a frame. A field of type="number"
// is never used for weights: Chromium drops a comma it does not expect, so "212,5" became
// 2125 kg in the archive.

export const MAX_COUNT = 1000; // as the API's MAX_COUNT

// "412,5" (Russian keyboards), "412.5" and "1 412,5" are the same weight; anything else
// (two separators, letters, a sign) is null: shown as a mistake, never guessed.
export function parseNumber(text) {
  const clean = String(text).trim().replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(clean)) return null;
  return Number(clean);
}

// A whole number of animals from 1 to MAX_COUNT, or null.
export function parseCount(text) {
  const clean = String(text).trim();
  if (!/^\d+$/.test(clean)) return null;
  const count = Number(clean);
  return count >= 1 && count <= MAX_COUNT ? count : null;
}
