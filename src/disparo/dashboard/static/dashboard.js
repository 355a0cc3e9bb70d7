// Live figures for the dashboard: every element with data-poll fetches its JSON URL every
// few seconds and writes the values into the [data-field] elements of the matching
// [data-row] (or of itself). No framework, no build step.
"use strict";

const POLL_MS = 2000;

function setField(el, value) {
  if (el.tagName === "PROGRESS") {
    el.max = value.max;
    el.value = value.value;
    return;
  }
  if (el.classList.contains("badge")) {
    el.className = "badge status-" + value;
    el.closest("[data-row]")?.setAttribute("data-status", value);
  }
  if (el.dataset.field === "error_message" || el.dataset.field === "window_wait") el.hidden = !value;
  el.textContent = value;
}

function fill(scope, data) {
  scope.querySelectorAll("[data-field]").forEach((el) => {
    const key = el.dataset.field;
    if (key === "progress") setField(el, { max: data.progress_max, value: data.progress_value });
    else if (key in data && typeof data[key] !== "object") setField(el, data[key]);
  });
}

function rowsOf(root) {
  const rows = new Map();
  root.querySelectorAll("[data-row]").forEach((row) => rows.set(row.dataset.row, row));
  return rows;
}

// A campaign the page has not shown yet: the row as the server renders it (item.html, the
// page's own macro), so it looks exactly like the rows that came with the page.
function newCampaignRow(item) {
  const holder = document.createElement("template");
  holder.innerHTML = item.html.trim();
  return holder.content.firstElementChild;
}

const apply = {
  campaigns(root, data) {
    const body = root.querySelector("tbody");
    const rows = rowsOf(body);
    const wanted = data.items.map((item) => item.id);
    if (wanted.join() !== [...rows.keys()].join()) {
      body.replaceChildren(...data.items.map((item) => rows.get(item.id) || newCampaignRow(item)));
    }
    data.items.forEach((item) => fill(rowsOf(body).get(item.id), item));
    const empty = root.querySelector("[data-empty]");
    if (empty) empty.hidden = data.items.length > 0;
    root.querySelector('[data-field="total"]').textContent = data.total.toLocaleString("en");
    root.querySelectorAll("[data-count]").forEach((el) => {
      const count = data.counts[el.dataset.count] || 0;
      el.textContent = count.toLocaleString("en");
      el.closest(".chip").hidden = count === 0;
    });
  },
  campaign(root, data) {
    const rows = rowsOf(root);
    const summary = rows.get(data.campaign.id);
    if (summary) fill(summary, data.campaign);
    data.batches.forEach((batch) => {
      const row = rows.get("batch-" + batch.sequence);
      if (row) fill(row, batch);
    });
    const counts = root.querySelector('[data-field="batch_counts"]');
    if (counts) {
      counts.textContent = Object.entries(data.batch_counts)
        .map(([status, n]) => status + " " + n)
        .join(" · ");
    }
  },
  queues(root, data) {
    const rows = rowsOf(root);
    Object.entries(data.queues).forEach(([name, counts]) => {
      const row = rows.get(name);
      if (row) fill(row, Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v.toLocaleString("en")])));
    });
    ["outbox_pending", "outbox_age", "dead_letters"].forEach((name) => {
      const el = root.querySelector(`[data-field="${name}"]`);
      if (el) setField(el, data[name]);
    });
  },
};

async function poll(root) {
  if (document.hidden) return;
  let response;
  try {
    response = await fetch(root.dataset.poll, { headers: { Accept: "application/json" } });
  } catch (error) {
    document.body.classList.add("offline");
    return;
  }
  document.body.classList.toggle("offline", !response.ok);
  if (response.status === 401) {
    window.location.reload(); // the session ended: the page sends us to sign in
    return;
  }
  if (response.ok) apply[root.dataset.kind](root, await response.json());
}

document.querySelectorAll("[data-poll]").forEach((root) => {
  setInterval(() => poll(root), POLL_MS);
});

// Forms that ask before acting (data-confirm) say what they will do.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});
