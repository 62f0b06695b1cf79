// Following a job: its Server-Sent Events read with fetch(), so the API key goes as a header
// (EventSource cannot send one), resumed with Last-Event-ID, and polling GET /jobs/{id} as the fallback.

export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 300;
const RECONNECTS = 3; // a stream that drops with nothing new is resumed this often before polling

/** A parser fed text chunks in any split; calls onEvent({id, kind, data}) per complete event. */
export function sseParser(onEvent) {
  let buffer = "";
  let event = { id: "", kind: "message", data: [] };
  const dispatch = () => {
    if (event.data.length) {
      let data = event.data.join("\n");
      try {
        data = JSON.parse(data);
      } catch {
        // not JSON: hand on the text
      }
      onEvent({ id: event.id, kind: event.kind, data });
    }
    event = { id: event.id, kind: "message", data: [] };
  };
  const line = (text) => {
    if (text === "") return dispatch();
    if (text.startsWith(":")) return; // a comment: the server's heartbeat
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event.kind = value;
    else if (field === "data") event.data.push(value);
    else if (field === "id") event.id = value;
  };
  let afterCr = false; // a CRLF split between two chunks is still one line end
  return (chunk) => {
    const text = buffer + (afterCr && chunk.startsWith("\n") ? chunk.slice(1) : chunk);
    afterCr = text.endsWith("\r");
    const lines = text.split(/\r\n|\r|\n/);
    buffer = lines.pop(); // the unfinished last line waits for the next chunk
    for (const each of lines) line(each);
  };
}

/** The events a Job's state stands for, for the polling fallback. */
function eventsOf(job) {
  if (job.status === "queued") return [{ kind: "queued", data: { position: job.position ?? 0 } }];
  if (job.status === "running") {
    const { step, steps, progress, eta_ms } = job;
    return [{ kind: "progress", data: { step, steps, progress, eta_ms } }];
  }
  if (job.status === "failed") return [{ kind: "failed", data: { detail: job.error?.detail || "failed" } }];
  return [{ kind: job.status, data: job }];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function poll(id, { apiFetch, errorOf, onEvent }) {
  for (;;) {
    const response = await apiFetch(`/jobs/${encodeURIComponent(id)}`);
    if (!response.ok) throw await errorOf(response);
    const job = await response.json();
    for (const event of eventsOf(job)) onEvent(event);
    if (TERMINAL.has(job.status)) return eventsOf(job).at(-1);
    await sleep(POLL_MS);
  }
}

/** Read one events stream to its end; returns the terminal event, or null when the stream broke off. */
async function stream(response, onEvent, seen) {
  let terminal = null;
  const feed = sseParser((event) => {
    if (event.id) seen.lastId = event.id;
    onEvent(event);
    if (TERMINAL.has(event.kind)) terminal = event;
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    while (!terminal) {
      const { value, done } = await reader.read();
      if (done) break;
      feed(decoder.decode(value, { stream: true }));
    }
  } catch {
    // the connection dropped: the caller resumes from the last id
  } finally {
    reader.cancel().catch(() => {});
  }
  return terminal;
}

/**
 * Follow job `id` until it ends: onEvent({kind, data}) gets queued, started, progress, preview and the
 * terminal event, which is also the result. `apiFetch` sends the key and handles a 401; `errorOf(response)`
 * makes the error thrown for a refused request.
 */
export async function followJob(id, { apiFetch, errorOf, onEvent, previews = true }) {
  const url = `/jobs/${encodeURIComponent(id)}/events${previews ? "?previews=1" : ""}`;
  const seen = { lastId: "" };
  for (let failures = 0; failures <= RECONNECTS; ) {
    const before = seen.lastId;
    const headers = { Accept: "text/event-stream" };
    if (seen.lastId) headers["Last-Event-ID"] = seen.lastId;
    let response;
    try {
      response = await apiFetch(url, { headers });
    } catch {
      break;
    }
    // A refused key was already asked for once: asking again by polling would only nag.
    if (response.status === 401 || response.status === 403) throw await errorOf(response);
    if (!response.ok || !response.body) break;
    const terminal = await stream(response, onEvent, seen);
    if (terminal) return terminal;
    if (seen.lastId !== before) failures = 0; // a stream that moved on was not a failure
    else {
      failures += 1;
      await sleep(POLL_MS);
    }
  }
  return poll(id, { apiFetch, errorOf, onEvent });
}

// ---------------------------------------------------------------- the live view of one job

function eta(ms) {
  return ms == null ? "" : ` · about ${Math.max(1, Math.round(ms / 1000))} s left`;
}

/**
 * The panel that shows one job at a time: queue position, a progress bar with step/steps, the latest
 * preview and a Cancel button. `cancel()` is called on a click; the panel says what it answered.
 */
export function jobView(element, { cancel }) {
  const bar = element.querySelector(".job-bar");
  const text = element.querySelector(".job-text");
  const preview = element.querySelector(".job-preview");
  const button = element.querySelector(".job-cancel");
  const say = (state, words) => {
    element.dataset.state = state;
    text.textContent = words;
  };
  const queued = (position) => say("queued", position ? `Queued: ${position} ahead` : "Queued: next up");
  const progress = ({ step, steps, eta_ms }) => {
    bar.max = steps || 1;
    bar.value = step || 0;
    say("running", `${step}/${steps} steps${eta(eta_ms)}`);
  };

  button.onclick = async () => {
    button.disabled = true;
    say(element.dataset.state, "Cancelling…");
    const answer = await cancel().catch((err) => err.message);
    if (answer) text.textContent = answer; // a 409 (already over) or an error; the stream still ends it
  };

  return {
    start(job) {
      element.hidden = false;
      preview.hidden = true;
      preview.removeAttribute("src");
      button.hidden = false;
      button.disabled = false;
      bar.max = job.steps || 1;
      bar.value = 0;
      queued(job.position);
    },
    onEvent({ kind, data }) {
      if (kind === "queued") queued(data.position);
      else if (kind === "started") say("running", `0/${bar.max} steps`);
      else if (kind === "progress") progress(data);
      else if (kind === "preview" && data.image) {
        preview.src = `data:image/jpeg;base64,${data.image}`;
        preview.hidden = false;
      } else if (TERMINAL.has(kind)) {
        button.hidden = true;
        if (kind === "succeeded") {
          bar.value = bar.max;
          say(kind, `${bar.max}/${bar.max} steps · done`);
        } else say(kind, kind === "cancelled" ? "Cancelled: nothing was stored" : "Failed");
      }
    },
    hide() {
      element.hidden = true;
    },
  };
}
