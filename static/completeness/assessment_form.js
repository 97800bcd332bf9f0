// Pickers for the completeness form, by name: data sets of the chosen instance, the periods of
// the data set's own type, its data elements (required subset) and an org unit search. The
// fields hold UIDs, so the form also works without this script.
(function () {
  const form = document.getElementById("assessment-form");
  if (!form) return;
  const api = form.dataset.api;
  const instance = document.getElementById("id_instance");
  const dataSet = document.getElementById("id_data_set");
  const periods = document.getElementById("id_periods_text");
  const orgUnits = document.getElementById("id_org_units_text");
  const required = document.getElementById("id_required_text");
  const info = document.getElementById("data-set-info");

  async function get(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.detail || JSON.stringify(body));
    return body;
  }
  function chip(container, text, title, onClick) {
    const b = document.createElement("button"); b.type = "button"; b.className = "chip";
    b.textContent = text; b.title = title || ""; b.addEventListener("click", onClick); container.append(b);
  }
  function addToken(textarea, token) {
    const tokens = textarea.value.split(/[\s,;]+/).filter(Boolean);
    if (!tokens.includes(token)) tokens.push(token);
    textarea.value = tokens.join(" ");
  }
  const base = () => (instance.value ? `${api}${instance.value}` : null);

  async function loadDataSets() {
    if (!base()) return;
    dataSet.setAttribute("list", "data-sets");
    try {
      const sets = await get(`${base()}/data-sets/`);
      const list = document.getElementById("data-sets");
      list.replaceChildren(...sets.map((d) => { const o = document.createElement("option"); o.value = d.id; o.label = `${d.name} (${d.periodType})`; return o; }));
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
  let timer;
  document.getElementById("org-unit-search").addEventListener("input", (ev) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const box = document.getElementById("org-unit-results"); box.replaceChildren();
      if (!base() || ev.target.value.trim().length < 2) return;
      try {
        const units = await get(`${base()}/org-units/?search=${encodeURIComponent(ev.target.value)}`);
        units.forEach((u) => chip(box, `${u.name} (level ${u.level})`, u.id, () => {
          addToken(orgUnits, u.id);
          chip(document.getElementById("org-unit-picked"), u.name, u.id, () => {});
        }));
      } catch (e) { box.textContent = e.message; }
    }, 300);
  });
  instance.addEventListener("change", () => { loadDataSets(); loadDataSet(); });
  dataSet.addEventListener("change", loadDataSet);
  loadDataSets(); loadDataSet();
})();
