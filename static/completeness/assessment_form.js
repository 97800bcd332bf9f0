// Pickers for the completeness form, by name and code: data sets of the chosen instance, the
// periods of the data set's own type (with the relative choices that fit it), its data
// elements (required subset) and the shared org unit tree. The fields hold UIDs, so the form
// also works without this script. The shared parts are static/js/pickers.js.
(function () {
  const form = document.getElementById("assessment-form");
  if (!form || !window.Pickers) return;
  const P = window.Pickers;
  const api = form.dataset.api;
  const instance = document.getElementById("id_instance");
  const dataSet = document.getElementById("id_data_set");
  const periods = document.getElementById("id_periods_text");
  const relative = document.getElementById("id_relative_period");
  const orgUnits = document.getElementById("id_org_units_text");
  const required = document.getElementById("id_required_text");
  const info = document.getElementById("data-set-info");

  const base = () => (instance.value ? `${api}${instance.value}` : null);
  const sets = P.listPicker(document.getElementById("data-set-picker"), dataSet, async () => {
    if (!base()) return [];
    return (await P.get(`${base()}/data-sets/`)).map((d) => ({ ...d, extra: d.periodType }));
  }, "Find the data set by name or code…");

  async function loadDataSet() {
    const uid = dataSet.value.trim();
    if (!base() || uid.length !== 11) return;
    try {
      const ds = await P.get(`${base()}/data-sets/${uid}/`);
      info.textContent = `${ds.name}: ${ds.periodType}, ${ds.dataElements.length} data elements, ${ds.organisationUnitCount} org units.`;
      const elements = document.getElementById("element-chips"); elements.replaceChildren();
      ds.dataElements.forEach((d) => P.chip(elements, P.label(d), d.id, () => P.addToken(required, d.id)));
      const p = await P.get(`${base()}/data-sets/${uid}/periods/?count=12`);
      const chips = document.getElementById("period-chips"); chips.replaceChildren();
      p.periods.forEach((per) => P.chip(chips, per.id, `${per.start} – ${per.end}`, () => P.addToken(periods, per.id)));
      if (relative) P.relativeOptions(relative, p.relative || []);
    } catch (e) { info.textContent = "Could not load the data set: " + e.message; }
  }
  const picked = document.getElementById("org-unit-picked");
  const tree = P.orgUnitTree(document.getElementById("org-unit-tree"), base, (u) => {
    if (P.tokens(orgUnits).includes(u.id)) return;
    P.addToken(orgUnits, u.id);
    P.chip(picked, `${u.name} ✕`, `${u.id} — click to remove`, (ev) => { P.removeToken(orgUnits, u.id); ev.currentTarget.remove(); });
  }, (uid) => P.tokens(orgUnits).includes(uid));
  instance.addEventListener("change", () => { sets.reload(); tree.reload(); loadDataSet(); });
  dataSet.addEventListener("change", loadDataSet);
  sets.reload(); tree.reload(); loadDataSet();
})();
