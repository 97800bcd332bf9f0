// Pickers for the transfer form: data sets, periods, org units and mapping suggestions are
// loaded from the source and destination instances through the API (session auth).
(function () {
  const form = document.getElementById("transfer-form");
  if (!form) return;
  const api = form.dataset.api;
  const profile = document.getElementById("id_profile");
  const dataSet = document.getElementById("id_data_set");
  const targetDataSet = document.getElementById("id_target_data_set");
  const periods = document.getElementById("id_periods_text");
  const orgUnits = document.getElementById("id_org_units_text");
  const info = document.getElementById("data-set-info");
  const pairs = {};
  (profile.dataset.sources || "").split(",").filter(Boolean).forEach((p) => {
    const [id, source, destination] = p.split(":");
    pairs[id] = { source, destination };
  });

  async function get(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.detail || JSON.stringify(body));
    return body;
  }
  function fill(listId, items, label) {
    const list = document.getElementById(listId);
    list.replaceChildren(...items.map((i) => { const o = document.createElement("option"); o.value = i.id; o.label = label(i); return o; }));
  }
  function chip(container, text, title, onClick) {
    const b = document.createElement("button"); b.type = "button"; b.className = "chip"; b.textContent = text; b.title = title || "";
    b.addEventListener("click", onClick); container.append(b);
  }
  function addToken(textarea, token) {
    const tokens = textarea.value.split(/[\s,;]+/).filter(Boolean);
    if (!tokens.includes(token)) tokens.push(token);
    textarea.value = tokens.join(" ");
  }
  const pair = () => pairs[profile.value];

  async function loadDataSets() {
    if (!pair()) return;
    dataSet.setAttribute("list", "source-data-sets");
    try {
      const sets = await get(`${api}${pair().source}/data-sets/`);
      fill("source-data-sets", sets, (d) => `${d.name} (${d.periodType})`);
    } catch (e) { info.textContent = "Could not load the source's data sets: " + e.message; }
  }
  async function loadDataSet() {
    const uid = dataSet.value.trim();
    if (!pair() || uid.length !== 11) return;
    try {
      const ds = await get(`${api}${pair().source}/data-sets/${uid}/`);
      info.textContent = `${ds.name}: ${ds.periodType}, ${ds.dataElements.length} data elements, ${ds.organisationUnitCount} org units.`;
      fill("source-elements", ds.dataElements, (d) => d.name);
      fill("source-combos", ds.dataElements.flatMap((d) => d.categoryOptionCombos), (c) => c.name);
      const p = await get(`${api}${pair().source}/data-sets/${uid}/periods/?count=12`);
      const chips = document.getElementById("period-chips"); chips.replaceChildren();
      p.periods.forEach((per) => chip(chips, per.id, `${per.start} – ${per.end}`, () => addToken(periods, per.id)));
      const target = (targetDataSet.value.trim() || uid);
      const t = await get(`${api}${pair().destination}/data-sets/${target}/`).catch(() => null);
      if (t) {
        fill("target-elements", t.dataElements, (d) => d.name);
        fill("target-combos", t.dataElements.flatMap((d) => d.categoryOptionCombos), (c) => c.name);
      } else { info.textContent += " The destination has no data set " + target + "."; }
    } catch (e) { info.textContent = "Could not load the data set: " + e.message; }
  }
  let timer;
  document.getElementById("org-unit-search").addEventListener("input", (ev) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const box = document.getElementById("org-unit-results"); box.replaceChildren();
      if (!pair() || ev.target.value.trim().length < 2) return;
      try {
        const units = await get(`${api}${pair().source}/org-units/?search=${encodeURIComponent(ev.target.value)}`);
        units.forEach((u) => chip(box, `${u.name} (level ${u.level})`, u.id, () => addToken(orgUnits, u.id)));
      } catch (e) { box.textContent = e.message; }
    }, 300);
  });
  document.querySelectorAll("#mapping-table input[name$='source_data_element']").forEach((i) => i.setAttribute("list", "source-elements"));
  document.querySelectorAll("#mapping-table input[name$='source_category_option_combo']").forEach((i) => i.setAttribute("list", "source-combos"));
  document.querySelectorAll("#mapping-table input[name$='target_data_element']").forEach((i) => i.setAttribute("list", "target-elements"));
  document.querySelectorAll("#mapping-table input[name$='target_category_option_combo']").forEach((i) => i.setAttribute("list", "target-combos"));
  profile.addEventListener("change", () => { loadDataSets(); loadDataSet(); });
  dataSet.addEventListener("change", loadDataSet);
  targetDataSet.addEventListener("change", loadDataSet);
  loadDataSets(); loadDataSet();
})();
