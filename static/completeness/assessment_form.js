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
  const required = document.getElementById("id_required_text");
  const info = document.getElementById("data-set-info");

  const base = () => (instance.value ? `${api}${instance.value}` : null);
  const sets = P.dataSetPicker(document.getElementById("data-set-picker"), dataSet, base,
    "Find the data set by name or code…");
  const { loadPeriods, tree } = P.periodsAndOrgUnits(base);

  async function loadDataSet() {
    const uid = dataSet.value.trim();
    if (!base() || uid.length !== 11) return;
    try {
      const ds = await P.get(`${base()}/data-sets/${uid}/`);
      info.textContent = P.dataSetSummary(ds);
      const elements = document.getElementById("element-chips"); elements.replaceChildren();
      ds.dataElements.forEach((d) => P.chip(elements, P.label(d), d.id, () => P.addToken(required, d.id)));
      await loadPeriods(uid);
    } catch (e) { info.textContent = "Could not load the data set: " + e.message; }
  }
  instance.addEventListener("change", () => { sets.reload(); tree.reload(); loadDataSet(); });
  dataSet.addEventListener("change", loadDataSet);
  sets.reload(); tree.reload(); loadDataSet();
})();
