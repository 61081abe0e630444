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

// upload sends one file as the body of a PUT, so the server streams it to
// disk; the progress bar follows the bytes sent.
function upload(dir, file) {
  const bar = el("progress", { max: "1", value: "0" });
  const label = el("span", { class: "name", text: file.name });
  const row = el("div", { class: "upload" }, label, bar, el("span", { class: "pct", text: "0 %" }));
  document.getElementById("uploads").append(row);
  return new Promise(resolve => {
    const x = new XMLHttpRequest();
    x.open("PUT", url(join(dir, file.name)));
    x.setRequestHeader("X-CSRF-Token", csrf);
    x.upload.addEventListener("progress", ev => {
      if (!ev.lengthComputable) return;
      bar.value = ev.loaded / ev.total;
      row.lastChild.textContent = Math.floor(100 * ev.loaded / ev.total) + " %";
    });
    x.addEventListener("load", () => {
      if (x.status >= 200 && x.status < 300) {
        bar.value = 1;
        row.lastChild.textContent = "done";
        row.classList.add("done");
        setTimeout(() => row.remove(), 3000);
      } else {
        let msg = x.statusText;
        try { msg = JSON.parse(x.responseText).error; } catch (e) { /* not JSON */ }
        row.lastChild.textContent = msg;
        row.classList.add("failed");
      }
      resolve();
    });
    x.addEventListener("error", () => { row.lastChild.textContent = "connection lost"; row.classList.add("failed"); resolve(); });
    x.send(file);
  });
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
