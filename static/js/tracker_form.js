// Pickers for the event transfer form: event programs, their stages and org units are loaded
// by name from the profile's source instance through the API (session auth); UIDs travel in
// the form's values and show on hover.
(function () {
  const form = document.getElementById("tracker-form");
  if (!form) return;
  const api = form.dataset.api;
  const profile = document.getElementById("id_profile");
  const program = document.getElementById("id_program");
  const stage = document.getElementById("id_program_stage");
  const orgUnits = document.getElementById("id_org_units");
  const chosen = document.getElementById("org-unit-chosen");
  const info = document.getElementById("program-info");
  const sources = {};
  (profile.dataset.sources || "").split(",").filter(Boolean).forEach((p) => {
    const [id, source] = p.split(":");
    sources[id] = source;
  });
  const source = () => sources[profile.value];
  let programs = [];

  async function get(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.detail || JSON.stringify(body));
    return body;
  }
  function options(select, items, keep, empty) {
    const current = keep || select.value;
    const opts = empty ? [new Option(empty, "")] : [];
    items.forEach((i) => { const o = new Option(i.name, i.id); o.title = i.id; opts.push(o); });
    select.replaceChildren(...opts);
    if (items.some((i) => i.id === current)) select.value = current;
  }
  function fillStages() {
    const p = programs.find((x) => x.id === program.value);
    options(stage, p ? p.programStages : [], stage.value, "— every stage —");
  }
  async function loadPrograms() {
    if (!source()) return;
    info.textContent = "Loading event programs from the source…";
    try {
      programs = await get(`${api}${source()}/event-programs/`);
      options(program, programs, program.value, null);
      fillStages();
      info.textContent = `${programs.length} event program(s) on the source.`;
    } catch (e) { info.textContent = `Could not load programs: ${e.message}`; }
  }
  function uids() { return orgUnits.value.split(/[\s,;]+/).filter(Boolean); }
  function addChip(uid, name) {
    if (uids().includes(uid)) return;
    orgUnits.value = [...uids(), uid].join(",");
    const b = document.createElement("button"); b.type = "button"; b.className = "chip";
    b.dataset.uid = uid; b.title = `${uid} — click to remove`; b.textContent = `${name} ✕`;
    chosen.append(b);
  }
  chosen.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-uid]"); if (!b) return;
    orgUnits.value = uids().filter((u) => u !== b.dataset.uid).join(","); b.remove();
  });
  let timer = null;
  document.getElementById("org-unit-search").addEventListener("input", (ev) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const box = document.getElementById("org-unit-results"); box.replaceChildren();
      if (!source() || ev.target.value.trim().length < 2) return;
      try {
        const units = await get(`${api}${source()}/org-units/?search=${encodeURIComponent(ev.target.value)}`);
        units.forEach((u) => {
          const b = document.createElement("button"); b.type = "button"; b.className = "chip";
          b.title = u.id; b.textContent = `${u.name} (level ${u.level})`;
          b.addEventListener("click", () => addChip(u.id, u.name)); box.append(b);
        });
      } catch (e) { box.textContent = e.message; }
    }, 250);
  });
  program.addEventListener("change", fillStages);
  profile.addEventListener("change", loadPrograms);
  loadPrograms();
})();
