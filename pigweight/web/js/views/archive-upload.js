// Resumable upload of a recording (POST /api/video_file/uploads, then PATCH chunks): an NVR
// file of several GB must survive a dropped Wi-Fi link, so after a network error the page
// asks the server how many bytes it has and goes on from there.

import { call, readJson, request } from "../api.js";

export const CHUNK_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000, 30000, 30000];

// A refusal to show, shaped as a call()'s answer ({status, payload}) for refusalKey: `status`
// 0 is the network, `detail` is the server's own reason.
export class UploadError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.payload = { code, detail };
  }
}

class NetworkDown extends Error {}

function refusal(status, payload) {
  const code = payload?.code ?? (status === 413 ? "upload_too_large" : `http_${status}`);
  const detail = typeof payload?.detail === "string" ? payload.detail : `HTTP ${status}`;
  return new UploadError(status, code, detail);
}

// Worth another try: the link, a restarting server or a proxy; not a refusal of the file.
function transient(status) {
  return status === 0 || status === 408 || status === 429 || (status >= 500 && status !== 507);
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    });
  });
}

// fetch() cannot report upload progress; XMLHttpRequest can.
function patchChunk(url, offset, blob, onBytes, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PATCH", url);
    xhr.setRequestHeader("Upload-Offset", String(offset));
    xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
    xhr.responseType = "text";
    xhr.upload.onprogress = (event) => onBytes(offset + event.loaded);
    xhr.onload = () => {
      let payload = null;
      try {
        payload = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: refusal() falls back to the status
      }
      resolve({ status: xhr.status, payload });
    };
    xhr.onerror = () => reject(new NetworkDown("connection lost"));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(blob);
  });
}

// api.js's request(), with a lost connection as NetworkDown: worth another try.
async function attempt(method, url, body, options) {
  try {
    return await request(method, url, body, options);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new NetworkDown(String(err.message || err));
  }
}

async function serverOffset(url, signal) {
  const response = await attempt("GET", url, undefined, { cache: "no-store", signal });
  if (response.status === 404) return null; // finished (moved into the archive) or purged
  if (!response.ok) throw refusal(response.status, await readJson(response));
  return (await readJson(response))?.offset ?? Number(response.headers.get("Upload-Offset"));
}

async function createUpload(file, signal) {
  const body = { filename: file.name, size: file.size };
  const response = await attempt("POST", "/api/video_file/uploads", body, { signal });
  const payload = await readJson(response);
  if (!response.ok) throw refusal(response.status, payload);
  return payload.upload_id;
}

// Uploads `file`; resolves with the added video (or null when the last answer was lost on
// the way back, the file being in the archive anyway). Callbacks:
//   onBytes(sent), onRetry(delayMs, attempt), onUploadId(id).
export async function uploadFile(file, { onBytes, onRetry, onUploadId, signal, chunkBytes }) {
  const chunk = chunkBytes || CHUNK_BYTES;
  let uploadId = null;
  let offset = 0;
  let failures = 0;
  let sent = 0; // bytes that left the page, acknowledged or not
  const progress = (bytes) => {
    sent = Math.max(sent, bytes);
    onBytes(bytes);
  };
  for (;;) {
    try {
      if (uploadId === null) {
        uploadId = await createUpload(file, signal);
        onUploadId?.(uploadId);
      }
      const url = `/api/video_file/uploads/${uploadId}`;
      if (failures > 0) {
        const known = await serverOffset(url, signal);
        if (known === null && sent >= file.size) return null;
        if (known === null) throw new UploadError(404, "upload_not_found", "the upload expired");
        offset = known;
      }
      const answer = await patchChunk(url, offset, file.slice(offset, offset + chunk), progress, signal);
      if (answer.status === 409) {
        failures = Math.max(failures, 1); // out of step: ask where the server is
        continue;
      }
      if (answer.status < 200 || answer.status >= 300) {
        const error = refusal(answer.status, answer.payload);
        if (!transient(answer.status)) throw error;
        throw new NetworkDown(error.detail);
      }
      failures = 0;
      offset = answer.payload.offset;
      onBytes(offset);
      if (answer.payload.done) return answer.payload.video ?? null;
    } catch (err) {
      if (!(err instanceof NetworkDown)) throw err;
      if (failures >= RETRY_DELAYS_MS.length) throw new UploadError(0, "network", err.message);
      const delay = RETRY_DELAYS_MS[failures];
      failures += 1;
      onRetry?.(delay, failures);
      await sleep(delay, signal);
    }
  }
}

export async function discardUpload(uploadId) {
  // Unanswered, it is no matter: the server purges abandoned uploads after a day.
  await call("DELETE", `/api/video_file/uploads/${uploadId}`);
}
