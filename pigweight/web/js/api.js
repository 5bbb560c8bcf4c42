// Talks to the PigWeight server: every request of the page goes through here. Errors come
// back as {code, detail, params} (api/errors.py): the page translates `code` (refusalKey,
// below, is the one place that does), and shows the server's English `detail` as the
// technical detail.

import { hasText, localParams, t } from "./i18n.js";

let onUnauthorized = () => {};

// What an answer 401 does (user.js: back to /login, while logins are required).
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

// The fetch() of `method url`; throws as fetch() does when the connection fails. `body`:
// FormData as it is; a string as JSON text already written (a retry sends the same bytes);
// anything else written as JSON. `options`: {headers, cache, signal}.
export async function request(method, url, body, { headers = {}, cache, signal } = {}) {
  const init = { method, headers: { ...headers } };
  if (cache) init.cache = cache;
  if (signal) init.signal = signal;
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = await fetch(url, init);
  if (response.status === 401) onUnauthorized();
  return response;
}

// The answer's JSON, or null: a 204, a proxy's HTML error page, a cut connection.
export async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

// {ok, status, payload, headers}: never throws. A lost connection is status 0 with the
// payload {code: "network", detail}; an answer that is not JSON has the payload null.
export async function call(method, url, body, options = {}) {
  let response;
  try {
    response = await request(method, url, body, options);
  } catch (err) {
    const payload = { code: "network", detail: String(err?.message || err) };
    return { ok: false, status: 0, payload, headers: new Headers() };
  }
  const payload = await readJson(response);
  return { ok: response.ok, status: response.status, payload, headers: response.headers };
}

// A call()'s refusal: its code, `http_STATUS` when the answer had none ("network" for a lost
// connection).
export function answerCode({ status, payload }) {
  return payload?.code ?? `http_${status}`;
}

// A call()'s refusal in the server's (or the browser's) English words, `HTTP STATUS` when the
// answer had none: the technical detail.
export function answerDetail({ status, payload }) {
  return payload?.detail ?? `HTTP ${status}`;
}

// The page's own sentence for a refusal that no view has words for.
function pageWide(status) {
  if (status === 401) return "error.unauthorized";
  if (status === 403) return "error.forbidden";
  return status >= 500 ? "error.server" : "error.refused";
}

// refusalKey's `how` for a view with texts of its own for the codes it expects, and
// `${scope}.server` and `${scope}.unknown` for any other refusal.
export function viewTexts(scope) {
  return { scopes: [scope], otherwise: (status) => `${scope}.${status >= 500 ? "server" : "unknown"}` };
}

// How a refusal (a call()'s {status, payload}) reads on the page: {key, params} of its text
// in texts/*.js, kept by views that write it again when the language changes. The server's
// code picks the sentence, never its English detail: the check that refused it
// (params.problem), else the first `${scope}.${code}` there is a text for, else
// otherwise(status), which is filled with the status and the code.
export function refusalKey({ status, payload }, { scopes = ["error"], otherwise = pageWide } = {}) {
  const code = payload?.code ?? "";
  const params = localParams(payload?.params);
  if (params.problem && hasText(`problem.${params.problem}`)) return { key: `problem.${params.problem}`, params };
  const scope = code ? scopes.find((prefix) => hasText(`${prefix}.${code}`)) : undefined;
  if (scope) return { key: `${scope}.${code}`, params };
  return { key: otherwise(status), params: { status, code: code || "—" } };
}

// The sentence refusalKey picks, in the page's language now.
export function refusalText(answer, how = {}) {
  const { key, params } = refusalKey(answer, how);
  return t(key, params);
}

// GET `url`'s JSON, or null whatever went wrong: for what the page can show without.
export async function getJson(url, options = {}) {
  const answer = await call("GET", url, undefined, options);
  return answer.ok ? answer.payload : null;
}

// A photo not counted, shaped as a call()'s answer ({status, payload}) for refusalKey;
// `status` 0: refused before it was sent, or no answer.
export class CountError extends Error {
  constructor(code, detail = "", status = 0) {
    super(detail || code);
    this.code = code;
    this.detail = detail;
    this.status = status;
    this.payload = { code, detail };
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
  const answer = await call("POST", "/api/count_image", photoForm(file, zone));
  const { ok, status, payload } = answer;
  if (!ok) {
    const code = payload?.code ?? (status === 413 ? "upload_too_large" : "unknown");
    throw new CountError(code, answerDetail(answer), status);
  }
  if (!payload || typeof payload.count !== "number") {
    throw new CountError("unknown", "unexpected answer from the server");
  }
  return payload;
}
