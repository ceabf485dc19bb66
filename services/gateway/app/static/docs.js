// Renders /api/openapi.json as a readable, filterable list of operations. DOM nodes are built
// with textContent only: the document comes from the services, and nothing in it may run here.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function resolve(doc, node, seen = new Set()) {
  // Inline $refs (one level per name, so recursive schemas stay finite).
  if (Array.isArray(node)) return node.map((item) => resolve(doc, item, seen));
  if (!node || typeof node !== "object") return node;
  if (typeof node.$ref === "string" && node.$ref.startsWith("#/")) {
    if (seen.has(node.$ref)) return { $ref: node.$ref };
    const target = node.$ref.slice(2).split("/").reduce((acc, part) => (acc ? acc[part] : undefined), doc);
    return resolve(doc, target, new Set([...seen, node.$ref]));
  }
  const out = {};
  for (const [key, value] of Object.entries(node)) out[key] = resolve(doc, value, seen);
  return out;
}

function json(value) {
  return el("pre", {}, JSON.stringify(value, null, 2));
}

function operationView(doc, path, method, op) {
  const body = el("div", { class: "op-body" });
  if (op.description) body.append(el("p", {}, op.description));
  if (op.security && op.security.length) {
    body.append(el("p", {}, "Requires: " + op.security.map((s) => Object.keys(s).join(" + ") || "none").join(" or ")));
  }
  const params = op.parameters || [];
  if (params.length) {
    const rows = params.map((p) => {
      const param = resolve(doc, p);
      return el("tr", {}, el("td", {}, el("code", {}, param.name || "")), el("td", {}, param.in || ""),
        el("td", {}, param.required ? "required" : "optional"), el("td", {}, param.description || ""));
    });
    body.append(el("h4", {}, "Parameters"),
      el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, ""), el("th", {}, "")), ...rows));
  }
  if (op.requestBody) {
    const rb = resolve(doc, op.requestBody);
    for (const [type, media] of Object.entries(rb.content || {})) {
      body.append(el("h4", {}, `Request body (${type})`), json(media.schema || {}));
    }
  }
  for (const [status, response] of Object.entries(op.responses || {})) {
    const resolved = resolve(doc, response);
    body.append(el("h4", {}, `${status} ${resolved.description || ""}`));
    for (const [type, media] of Object.entries(resolved.content || {})) {
      if (media.schema) body.append(el("p", {}, type), json(media.schema));
    }
  }
  const summary = el("summary", {}, el("span", { class: `method ${method}` }, method), " ",
    el("code", {}, path), op.summary ? `  ${op.summary}` : "");
  const details = el("details", { class: "op" }, summary, body);
  details.dataset.search = `${method} ${path} ${op.summary || ""} ${(op.tags || []).join(" ")}`.toLowerCase();
  return details;
}

function render(doc) {
  const content = document.getElementById("content");
  content.replaceChildren();
  if ((doc["x-atelier-missing"] || []).length) {
    content.append(el("p", { class: "missing" },
      "Not shown (document unavailable): " + doc["x-atelier-missing"].join(", ")));
  }
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "put", "post", "delete", "patch", "head", "options"].includes(method)) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationView(doc, path, method, op));
    }
  }
  if (!byTag.size) content.append(el("p", {}, "No service has published its API document yet."));
  for (const [tag, ops] of byTag) {
    content.append(el("section", {}, el("h2", {}, tag.replace(/_/g, " ")), ...ops));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  fetch("/api/openapi.json", { headers: { Accept: "application/json" } })
    .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.json(); })
    .then(render)
    .catch((err) => {
      document.getElementById("content").replaceChildren(el("p", { class: "missing" }, `Could not load the API document: ${err.message}`));
    });
  document.getElementById("filter").addEventListener("input", (event) => {
    const needle = event.target.value.trim().toLowerCase();
    for (const op of document.querySelectorAll("details.op")) op.hidden = needle && !op.dataset.search.includes(needle);
    for (const section of document.querySelectorAll("section")) {
      section.hidden = ![...section.querySelectorAll("details.op")].some((op) => !op.hidden);
    }
  });
});
