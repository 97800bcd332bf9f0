// Schedule pages: live cron preview as the user types (debounced, via the API), the preset
// buttons, and confirmation before destructive buttons.
(function () {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  const form = document.getElementById("schedule-form");
  if (!form) return;
  const cron = document.getElementById("id_cron");
  const zone = document.getElementById("id_timezone");
  const description = document.getElementById("cron-description");
  const list = document.getElementById("cron-next-runs");
  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  let timer = null;
  let controller = null;

  // "2025-03-30T03:00:00+02:00" -> "Sun 2025-03-30 03:00 (UTC+02:00)", in the schedule's zone.
  function wallClock(iso) {
    const date = iso.slice(0, 10);
    const day = DAYS[new Date(date + "T12:00:00Z").getUTCDay()];
    const offset = iso.slice(19).replace(/^\.\d+/, "");
    return `${day} ${date} ${iso.slice(11, 16)} (UTC${offset === "Z" ? "" : offset})`;
  }

  function show(text, isError) {
    description.textContent = text;
    description.className = isError ? "msg error" : "";
  }

  async function refresh() {
    const value = cron.value.trim();
    list.replaceChildren();
    if (!value) { show("Type a cron expression to see when it runs.", false); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    const params = new URLSearchParams({ cron: value, timezone: zone ? zone.value : "" });
    try {
      const resp = await fetch(`${form.dataset.previewUrl}?${params}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin", signal: controller.signal,
      });
      const data = await resp.json();
      if (!resp.ok) {
        show([].concat(data.cron || [], data.timezone || [], data.detail || []).join(" ") || "Not a valid expression.", true);
        return;
      }
      const sentence = data.description.charAt(0).toUpperCase() + data.description.slice(1);
      show(`${sentence} (${data.timezone}).`, false);
      data.next_runs.forEach((iso) => {
        const li = document.createElement("li");
        li.textContent = wallClock(iso);
        list.append(li);
      });
    } catch (err) {
      if (err.name !== "AbortError") show("The preview is not available right now.", true);
    }
  }

  function later() { clearTimeout(timer); timer = setTimeout(refresh, 300); }

  cron.addEventListener("input", later);
  if (zone) zone.addEventListener("change", refresh);
  document.querySelectorAll("#cron-presets [data-cron]").forEach((button) => {
    button.addEventListener("click", () => { cron.value = button.dataset.cron; refresh(); });
  });
  if (cron.value.trim()) refresh();
})();
