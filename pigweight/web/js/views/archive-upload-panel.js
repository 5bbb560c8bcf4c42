// The upload panel: the chosen file's name, a progress bar, a status line and a cancel
// button around uploadFile (archive-upload.js), which does the resumable transfer.

import { refusalKey } from "../api.js";
import { t } from "../i18n.js";
import { $, clearError, megabytes, showError } from "./archive-common.js";
import { discardUpload, uploadFile } from "./archive-upload.js";

let upload = null; // {controller, uploadId} while a file is being sent
let line = null; // {key, params} of the status line
let onUploaded = async () => {};

function uploadLine(key, params = {}) {
  const status = $("archive-upload-state");
  line = { key, params };
  status.dataset.key = key;
  status.textContent = t(key, params);
}

async function startUpload(file) {
  if (!file || upload) return;
  clearError();
  const controller = new AbortController();
  upload = { controller, uploadId: null };
  $("archive-upload").hidden = false;
  $("archive-upload-name").textContent = `${file.name} · ${megabytes(file.size)} ${t("archive.mb")}`;
  const bar = $("archive-upload-bar");
  bar.value = 0;
  $("archive-upload-cancel").hidden = false;
  uploadLine("archive.upload.sending", { percent: 0 });
  const chunkBytes = Number($("view-archive").dataset.chunkBytes) || undefined;
  try {
    const video = await uploadFile(file, {
      chunkBytes,
      signal: controller.signal,
      onUploadId: (id) => (upload.uploadId = id),
      onBytes: (sent) => {
        const percent = Math.floor((100 * sent) / file.size);
        bar.value = percent;
        uploadLine(sent >= file.size ? "archive.upload.checking" : "archive.upload.sending", { percent });
      },
      onRetry: (delayMs) => uploadLine("archive.upload.retrying", { seconds: Math.round(delayMs / 1000) }),
    });
    bar.value = 100;
    uploadLine("archive.upload.done");
    await onUploaded(video);
  } catch (err) {
    if (err.name === "AbortError") {
      uploadLine("archive.upload.cancelled");
    } else {
      // The server's code says why, in the page's language; its English detail is for an
      // English page only.
      const how = { scopes: ["archive.upload.error"], otherwise: () => "archive.upload.refused" };
      const key = err.status === 0 ? "archive.upload.offline" : refusalKey(err, how).key;
      uploadLine(key, { status: err.status });
      showError(key, err.detail, { status: err.status });
    }
  } finally {
    upload = null;
    $("archive-upload-cancel").hidden = true;
    $("archive-file").value = "";
  }
}

function cancelUpload() {
  if (!upload) return;
  const { controller, uploadId } = upload;
  controller.abort();
  if (uploadId) discardUpload(uploadId);
}

// The status line again, in the language just chosen.
export function renderUploadLine() {
  if (line) uploadLine(line.key, line.params);
}

// `uploaded(video)`: awaited once the server has the file (`video` its /api/video_file entry).
export function wireUpload(uploaded) {
  onUploaded = uploaded;
  $("archive-file").addEventListener("change", (e) => startUpload(e.target.files[0]));
  $("archive-upload-cancel").addEventListener("click", cancelUpload);
}
