// PixyProxy gallery: plain JavaScript over the JSON API, no build step, nothing from the network.
//
// Every request goes through apiFetch(), which sends the stored API key as X-API-Key and, on a
// 401, asks for a key once (in the page's own dialog), stores it and retries. Images are always
// loaded with fetch() and shown through blob: URLs, because <img src> cannot send the header.
// Generating makes a job (POST /jobs) and follows it live through jobs.js.
import { followJob, jobView } from "/static/jobs.js";

(() => {
  const PAGE_SIZE = 24;
  // The grid shows small WebP thumbnails (made once and kept by the server); the detail view the PNG.
  const THUMB_QUERY = "?width=256&format=webp";
  const KEY_STORAGE = "pixyproxy.apiKey";
  const NUMBER_FIELDS = [
    ["seed", "int"],
    ["steps", "int"],
    ["guidance_scale", "float"],
    ["width", "int"],
    ["height", "int"],
  ];

  const $ = (selector) => document.querySelector(selector);

  const gallery = { offset: 0, loading: false, done: false, seen: new Set() };
  const imageUrls = new Map(); // content URL -> Promise of a blob: URL
  let memoryKey = ""; // used when localStorage is unavailable
  let keyPrompt = null; // the pending "ask for a key" promise, shared by concurrent 401s
  let current = null; // the ImageDetail shown in the detail dialog
  const samplerNames = new Set(); // GET /samplers: the names a request may give

  // ---------------------------------------------------------------- API key

  function getKey() {
    try {
      return localStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return memoryKey;
    }
  }

  function setKey(key) {
    memoryKey = key;
    try {
      if (key) localStorage.setItem(KEY_STORAGE, key);
      else localStorage.removeItem(KEY_STORAGE);
    } catch {
      // private mode or storage disabled: the in-memory key still works for this page
    }
  }

  /** Show the key dialog; resolves true when a key was saved. Concurrent callers share one dialog. */
  function askForKey(reason) {
    if (keyPrompt) return keyPrompt;
    const dialog = $("#key-dialog");
    const input = $("#api-key");
    keyPrompt = new Promise((resolve) => {
      $("#key-reason").textContent = reason || "This service needs an API key.";
      input.value = getKey();
      dialog.returnValue = "";
      dialog.addEventListener(
        "close",
        () => {
          keyPrompt = null;
          if (dialog.returnValue === "save" && input.value.trim()) {
            setKey(input.value.trim());
            resolve(true);
          } else {
            if (dialog.returnValue === "clear") setKey("");
            resolve(false);
          }
        },
        { once: true },
      );
      dialog.showModal();
      input.focus();
    });
    return keyPrompt;
  }

  // ---------------------------------------------------------------- fetch helpers

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  /** The client-safe message of an error response: the JSON `detail` when there is one. */
  async function errorDetail(response) {
    try {
      const body = await response.clone().json();
      if (body && typeof body.detail === "string") return body.detail;
      if (body && Array.isArray(body.detail) && body.detail.length) {
        return body.detail.map((e) => e.msg || String(e)).join("; ");
      }
      if (body && body.error && body.error.message) return body.error.message;
    } catch {
      // not JSON
    }
    return `${response.status} ${response.statusText || "error"}`.trim();
  }

  async function apiFetch(url, options = {}) {
    const send = async () => {
      const headers = new Headers(options.headers || {});
      const key = getKey();
      if (key) headers.set("X-API-Key", key);
      try {
        return await fetch(url, { ...options, headers });
      } catch {
        throw new ApiError("Could not reach the service: check that it is running.", 0);
      }
    };
    let response = await send();
    if (response.status === 401) {
      const reason = await errorDetail(response);
      if (await askForKey(`The service answered: ${reason}. Enter an API key.`)) response = await send();
    }
    return response;
  }

  async function apiJson(url, options) {
    const response = await apiFetch(url, options);
    if (!response.ok) throw new ApiError(await errorDetail(response), response.status);
    return response.json();
  }

  /** A blob: URL for an image's PNG (or, with `query`, a variant of it), fetched once per page load. */
  function imageUrl(guid, query = "") {
    const url = `/image/${encodeURIComponent(guid)}/content${query}`;
    if (!imageUrls.has(url)) {
      const promise = apiFetch(url).then(async (response) => {
        if (!response.ok) throw new ApiError(await errorDetail(response), response.status);
        return URL.createObjectURL(await response.blob());
      });
      promise.catch(() => imageUrls.delete(url)); // a later view may try again
      imageUrls.set(url, promise);
    }
    return imageUrls.get(url);
  }

  /** Say so when the service runs on the tiny fallback model; /ready needs no key. */
  async function showFallback() {
    try {
      const response = await fetch("/ready");
      const body = await response.json();
      $("#fallback").hidden = body.fallback !== true;
    } catch {
      // no answer: say nothing rather than guess
    }
  }

  // ---------------------------------------------------------------- status and messages

  /** Show (or with no text, hide) a message; `source` lets its sender clear only its own. */
  function showMessage(element, text, source = "") {
    element.textContent = text || "";
    element.hidden = !text;
    element.dataset.source = text ? source : "";
  }

  /** Disable the button and count elapsed seconds; returns a function that ends the busy state. */
  function startBusy({ button, status, message }) {
    const started = performance.now();
    const text = status.querySelector(".status-text");
    const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
    const tick = () => {
      text.textContent = `Generating… ${seconds()} s`;
    };
    button.disabled = true;
    showMessage(message, "");
    status.hidden = false;
    status.classList.add("running");
    tick();
    const timer = setInterval(tick, 100);
    return (outcome) => {
      clearInterval(timer);
      button.disabled = false;
      status.classList.remove("running");
      if (outcome === "cancelled") text.textContent = `Cancelled after ${seconds()} s`;
      else if (outcome) text.textContent = `Done in ${seconds()} s`;
      else status.hidden = true;
    };
  }

  // ---------------------------------------------------------------- grid

  function makeThumb(item) {
    const thumb = document.createElement("button");
    thumb.type = "button";
    thumb.className = "thumb";
    thumb.dataset.testid = "thumb";
    thumb.dataset.guid = item.guid;
    thumb.title = item.prompt;
    const img = document.createElement("img");
    img.alt = item.prompt;
    img.decoding = "async";
    img.addEventListener("load", () => {
      thumb.dataset.loaded = "true";
    });
    const caption = document.createElement("span");
    caption.className = "caption";
    caption.textContent = item.prompt;
    thumb.append(img, caption);
    thumb.addEventListener("click", () => openDetail(item));
    imageUrl(item.guid, THUMB_QUERY).then(
      (url) => {
        img.src = url;
      },
      (err) => {
        thumb.classList.add("broken");
        caption.textContent = `${item.prompt} (${err.message})`;
      },
    );
    return thumb;
  }

  /** Add one image to the grid, at the start (just generated) or the end (older page). */
  function addItem(item, where) {
    if (!item || !item.guid || gallery.seen.has(item.guid)) return false;
    gallery.seen.add(item.guid);
    const grid = $("#grid");
    const thumb = makeThumb(item);
    if (where === "start") grid.prepend(thumb);
    else grid.append(thumb);
    return true;
  }

  function updateMore() {
    $("#load-more").hidden = gallery.done;
    $("#empty").hidden = !(gallery.done && gallery.seen.size === 0);
  }

  async function loadMore() {
    if (gallery.loading) return;
    gallery.loading = true;
    const button = $("#load-more");
    button.disabled = true;
    try {
      const items = await apiJson(`/image/?limit=${PAGE_SIZE}&offset=${gallery.offset}`);
      if (!Array.isArray(items)) throw new ApiError("Unexpected answer from /image/", 200);
      let added = 0;
      for (const item of items) if (addItem(item, "end")) added += 1;
      gallery.offset += items.length;
      // Fewer than a page means the end; more than a page means the server ignored limit and
      // sent everything; a page of nothing new means the list moved under us.
      gallery.done = items.length !== PAGE_SIZE || added === 0;
      if ($("#message").dataset.source === "list") showMessage($("#message"), "");
    } catch (err) {
      showMessage($("#message"), err.message, "list");
    } finally {
      gallery.loading = false;
      button.disabled = false;
      updateMore();
    }
  }

  function resetGallery() {
    gallery.offset = 0;
    gallery.done = false;
    gallery.seen.clear();
    $("#grid").replaceChildren();
    return loadMore();
  }

  /** A freshly generated image: first in the grid, and one more row before the next page. */
  function addGenerated(item) {
    if (addItem(item, "start")) gallery.offset += 1;
    updateMore();
  }

  // ---------------------------------------------------------------- generation

  function formBody() {
    const body = { prompt: $("#prompt").value };
    const negative = $("#negative_prompt").value;
    if (negative !== "") body.negative_prompt = negative;
    for (const name of ["model", "sampler"]) {
      if ($(`#${name}`).value !== "") body[name] = $(`#${name}`).value; // unset: the server's default
    }
    for (const [name, kind] of NUMBER_FIELDS) {
      const input = $(`#${name}`);
      if (input.validity.badInput) throw new ApiError(`${name}: not a number`, 0);
      const raw = input.value.trim();
      if (raw === "") continue; // only the fields the user filled in
      const value = kind === "int" ? Number(raw) : Number.parseFloat(raw);
      if (!Number.isFinite(value)) throw new ApiError(`${name}: not a number`, 0);
      body[name] = value;
    }
    return body;
  }

  /** The settings an image was made with, to make it again (same seed). */
  function settingsOf(item) {
    const body = { prompt: item.prompt };
    if (item.negative_prompt) body.negative_prompt = item.negative_prompt;
    for (const [name] of NUMBER_FIELDS) {
      if (item[name] !== null && item[name] !== undefined) body[name] = item[name];
    }
    if (item.model) body.model = item.model;
    if (samplerNames.has(item.sampler)) body.sampler = item.sampler; // a model's own may have no A1111 name
    return body;
  }

  // ---------------------------------------------------------------- model and sampler pickers

  function addOption(select, value, label, { disabled = false, title = "" } = {}) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    option.disabled = disabled;
    if (title) option.title = title;
    select.append(option);
  }

  /** GET /models and GET /samplers fill the pickers; "default" and "the model's own" stay first, unset. */
  async function loadChoices() {
    try {
      const [models, samplers] = await Promise.all([apiJson("/models"), apiJson("/samplers")]);
      const modelSelect = $("#model");
      for (const model of models) {
        const label = model.default ? `${model.id} (default)` : model.id;
        const why = model.available ? (model.workers ? `workers: ${model.workers.join(", ")}` : "") : model.reason;
        addOption(modelSelect, model.id, model.available ? label : `${label}: unavailable`, {
          disabled: !model.available,
          title: why || "",
        });
      }
      for (const name of samplers.samplers) {
        samplerNames.add(name);
        addOption($("#sampler"), name, name);
      }
      $("#model").dataset.loaded = "true";
    } catch (err) {
      // Without the lists the pickers keep their defaults: generating still works.
      showMessage($("#message"), `models and samplers not listed: ${err.message}`);
    }
  }

  /** A select set to ``value`` when it offers it, else back to its first (unset) choice. */
  function choose(select, value) {
    const offered = [...select.options].some((option) => option.value === value && !option.disabled);
    select.value = offered ? value : "";
  }

  const errorOf = async (response) => new ApiError(await errorDetail(response), response.status);

  /** DELETE the job; what to say when it could not be cancelled (a 409: it had already finished). */
  async function cancelJob(id) {
    const response = await apiFetch(`/jobs/${encodeURIComponent(id)}`, { method: "DELETE" });
    if (response.status === 409) return "Already finished";
    return response.ok ? "" : errorDetail(response);
  }

  /** Make a job and follow it live; resolves to the first new image, or null when it failed or was cancelled. */
  async function generate(body, ui) {
    const done = startBusy(ui);
    ui.job.hide();
    try {
      const job = await apiJson("/jobs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      ui.job.start(job);
      ui.cancel = () => cancelJob(job.id);
      const end = await followJob(job.id, { apiFetch, errorOf, onEvent: ui.job.onEvent });
      if (end.kind === "failed") throw new ApiError(end.data.detail || "image generation failed", 0);
      if (end.kind === "cancelled") {
        done("cancelled");
        return null;
      }
      const images = end.data.images || [];
      done(true);
      for (const item of [...images].reverse()) addGenerated(item); // the first image ends up first
      return images[0] || null;
    } catch (err) {
      done(false);
      showMessage(ui.message, err.message);
      return null;
    }
  }

  /** What generate() drives: the button, the elapsed-time status, the message and the job panel. */
  function makeUi(button, status, message, panel) {
    const ui = { button: $(button), status: $(status), message: $(message), cancel: async () => "" };
    ui.job = jobView($(panel), { cancel: () => ui.cancel() });
    return ui;
  }

  let mainUi = null; // made in init(), once the page is there
  let detailUi = null;

  async function onGenerate(event) {
    event.preventDefault();
    if ($("#generate").disabled) return;
    let body;
    try {
      body = formBody();
    } catch (err) {
      showMessage($("#message"), err.message);
      return;
    }
    const item = await generate(body, mainUi);
    if (item) {
      const thumb = document.querySelector(`.thumb[data-guid="${CSS.escape(item.guid)}"]`);
      if (thumb) thumb.classList.add("fresh");
    }
  }

  // ---------------------------------------------------------------- detail dialog

  function formatCreated(value) {
    if (!value) return "—";
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  function orDash(value) {
    return value === null || value === undefined || value === "" ? "—" : String(value);
  }

  function fillDetail(item) {
    const set = (id, text) => {
      $(id).textContent = text;
    };
    set("#d-prompt", item.prompt);
    set("#d-negative", orDash(item.negative_prompt));
    set("#d-seed", orDash(item.seed));
    set("#d-steps", orDash(item.steps));
    set("#d-guidance", orDash(item.guidance_scale));
    set("#d-size", item.width && item.height ? `${item.width} × ${item.height}` : "—");
    set("#d-model", orDash(item.model));
    set("#d-sampler", orDash(item.sampler));
    set("#d-created", formatCreated(item.created_at));
    $("#d-created").title = item.created_at || "";
    set("#d-took", item.generation_ms == null ? "—" : `${(item.generation_ms / 1000).toFixed(2)} s`);
    set("#d-guid", item.guid);
    set("#d-source", item.init_image ? `${item.init_image} (strength ${item.strength})` : "—");

    const img = $("#detail-img");
    const link = $("#download");
    img.removeAttribute("src");
    img.alt = item.prompt;
    link.removeAttribute("href");
    link.download = item.filename || `${item.guid}.png`;
    imageUrl(item.guid).then(
      (url) => {
        if (current !== item) return;
        img.src = url;
        link.href = url;
      },
      (err) => {
        if (current === item) showMessage($("#detail-message"), err.message);
      },
    );
  }

  function openDetail(item) {
    current = item;
    const dialog = $("#detail");
    if (!$("#again").disabled) {
      $("#detail-status").hidden = true;
      detailUi.job.hide();
      showMessage($("#detail-message"), "");
    }
    fillDetail(item);
    if (!dialog.open) dialog.showModal();
  }

  /** Run a job from the detail view and show its image there; "Generate again" and "Vary" wait for each other. */
  async function generateInDetail(body) {
    $("#vary").disabled = true;
    try {
      const item = await generate(body, detailUi);
      if (item && $("#detail").open) {
        current = item;
        fillDetail(item);
      }
    } finally {
      $("#vary").disabled = false;
    }
  }

  async function onAgain() {
    if (!current || $("#again").disabled) return;
    await generateInDetail(settingsOf(current));
  }

  /** img2img from the image shown: same prompt, a fresh seed; size and strength are the server's defaults. */
  async function onVary() {
    if (!current || $("#again").disabled) return;
    const body = { prompt: current.prompt, init_image: current.guid };
    if (current.negative_prompt) body.negative_prompt = current.negative_prompt;
    if (current.guidance_scale != null) body.guidance_scale = current.guidance_scale;
    await generateInDetail(body);
  }

  function onReuse() {
    if (!current) return;
    const item = current;
    $("#prompt").value = item.prompt;
    $("#negative_prompt").value = item.negative_prompt || "";
    for (const [name] of NUMBER_FIELDS) $(`#${name}`).value = item[name] == null ? "" : String(item[name]);
    choose($("#model"), item.model || "");
    choose($("#sampler"), item.sampler || "");
    $("#options").open = true;
    $("#detail").close();
    $("#prompt").focus();
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    mainUi = makeUi("#generate", "#status", "#message", "#job");
    detailUi = makeUi("#again", "#detail-status", "#detail-message", "#detail-job");
    $("#gen-form").addEventListener("submit", onGenerate);
    $("#prompt").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        $("#gen-form").requestSubmit();
      }
    });
    $("#load-more").addEventListener("click", loadMore);

    const detail = $("#detail");
    $("#again").addEventListener("click", onAgain);
    $("#vary").addEventListener("click", onVary);
    $("#reuse").addEventListener("click", onReuse);
    $("#close").addEventListener("click", () => detail.close());
    detail.addEventListener("click", (event) => {
      if (event.target === detail) detail.close(); // a click on the backdrop
    });

    const keyDialog = $("#key-dialog");
    $("#key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      keyDialog.close(event.submitter ? event.submitter.value : "save");
    });
    $("#key-button").addEventListener("click", async () => {
      const hadKey = Boolean(getKey());
      const saved = await askForKey("Set the key sent as X-API-Key, or forget it.");
      if (saved || (hadKey && !getKey())) resetGallery();
    });

    loadMore();
    showFallback();
    loadChoices();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
