// The staff token of the pages: entered once, kept in localStorage, sent as
// `Authorization: Bearer …` by fetch() and, because EventSource and WebSocket
// cannot send headers, as a path-scoped SameSite=Strict cookie that the server
// accepts only on GET /kitchen/events and GET /ws/orders. Plain ES module; the
// prompt is built with DOM APIs (no inline code or styles, so the CSP holds).

const TOKEN_KEY = "forkflow.staffToken";
const COOKIE = "forkflow_token";
const STREAM_PATHS = ["/kitchen/events", "/ws/orders"];

/** The stored token, or null. */
export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Stores `token` (or forgets it when empty) and refreshes the stream cookies. */
export function setToken(token) {
  const value = (token ?? "").trim();
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private mode without storage: the token lives as long as the cookie.
  }
  syncCookies(value);
}

/** Forgets the token. */
export function clearToken() {
  setToken("");
}

function syncCookies(value) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  for (const path of STREAM_PATHS) {
    document.cookie = value
      ? `${COOKIE}=${
        encodeURIComponent(value)
      }; Path=${path}; SameSite=Strict${secure}`
      : `${COOKIE}=; Path=${path}; Max-Age=0; SameSite=Strict${secure}`;
  }
}

/** `{Authorization: "Bearer …"}` when a token is stored, else `{}`. */
export function authHeaders() {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

let asking = null;

/**
 * Asks for the staff token in a modal dialog; resolves to true when one was
 * entered (stored, so the caller can retry), false when cancelled. Callers
 * that hit a 401/403 at once share one dialog.
 *
 * @param {string} [reason] why the server refused, shown above the field
 */
export function askForToken(reason) {
  asking ??= showPrompt(reason).finally(() => asking = null);
  return asking;
}

function showPrompt(reason) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "token-dialog";
    const form = document.createElement("form");
    form.method = "dialog";
    const title = document.createElement("h2");
    title.textContent = "Staff token needed";
    const why = document.createElement("p");
    why.textContent = reason ||
      "This screen needs the staff token. Ask the manager; it is asked once per device.";
    const label = document.createElement("label");
    label.textContent = "Token ";
    const input = document.createElement("input");
    input.type = "password";
    input.name = "token";
    input.autocomplete = "current-password";
    input.required = true;
    label.append(input);
    const save = document.createElement("button");
    save.type = "submit";
    save.value = "save";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "submit";
    cancel.value = "cancel";
    cancel.formNoValidate = true;
    cancel.textContent = "Cancel";
    form.append(title, why, label, save, cancel);
    dialog.append(form);
    dialog.addEventListener("close", () => {
      const ok = dialog.returnValue === "save" && input.value.trim() !== "";
      if (ok) setToken(input.value);
      dialog.remove();
      resolve(ok);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

// A token stored before the cookie existed (or by an older page) still reaches the streams.
if (getToken()) syncCookies(getToken());
