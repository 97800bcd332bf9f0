// Polls the run's JSON endpoint and updates progress, stats and the live log until it finishes:
// polling stops as soon as the server says the run is no longer active (one reload then shows the
// sections the server renders only for a finished run, such as the grouped conflicts).
(function () {
  const box = document.getElementById("run");
  if (!box) return;
  const url = box.dataset.pollUrl;
  const log = document.getElementById("run-log");
  let active = box.dataset.active === "1";
  let lastId = 0;
  log.querySelectorAll("li").forEach((li) => { lastId = Math.max(lastId, Number(li.dataset.id)); });

  function text(id, value) { const el = document.getElementById(id); if (el) el.textContent = value; }

  function render(data) {
    const status = document.getElementById("run-status");
    status.textContent = data.status_display;
    status.className = "badge status-" + data.status;
    document.getElementById("run-progress").value = data.progress;
    text("run-progress-text", data.progress + "%");
    text("run-progress-message", data.progress_message || "");
    if (data.duration_seconds !== null) text("run-duration", " · " + data.duration_seconds.toFixed(1) + " s");
    const err = document.getElementById("run-error");
    if (data.error) { err.hidden = false; err.textContent = data.error; }
    const stats = document.getElementById("run-stats");
    stats.replaceChildren();
    // Labelled by the server (jobs/labels.py), so the live figures read as the final page.
    (data.stat_rows || []).forEach((row) => {
      const dt = document.createElement("dt"); dt.textContent = row.label; dt.title = row.key;
      const dd = document.createElement("dd"); dd.textContent = row.value;
      stats.append(dt, dd);
    });
    data.log.forEach((e) => {
      const li = document.createElement("li");
      li.dataset.id = e.id; li.className = "lvl-" + e.level;
      const t = document.createElement("time"); t.textContent = new Date(e.time).toLocaleTimeString();
      const l = document.createElement("span"); l.className = "lvl"; l.textContent = e.level;
      li.append(t, " ", l, " ", e.message);
      log.append(li);
      lastId = Math.max(lastId, e.id);
    });
    if (!data.active) {
      const form = document.getElementById("cancel-form");
      if (form) form.remove();
      // Sections such as the conflicts table are rendered by the server: show them now.
      if (!box.dataset.reloaded) { box.dataset.reloaded = "1"; window.location.reload(); }
      document.dispatchEvent(new CustomEvent("run:finished", { detail: data }));
    }
    active = data.active;
  }

  async function poll() {
    try {
      const resp = await fetch(url + "?after=" + lastId, { headers: { Accept: "application/json" } });
      if (resp.ok) render(await resp.json());
    } catch (e) { /* network hiccup: try again on the next tick */ }
    if (active) setTimeout(poll, 1500);
  }
  if (active) setTimeout(poll, 1000);
})();
