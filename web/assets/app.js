// ferry file browser: lists a folder through /api/v1/files, uploads with
// XMLHttpRequest (for progress), and sends the session's CSRF token on
// every request. No framework, no inline code (the CSP forbids it).
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const readOnly = document.body.dataset.readOnly === "true";
const api = "/api/v1/files";
let sortKey = "name", sortDir = 1, entries = [];

function cwd() {
  const h = decodeURIComponent(location.hash.replace(/^#/, ""));
  return h.startsWith("/") ? h.replace(/\/+$/, "") || "/" : "/";
}
function join(dir, name) { return (dir === "/" ? "" : dir) + "/" + name; }
function url(p) { return api + p.split("/").map(encodeURIComponent).join("/"); }
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}
function status(msg, bad) {
  const s = document.getElementById("status");
  s.textContent = msg || "";
  s.className = bad ? "error" : "";
}
function size(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}

async function call(method, p, query) {
  const r = await fetch(url(p) + (query || ""), { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
  if (r.status === 401) { location.href = "/login"; throw new Error("session expired"); }
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}

async function load() {
  const dir = cwd();
  crumbs(dir);
  try {
    const r = await call("GET", dir);
    entries = (await r.json()).entries;
    render(dir);
    status(entries.length ? "" : "This folder is empty.");
  } catch (e) {
    entries = [];
    render(dir);
    status(e.message, true);
  }
}

function crumbs(dir) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren(el("a", { href: "#/", text: "Home" }));
  let p = "";
  for (const part of dir.split("/").filter(Boolean)) {
    p += "/" + part;
    nav.append(el("span", { class: "sep", text: "/" }), el("a", { href: "#" + encodeURI(p), text: part }));
  }
}

function sorted() {
  const k = sortKey;
  return entries.slice().sort((a, b) => {
    if ((a.type === "dir") !== (b.type === "dir")) return a.type === "dir" ? -1 : 1;
    const x = k === "modified" ? Date.parse(a.modified) : a[k], y = k === "modified" ? Date.parse(b.modified) : b[k];
    return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
  });
}

function render(dir) {
  const body = document.querySelector("#listing tbody");
  body.replaceChildren();
  for (const e of sorted()) {
    const p = join(dir, e.name);
    const link = e.type === "dir"
      ? el("a", { href: "#" + encodeURI(p), class: "dir", text: e.name + "/" })
      : el("a", { href: url(p), download: e.name, class: "file", text: e.name });
    const actions = el("td", { class: "actions" });
    if (!readOnly) {
      actions.append(
        el("button", { type: "button", class: "rename", title: "Rename", "aria-label": "Rename " + e.name, text: "Rename", onclick: () => rename(dir, e) }),
        el("button", { type: "button", class: "delete danger", title: "Delete", "aria-label": "Delete " + e.name, text: "Delete", onclick: () => remove(dir, e) }));
    }
    body.append(el("tr", { "data-name": e.name },
      el("td", { class: "name" }, link),
      el("td", { class: "num", text: e.type === "dir" ? "" : size(e.size) }),
      el("td", { class: "date", text: new Date(e.modified).toLocaleString() }),
      actions));
  }
  for (const b of document.querySelectorAll("th button")) {
    b.classList.toggle("sorted", b.dataset.sort === sortKey);
    b.dataset.dir = sortDir > 0 ? "asc" : "desc";
  }
}

// ask shows the dialog: a question, optionally with a text field; it
// resolves to the text (or true) on OK and null on Cancel.
function ask(text, value, okLabel) {
  const d = document.getElementById("ask"), input = document.getElementById("ask-input");
  document.getElementById("ask-text").textContent = text;
  document.getElementById("ask-ok").textContent = okLabel || "OK";
  input.hidden = value === undefined;
  input.required = value !== undefined;
  input.value = value || "";
  d.returnValue = "";
  d.showModal();
  if (value !== undefined) { input.focus(); input.select(); }
  return new Promise(resolve => {
    d.addEventListener("close", () => {
      if (d.returnValue !== "ok") resolve(null); else resolve(value === undefined ? true : input.value.trim());
    }, { once: true });
  });
}

async function mkdir() {
  const dir = cwd(), name = await ask("Name of the new folder:", "", "Create");
  if (!name) return;
  try { await call("POST", join(dir, name), "?op=mkdir"); status("Created " + name + "."); } catch (e) { status(e.message, true); return; }
  load();
}

async function rename(dir, e) {
  const name = await ask("New name for " + e.name + ":", e.name, "Rename");
  if (!name || name === e.name) return;
  try { await call("POST", join(dir, e.name), "?op=rename&to=" + encodeURIComponent(name)); } catch (err) { status(err.message, true); return; }
  await load();
  status("Renamed " + e.name + " to " + name + ".");
}

async function remove(dir, e) {
  const what = e.type === "dir" ? "the folder " + e.name + " (it must be empty)" : e.name;
  if (!await ask("Delete " + what + "? This cannot be undone.", undefined, "Delete")) return;
  try { await call("DELETE", join(dir, e.name)); } catch (err) { status(err.message, true); return; }
  await load();
  status("Deleted " + e.name + ".");
}

// A file larger than CHUNK goes up in chunks, each a PUT with
// Content-Range, into NAME.ferry-part, renamed over NAME once whole: a
// proxy's body limit is no obstacle, a dropped connection costs one chunk
// (the chunk is sent again from its start, "resumed at"), and NAME still
// changes at once. A smaller file is one PUT, published whole.
const CHUNK = 16 << 20, RETRIES = 5;

// put sends body as a PUT to p with extra headers; onProgress gets the
// bytes of body sent. It resolves to {status, error, lost}.
function put(p, body, headers, onProgress) {
  return new Promise(resolve => {
    const x = new XMLHttpRequest();
    x.open("PUT", url(p));
    x.setRequestHeader("X-CSRF-Token", csrf);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    x.upload.addEventListener("progress", ev => onProgress(ev.loaded));
    x.addEventListener("load", () => {
      let msg = x.statusText;
      try { msg = JSON.parse(x.responseText).error; } catch (e) { /* not JSON */ }
      resolve({ status: x.status, error: x.status >= 200 && x.status < 300 ? "" : msg, lost: false });
    });
    x.addEventListener("error", () => resolve({ status: 0, error: "connection lost", lost: true }));
    x.send(body);
  });
}

// upload sends one file, showing its progress and, when a dropped
// connection made it continue, where it resumed.
async function upload(dir, file) {
  const bar = el("progress", { max: "1", value: "0" });
  const note = el("span", { class: "note" });
  const pct = el("span", { class: "pct", text: "0 %" });
  const row = el("div", { class: "upload" }, el("span", { class: "name", text: file.name }), bar, note, pct);
  document.getElementById("uploads").append(row);
  const show = done => {
    bar.value = file.size ? done / file.size : 1;
    pct.textContent = Math.floor(100 * bar.value) + " %";
  };
  const fail = msg => { pct.textContent = msg; row.classList.add("failed"); };
  const target = join(dir, file.name);
  if (file.size <= CHUNK) {
    const r = await put(target, file, {}, show);
    if (r.error) { fail(r.error); return; }
  } else {
    const part = target + ".ferry-part";
    let off = 0, tries = 0;
    while (off < file.size) {
      const end = Math.min(off + CHUNK, file.size);
      const r = await put(part, file.slice(off, end), { "Content-Range": "bytes " + off + "-" + (end - 1) + "/" + file.size }, n => show(off + n));
      if (!r.error) { off = end; tries = 0; continue; }
      if (!r.lost || ++tries > RETRIES) { fail(r.error); return; }
      row.classList.add("resumed");
      note.textContent = "connection lost; resumed at " + size(off);
      await new Promise(w => setTimeout(w, 1000 * tries));
    }
    try { await call("POST", part, "?op=rename&replace=true&to=" + encodeURIComponent(file.name)); } catch (e) { fail(e.message); return; }
  }
  show(file.size);
  pct.textContent = "done";
  row.classList.add("done");
  setTimeout(() => row.remove(), row.classList.contains("resumed") ? 15000 : 3000);
}

async function uploadAll(files) {
  const dir = cwd();
  const taken = files.filter(f => entries.some(e => e.name === f.name));
  if (taken.length) {
    const names = taken.map(f => f.name).join(", ");
    if (!await ask("Replace " + names + "? The existing " + (taken.length > 1 ? "files" : "file") + " will be overwritten.", undefined, "Replace")) return;
  }
  for (const f of files) await upload(dir, f);
  load();
}

function init() {
  window.addEventListener("hashchange", load);
  for (const b of document.querySelectorAll("th button")) {
    b.addEventListener("click", () => {
      if (sortKey === b.dataset.sort) sortDir = -sortDir; else { sortKey = b.dataset.sort; sortDir = 1; }
      render(cwd());
    });
  }
  if (!readOnly) {
    const input = document.getElementById("file-input");
    input.addEventListener("change", () => { uploadAll(Array.from(input.files)); input.value = ""; });
    document.getElementById("new-folder").addEventListener("click", mkdir);
    const drop = document.getElementById("drop");
    drop.addEventListener("dragover", ev => { ev.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", ev => {
      ev.preventDefault();
      drop.classList.remove("over");
      const files = Array.from(ev.dataTransfer.files || []);
      if (files.length) uploadAll(files);
    });
  }
  load();
}

init();
