import { ApiError, headers as authHeaders } from './api.js';

// Files in and out of the server. Downloads go through fetch, not a plain link, so that the
// token (when the server needs one) goes with them.

async function failure(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the status says enough
  }
  return new ApiError(response.status, body);
}

function fileNameOf(response, fallback) {
  const header = response.headers.get('content-disposition') ?? '';
  const utf8 = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (utf8) return decodeURIComponent(utf8[1]);
  return /filename="([^"]+)"/i.exec(header)?.[1] ?? fallback;
}

/** Fetches `path` and hands the answer to the browser as a download; resolves to the file name. */
export async function downloadFile(path, fallbackName) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw await failure(response);
  const name = fileNameOf(response, fallbackName);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** Sends a file's bytes as the request body; resolves to the JSON answer. */
export async function uploadFile(path, file) {
  const response = await fetch(path, {
    method: 'POST',
    headers: authHeaders({ 'content-type': file.type || 'application/octet-stream' }),
    body: file,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}
