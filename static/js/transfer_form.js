// Pickers for the transfer form, so an HMIS officer never types a UID: data sets by name or
// code from the source (and the destination's target), the periods of the data set's own type
// with the relative choices that fit it, the source's org unit tree, and the mapping editor:
// the source data set's elements and option combos by name, each with the destination's
// candidates, prefilled from the profile's accepted mappings and its latest metadata assessment
// (/api/v1/profiles/{id}/mapping-candidates/). "Use these mappings" writes the rows that differ
// into the mapping formset below, which the server validates as if they were typed.
// The shared parts are static/js/pickers.js.
(function () {
  const form = document.getElementById("transfer-form");
  if (!form || !window.Pickers) return;
  const P = window.Pickers;
  const api = form.dataset.api;
  const profilesApi = form.dataset.profilesApi;
  const profile = document.getElementById("id_profile");
  const dataSet = document.getElementById("id_data_set");
  const targetDataSet = document.getElementById("id_target_data_set");
  const info = document.getElementById("data-set-info");
  const editor = document.getElementById("mapping-editor");
  const pairs = P.profilePairs(profile);
  const pair = () => pairs[profile.value];
  const isUid = (v) => /^[A-Za-z][A-Za-z0-9]{10}$/.test(v.trim());

  const sourceBase = () => (pair() ? `${api}${pair().source}` : null);
  const sourceSets = P.dataSetPicker(document.getElementById("data-set-picker"), dataSet, sourceBase,
    "Find the source data set by name or code…");
  const targetSets = P.dataSetPicker(document.getElementById("target-data-set-picker"), targetDataSet,
    () => (pair() ? `${api}${pair().destination}` : null), "Find the destination data set (if it differs)…");
  // The periods of the source data set, and the source's org unit tree.
  const { loadPeriods, tree } = P.periodsAndOrgUnits(sourceBase);

  // --- mapping editor ----------------------------------------------------------------------
  let candidates = null;
  function optionsFor(select, items, chosen, blank) {
    const opts = [new Option(blank, "")];
    items.forEach((o) => { const opt = new Option(P.label(o), o.id); opt.title = o.id; opts.push(opt); });
    if (chosen && !items.some((o) => o.id === chosen.id)) {
      opts.push(new Option(`${P.label(chosen)} — not in the destination data set`, chosen.id));
    }
    select.replaceChildren(...opts);
    select.value = chosen ? chosen.id : "";
  }
  function how(text) { return P.el("span", "badge how", text || "pick one"); }
  function renderEditor() {
    const c = candidates;
    const target = c.targetDataSet;
    const targets = target ? target.dataElements : [];
    const table = P.el("table", "table mapping-editor-table");
    const head = P.el("tr");
    ["Source (name, code)", "Destination", "Found by"].forEach((t) => head.append(P.el("th", null, t)));
    table.append(P.el("thead")); table.tHead.append(head);
    const body = P.el("tbody"); table.append(body);
    c.dataSet.dataElements.forEach((de) => {
      const tr = P.el("tr", "me-element"); tr.dataset.source = de.id;
      const src = P.el("td"); src.append(P.el("strong", null, de.name), " ", P.el("span", "picker-code", de.code || ""));
      src.title = de.id;
      const pick = P.el("select", "me-target"); pick.setAttribute("aria-label", `Destination of ${de.name}`);
      const s = c.suggestions.dataElements[de.id];
      optionsFor(pick, targets, s, "— not mapped —");
      const found = P.el("td"); found.append(how(s && s.how));
      const cell = P.el("td"); cell.append(pick);
      tr.append(src, cell, found); body.append(tr);
      const comboRows = de.categoryOptionCombos.map((coc) => {
        const row = P.el("tr", "me-combo"); row.dataset.element = de.id; row.dataset.source = coc.id;
        const name = P.el("td", "me-combo-name"); name.append("↳ ", P.el("span", null, coc.name), " ", P.el("span", "picker-code", coc.code || ""));
        name.title = coc.id;
        const sel = P.el("select", "me-target-combo"); sel.setAttribute("aria-label", `Destination option combo of ${de.name} ${coc.name}`);
        const hw = P.el("td");
        const cellC = P.el("td"); cellC.append(sel);
        row.append(name, cellC, hw); body.append(row);
        return { row, coc, sel, hw };
      });
      function fillCombos() {
        const chosenDe = targets.find((t) => t.id === pick.value);
        const combos = chosenDe ? chosenDe.categoryOptionCombos : [];
        comboRows.forEach(({ coc, sel, hw }) => {
          const sc = c.suggestions.categoryOptionCombos[coc.id];
          const fit = sc && combos.some((x) => x.id === sc.id) ? sc : null;
          optionsFor(sel, combos, fit, "— same / any —");
          hw.replaceChildren(how(fit ? fit.how : (combos.length ? "" : "choose the element")));
        });
      }
      pick.addEventListener("change", () => { found.replaceChildren(how(pick.value ? "your choice" : "")); fillCombos(); });
      fillCombos();
    });
    const apply = P.el("button", "primary", "Use these mappings"); apply.type = "button"; apply.id = "mapping-apply";
    const note = P.el("p", "muted", `${c.dataSet.name} → ${target ? target.name : "(missing on the destination)"}. ` +
      "Rows are written below only where the destination differs from the source." +
      (c.assessment ? ` Matches from metadata assessment #${c.assessment} are included.` : ""));
    if (c.message) note.append(P.el("span", "msg error", ` ${c.message}`));
    const result = P.el("p", "muted"); result.id = "mapping-apply-result";
    apply.addEventListener("click", () => { result.textContent = writeRows(collectRows()); });
    editor.replaceChildren(note, table, apply, result);
  }
  // The rows the editor means, in the engine's terms (as setup_demo writes them): one per
  // option combo whose destination differs, and one with blank combos for an element whose
  // destination UID differs (it maps every other combo of that element).
  function collectRows() {
    const rows = [];
    editor.querySelectorAll("tr.me-element").forEach((tr) => {
      const de = tr.dataset.source;
      const tde = tr.querySelector("select.me-target").value;
      if (!tde) return;
      editor.querySelectorAll(`tr.me-combo[data-element='${de}']`).forEach((row) => {
        const tcoc = row.querySelector("select.me-target-combo").value;
        if (tcoc && tcoc !== row.dataset.source) rows.push([de, row.dataset.source, tde, tcoc]);
      });
      if (tde !== de) rows.push([de, "", tde, ""]);
    });
    return rows;
  }
  const FIELDS = ["source_data_element", "source_category_option_combo", "target_data_element", "target_category_option_combo"];
  function formRows() {
    return [...document.querySelectorAll("#mapping-table tbody tr")].filter((tr) => tr.querySelector(`input[name$='-${FIELDS[0]}']`));
  }
  function rowValue(tr, f) { return tr.querySelector(`input[name$='-${f}']`).value.trim(); }
  function writeRows(rows) {
    const total = form.querySelector("input[name$='-TOTAL_FORMS']");
    const existing = new Set(formRows().map((tr) => `${rowValue(tr, FIELDS[0])}|${rowValue(tr, FIELDS[1])}`));
    let added = 0;
    rows.forEach((r) => {
      if (existing.has(`${r[0]}|${r[1]}`)) return;
      let tr = formRows().find((x) => FIELDS.every((f) => !rowValue(x, f)));
      if (!tr) tr = cloneRow(total);
      FIELDS.forEach((f, i) => { tr.querySelector(`input[name$='-${f}']`).value = r[i]; });
      existing.add(`${r[0]}|${r[1]}`); added += 1;
    });
    return added ? `${added} mapping row(s) added below; review them and save.` : "The mappings below already cover these.";
  }
  // A new formset row: a copy of the last one with the next index and empty values.
  function cloneRow(total) {
    const rows = formRows(); const last = rows[rows.length - 1];
    const n = parseInt(total.value, 10);
    const tr = last.cloneNode(true);
    tr.querySelectorAll("input, select").forEach((i) => {
      ["name", "id"].forEach((a) => { if (i.getAttribute(a)) i.setAttribute(a, i.getAttribute(a).replace(/-\d+-/, `-${n}-`)); });
      if (i.type === "checkbox") i.checked = false; else if (!i.name.endsWith("-transfer")) i.value = "";
    });
    tr.querySelectorAll(".errorlist").forEach((e) => e.remove());
    last.after(tr);
    total.value = String(n + 1);
    return tr;
  }
  async function loadEditor() {
    const uid = dataSet.value.trim();
    if (!pair() || !isUid(uid)) { editor.replaceChildren(P.el("p", "muted", "Choose the profile and the source data set to map their elements by name.")); return; }
    editor.replaceChildren(P.el("p", "muted", "Loading the data sets' elements…"));
    const params = new URLSearchParams({ data_set: uid });
    if (isUid(targetDataSet.value)) params.set("target_data_set", targetDataSet.value.trim());
    try {
      candidates = await P.get(`${profilesApi}${profile.value}/mapping-candidates/?${params}`);
      const ds = candidates.dataSet;
      info.textContent = P.dataSetSummary(ds);
      renderEditor();
    } catch (e) { editor.replaceChildren(P.el("p", "msg error", `Could not load the mapping editor: ${e.message}`)); }
  }
  async function loadDataSet() {
    const uid = dataSet.value.trim();
    if (!pair() || !isUid(uid)) return;
    try { await loadPeriods(uid); } catch (e) { info.textContent = "Could not load the data set's periods: " + e.message; }
    loadEditor();
  }

  profile.addEventListener("change", () => { sourceSets.reload(); targetSets.reload(); tree.reload(); loadDataSet(); });
  dataSet.addEventListener("change", loadDataSet);
  targetDataSet.addEventListener("change", loadEditor);
  sourceSets.reload(); targetSets.reload(); tree.reload(); loadDataSet();
  if (!isUid(dataSet.value)) loadEditor();
})();
