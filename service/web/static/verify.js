// certseal verification page: send the chosen or dropped PDF to /verify, show the verdict.
// Plain browser JavaScript, no framework, nothing loaded from outside the service.
"use strict";
(function () {
  const labels = JSON.parse(document.getElementById("labels").textContent);
  const lang = document.documentElement.lang || "en";
  const form = document.getElementById("verify-form");
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const status = document.getElementById("status");
  const result = document.getElementById("result");
  const maxBytes = Number(form.dataset.maxBytes || 0);
  const ICONS = { VALID: "✓", INVALID: "✗", INDETERMINATE: "?", NO_LEGAL_VALUE: "⚠" };
  const $ = (id) => document.getElementById(id);
  const label = (key, fallback) => (key in labels ? labels[key] : fallback);

  function envText(env) {
    if (!env) return label("unknown", "unknown");
    const legal = env === "production" ? labels.legal_yes : labels.legal_no;
    return label("env_" + env, env) + " (" + legal + ")";
  }

  function when(iso) {
    if (!iso) return label("unknown", "unknown");
    const d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    return d.toLocaleString(lang, { timeZone: "UTC", dateStyle: "long", timeStyle: "short" }) + " UTC";
  }

  function show(report, fileName) {
    const verdict = report.verdict;
    const h = $("verdict");
    h.className = "verdict verdict-" + verdict;
    h.querySelector(".icon").textContent = ICONS[verdict] || "?";
    h.querySelector(".words").textContent = label("verdict_" + verdict, verdict);
    const worst = (report.findings || []).find((f) => f.verdict === verdict);
    $("headline").textContent = worst ? label("kind_" + worst.kind, report.headline || "") : "";
    $("headline").hidden = !worst;
    $("advice").textContent = label("advice_" + verdict, "");
    $("reference").textContent = report.reference || label("unknown", "unknown");
    const env = report.environment || {};
    $("environment").textContent = envText(env.signer || env.metadata || env.watermark);
    const seal = (report.signatures || [])[0];
    $("signer").textContent = seal && seal.signer
      ? seal.signer + (seal.trusted ? "" : " (" + labels.untrusted + ")") : label("unknown", "unknown");
    $("sealed-on").textContent = when(seal && seal.signing_time);
    $("file-name").textContent = fileName || "";
    $("sha256").textContent = report.file_sha256 || "";
    const list = $("reasons");
    list.replaceChildren();
    const reasons = report.reasons || [];
    if (reasons.length === 0) {
      const li = document.createElement("li");
      li.lang = lang;
      li.textContent = labels.no_reasons;
      list.appendChild(li);
    }
    for (const r of reasons) {
      const li = document.createElement("li");
      li.textContent = r;
      list.appendChild(li);
    }
    const img = $("thumbnail");
    if (report.thumbnail) {
      img.src = report.thumbnail;
      img.alt = labels.thumbnail + (report.reference ? " — " + report.reference : "");
      img.hidden = false;
      $("thumbnail-caption").textContent = labels.thumbnail;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
      $("thumbnail-caption").textContent = labels.thumbnail_none;
    }
    result.hidden = false;
    // Announced to screen readers (the heading also takes focus), not shown twice on screen.
    status.classList.add("visually-hidden");
    status.textContent = label("verdict_" + verdict, verdict);
    h.focus();
  }

  function fail(message) {
    result.hidden = true;
    status.classList.remove("visually-hidden");
    status.textContent = labels.error + ": " + message;
  }

  async function check(file) {
    if (!file) return;
    if (maxBytes && file.size > maxBytes) {
      fail(file.name + " > " + Math.round(maxBytes / 1048576) + " MiB");
      return;
    }
    result.hidden = true;
    status.classList.remove("visually-hidden");
    status.textContent = labels.checking;
    const body = new FormData();
    body.append("file", file, file.name);
    const headers = {};
    const token = document.getElementById("token");
    if (token && token.value) headers["Authorization"] = "Bearer " + token.value;
    try {
      const response = await fetch("/verify?thumbnail=true", { method: "POST", body: body, headers: headers });
      const data = await response.json().catch(() => ({}));
      if (!response.ok || !data.verdict) {
        const detail = typeof data.detail === "string" ? data.detail : response.status + " " + response.statusText;
        fail(detail);
        return;
      }
      show(data, file.name);
    } catch (err) {
      fail(String(err));
    }
  }

  input.addEventListener("change", () => {
    check(input.files[0]);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check(input.files[0]);
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) check(file);
  });
  // A file dropped outside the zone must not make the browser navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  $("another").addEventListener("click", () => {
    input.value = "";
    result.hidden = true;
    status.textContent = "";
    input.focus();
  });
})();
