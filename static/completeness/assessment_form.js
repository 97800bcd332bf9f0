// Pickers for the completeness form, by name: data sets of the chosen instance, the periods of
// the data set's own type, its data elements (required subset) and an org unit search. The
// fields hold UIDs, so the form also works without this script. The shared parts are
// static/js/pickers.js.
(function () {
  const form = document.getElementById("assessment-form");
  if (!form || !window.Pickers) return;
  const { get, fill, chip, addToken, orgUnitSearch } = window.Pickers;
  const api = form.dataset.api;
  const instance = document.getElementById("id_instance");
  const dataSet = document.getElementById("id_data_set");
  const periods = document.getElementById("id_periods_text");
  const orgUnits = document.getElementById("id_org_units_text");
  const required = document.getElementById("id_required_text");
  const info = document.getElementById("data-set-info");

  const base = () => (instance.value ? `${api}${instance.value}` : null);

  async function loadDataSets() {
    if (!base()) return;
    dataSet.setAttribute("list", "data-sets");
    try {
      const sets = await get(`${base()}/data-sets/`);
      fill("data-sets", sets, (d) => `${d.name} (${d.periodType})`);
    } catch (e) { info.textContent = "Could not load the data sets: " + e.message; }
  }
  async function loadDataSet() {
    const uid = dataSet.value.trim();
    if (!base() || uid.length !== 11) return;
    try {
      const ds = await get(`${base()}/data-sets/${uid}/`);
      info.textContent = `${ds.name}: ${ds.periodType}, ${ds.dataElements.length} data elements, ${ds.organisationUnitCount} org units.`;
      const elements = document.getElementById("element-chips"); elements.replaceChildren();
      ds.dataElements.forEach((d) => chip(elements, d.name, d.id, () => addToken(required, d.id)));
      const p = await get(`${base()}/data-sets/${uid}/periods/?count=12`);
      const chips = document.getElementById("period-chips"); chips.replaceChildren();
      p.periods.forEach((per) => chip(chips, per.id, `${per.start} – ${per.end}`, () => addToken(periods, per.id)));
    } catch (e) { info.textContent = "Could not load the data set: " + e.message; }
  }
  orgUnitSearch(base, (u) => {
    addToken(orgUnits, u.id);
    chip(document.getElementById("org-unit-picked"), u.name, u.id);
  });
  instance.addEventListener("change", () => { loadDataSets(); loadDataSet(); });
  dataSet.addEventListener("change", loadDataSet);
  loadDataSets(); loadDataSet();
})();
