// Talks to the PigWeight server. Errors come back as {code, detail}: the page translates
// `code`, and shows the server's English `detail` as the technical detail.

export class CountError extends Error {
  constructor(code, detail = "") {
    super(detail || code);
    this.code = code;
    this.detail = detail;
  }
}

// The form POST /api/count_image reads: the photo and, when given, the platform zone
// ([[x, y], ...] in 0-1 of the photo; the animals outside it are not counted).
export function photoForm(file, zone = null) {
  const body = new FormData();
  body.append("file", file, file.name);
  if (zone) body.append("zone", JSON.stringify(zone));
  return body;
}

export async function countImage(file, zone = null) {
  let response;
  try {
    response = await fetch("/api/count_image", { method: "POST", body: photoForm(file, zone) });
  } catch (err) {
    throw new CountError("network", String(err.message || err));
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    // A proxy's HTML error page, or a cut connection: no JSON to read.
  }
  if (!response.ok) {
    const code = payload?.code ?? (response.status === 413 ? "upload_too_large" : "unknown");
    throw new CountError(code, payload?.detail ?? `HTTP ${response.status}`);
  }
  if (!payload || typeof payload.count !== "number") {
    throw new CountError("unknown", "unexpected answer from the server");
  }
  return payload;
}
