// Pickers for the event transfer form: event programs, their stages and org units (the shared
// lazy tree, searchable by name or code) are loaded by name from the profile's source instance
// through the API (session auth); UIDs travel in the form's values and show on hover. The shared parts are static/js/pickers.js.
(function () {
  const form = document.getElementById("tracker-form");
  if (!form || !window.Pickers) return;
  const { get, chip, orgUnitTree, profilePairs } = window.Pickers;
  const api = form.dataset.api;
  const profile = document.getElementById("id_profile");
  const program = document.getElementById("id_program");
  const stage = document.getElementById("id_program_stage");
  const orgUnits = document.getElementById("id_org_units");
  const chosen = document.getElementById("org-unit-chosen");
  const info = document.getElementById("program-info");
  const pairs = profilePairs(profile);
  const source = () => (pairs[profile.value] || {}).source;
  let programs = [];

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
    chip(chosen, `${name} ✕`, `${uid} — click to remove`).dataset.uid = uid;
  }
  chosen.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-uid]"); if (!b) return;
    orgUnits.value = uids().filter((u) => u !== b.dataset.uid).join(","); b.remove();
  });
  const tree = orgUnitTree(document.getElementById("org-unit-tree"),
    () => (source() ? `${api}${source()}` : null), (u) => addChip(u.id, u.name),
    (uid) => uids().includes(uid));
  program.addEventListener("change", fillStages);
  profile.addEventListener("change", () => { loadPrograms(); tree.reload(); });
  loadPrograms(); tree.reload();
})();
