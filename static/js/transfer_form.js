// Pickers for the transfer form: data sets, periods, org units and mapping suggestions are
// loaded from the source and destination instances through the API (session auth). The shared
// parts are static/js/pickers.js.
(function () {
  const form = document.getElementById("transfer-form");
  if (!form || !window.Pickers) return;
  const { get, fill, chip, addToken, orgUnitSearch, profilePairs } = window.Pickers;
  const api = form.dataset.api;
  const profile = document.getElementById("id_profile");
  const dataSet = document.getElementById("id_data_set");
  const targetDataSet = document.getElementById("id_target_data_set");
  const periods = document.getElementById("id_periods_text");
  const orgUnits = document.getElementById("id_org_units_text");
  const info = document.getElementById("data-set-info");
  const pairs = profilePairs(profile);
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
  orgUnitSearch(() => (pair() ? `${api}${pair().source}` : null), (u) => addToken(orgUnits, u.id));
  [
    ["source_data_element", "source-elements"], ["source_category_option_combo", "source-combos"],
    ["target_data_element", "target-elements"], ["target_category_option_combo", "target-combos"],
  ].forEach(([name, list]) => document.querySelectorAll(`#mapping-table input[name$='${name}']`).forEach((i) => i.setAttribute("list", list)));
  profile.addEventListener("change", () => { loadDataSets(); loadDataSet(); });
  dataSet.addEventListener("change", loadDataSet);
  targetDataSet.addEventListener("change", loadDataSet);
  loadDataSets(); loadDataSet();
})();
