// What the form pickers share (transfer, event transfer and completeness forms): read the API
// as JSON (session auth), fill a <datalist>, add chip buttons and tokens to a text field of UIDs,
// a searchable list picker (data sets), and the org unit tree, loaded level by level from the
// source as nodes open, with a search by name or code. Every picker shows names and codes and
// writes UIDs into the form's own inputs, so the form still works without this script.
// Loaded before each form's own script. No inline handlers or styles (strict CSP): classes only,
// styled in static/css/pickers.css.
(function () {
  async function get(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.detail || JSON.stringify(body));
    return body;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  // "Name (CODE)": how every picker shows an object.
  function label(o) { return o.code ? `${o.name} (${o.code})` : (o.name || o.id); }
  // The options of <datalist id=listId>: each item's id, labelled by label(item).
  function fill(listId, items, labelOf) {
    const list = document.getElementById(listId);
    list.replaceChildren(...items.map((i) => {
      const o = document.createElement("option"); o.value = i.id; o.label = (labelOf || label)(i); return o;
    }));
  }
  function chip(container, text, title, onClick) {
    const b = el("button", "chip", text); b.type = "button"; b.title = title || "";
    if (onClick) b.addEventListener("click", onClick);
    container.append(b);
    return b;
  }
  function tokens(field) { return field.value.split(/[\s,;]+/).filter(Boolean); }
  function addToken(field, token, sep) {
    const t = tokens(field);
    if (!t.includes(token)) t.push(token);
    field.value = t.join(sep || " ");
  }
  function removeToken(field, token, sep) {
    field.value = tokens(field).filter((t) => t !== token).join(sep || " ");
  }
  function matches(o, text) {
    const q = text.trim().toLowerCase();
    return !q || (o.name || "").toLowerCase().includes(q) || (o.code || "").toLowerCase().includes(q) || o.id === text.trim();
  }

  // A searchable list in `box` for the UID input `input`: items() returns a promise of
  // {id, name, code} objects; typing filters them by name or code; a click writes the UID into
  // the input (and fires "change"); the chosen object is shown by name beside it.
  function listPicker(box, input, items, placeholder) {
    const search = el("input"); search.type = "search"; search.className = "picker-search";
    search.placeholder = placeholder || "Search by name or code…";
    search.setAttribute("aria-label", placeholder || "Search by name or code");
    const chosen = el("div", "picker-chosen muted");
    const list = el("ul", "picker-results");
    box.replaceChildren(search, chosen, list);
    let all = [];
    function showChosen() {
      const o = all.find((x) => x.id === input.value.trim());
      chosen.textContent = o ? `Chosen: ${label(o)}` : (input.value.trim() ? `Chosen: ${input.value.trim()}` : "");
    }
    function render() {
      const hits = all.filter((o) => matches(o, search.value)).slice(0, 30);
      list.replaceChildren(...hits.map((o) => {
        const li = el("li"); const b = el("button", "picker-item"); b.type = "button";
        b.append(el("span", "picker-name", o.name), el("span", "picker-code", o.code || ""));
        if (o.extra) b.append(el("span", "picker-extra muted", o.extra));
        b.title = o.id;
        b.addEventListener("click", () => {
          input.value = o.id; showChosen(); list.replaceChildren(); search.value = "";
          input.dispatchEvent(new Event("change", { bubbles: true }));
        });
        li.append(b); return li;
      }));
    }
    search.addEventListener("input", render);
    search.addEventListener("focus", render);
    input.addEventListener("change", showChosen);
    async function reload() {
      try { all = await items(); } catch (e) { chosen.textContent = e.message; all = []; }
      showChosen();
      if (document.activeElement === search) render();
    }
    return { reload };
  }

  // The org unit tree in `box`: roots first, a node's children fetched when it opens (`parent`),
  // a search by name or code (2+ letters) listing hits with their level. base() is the API
  // prefix of the instance (null while none is chosen); pick(unit) is called on "Add";
  // picked(uid) says whether a unit is already chosen (its button then reads "Added").
  function orgUnitTree(box, base, pick, picked) {
    const search = el("input"); search.type = "search"; search.className = "picker-search";
    search.placeholder = "Find an org unit by name or code…";
    search.setAttribute("aria-label", "Find an org unit by name or code");
    const status = el("div", "muted ou-status");
    const tree = el("ul", "ou-tree");
    const hits = el("ul", "ou-tree ou-hits");
    box.replaceChildren(search, status, tree, hits);
    function addButton(u) {
      const b = el("button", "ou-add"); b.type = "button";
      const mark = () => { const on = picked && picked(u.id); b.textContent = on ? "Added" : "Add"; b.disabled = !!on; };
      mark();
      b.addEventListener("click", () => { pick(u); mark(); });
      return b;
    }
    function node(u, withLevel) {
      const li = el("li", "ou-node"); li.dataset.uid = u.id;
      const row = el("div", "ou-row");
      const toggle = el("button", "ou-toggle", u.hasChildren && !withLevel ? "▸" : "");
      toggle.type = "button"; toggle.disabled = !u.hasChildren || withLevel;
      toggle.setAttribute("aria-label", `Open ${u.name}`);
      row.append(toggle, el("span", "ou-name", u.name), el("span", "picker-code", u.code || ""));
      if (withLevel) row.append(el("span", "muted", `level ${u.level}`));
      row.append(addButton(u));
      row.title = u.id;
      li.append(row);
      const children = el("ul", "ou-children");
      li.append(children);
      let loaded = false;
      toggle.addEventListener("click", async () => {
        const open = li.classList.toggle("open");
        toggle.textContent = open ? "▾" : "▸";
        if (!open || loaded) return;
        children.replaceChildren(el("li", "muted", "Loading…"));
        try {
          const kids = await get(`${base()}/org-units/?parent=${encodeURIComponent(u.id)}`);
          children.replaceChildren(...kids.map((k) => node(k, false)));
          loaded = true;
        } catch (e) { children.replaceChildren(el("li", "msg error", e.message)); }
      });
      return li;
    }
    async function roots() {
      tree.replaceChildren(); hits.replaceChildren();
      if (!base()) { status.textContent = "Choose the source first."; return; }
      status.textContent = "Loading org units…";
      try {
        const units = await get(`${base()}/org-units/`);
        tree.replaceChildren(...units.map((u) => node(u, false)));
        status.textContent = "";
      } catch (e) { status.textContent = `Could not load org units: ${e.message}`; }
    }
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const text = search.value.trim();
        tree.hidden = text.length >= 2; hits.replaceChildren();
        if (text.length < 2 || !base()) return;
        try {
          const units = await get(`${base()}/org-units/?search=${encodeURIComponent(text)}`);
          hits.replaceChildren(...units.map((u) => node(u, true)));
          if (!units.length) hits.append(el("li", "muted", "No org unit has that name or code."));
        } catch (e) { hits.replaceChildren(el("li", "msg error", e.message)); }
      }, 250);
    });
    return { reload: roots };
  }
  // A listPicker of the data sets of the instance whose API prefix base() gives (null while
  // none is chosen), each with its period type.
  function dataSetPicker(box, input, base, placeholder) {
    return listPicker(box, input, async () => {
      if (!base()) return [];
      return (await get(`${base()}/data-sets/`)).map((d) => ({ ...d, extra: d.periodType }));
    }, placeholder);
  }
  // A data set in one line, from its structure (the data-sets/{uid}/ endpoint).
  function dataSetSummary(ds) {
    return `${ds.name}: ${ds.periodType}, ${ds.dataElements.length} data elements, ${ds.organisationUnitCount} org units.`;
  }
  // The inputs of templates/_periods_org_units.html for the instance base() names:
  // loadPeriods(uid) offers the data set's recent periods as chips (a click adds one to the
  // periods) and keeps the relative choices that fit it; the tree adds org units to their
  // field, each shown as a chip that removes it again.
  function periodsAndOrgUnits(base) {
    const periods = document.getElementById("id_periods_text");
    const relative = document.getElementById("id_relative_period");
    const orgUnits = document.getElementById("id_org_units_text");
    const periodChips = document.getElementById("period-chips");
    const picked = document.getElementById("org-unit-picked");
    async function loadPeriods(uid) {
      periodChips.replaceChildren();
      const p = await get(`${base()}/data-sets/${uid}/periods/?count=12`);
      p.periods.forEach((per) => chip(periodChips, per.id, `${per.start} – ${per.end}`, () => addToken(periods, per.id)));
      relativeOptions(relative, p.relative || []);
    }
    const tree = orgUnitTree(document.getElementById("org-unit-tree"), base, (u) => {
      if (tokens(orgUnits).includes(u.id)) return;
      addToken(orgUnits, u.id);
      chip(picked, `${u.name} ✕`, `${u.id} — click to remove`, (ev) => { removeToken(orgUnits, u.id); ev.currentTarget.remove(); });
    }, (uid) => tokens(orgUnits).includes(uid));
    return { loadPeriods, tree };
  }
  // Profile id -> {source, destination} instance ids, from data-sources="id:source:destination,…".
  function profilePairs(select) {
    const pairs = {};
    (select.dataset.sources || "").split(",").filter(Boolean).forEach((p) => {
      const [id, source, destination] = p.split(":");
      pairs[id] = { source, destination };
    });
    return pairs;
  }
  // The relative period <select>: keep only the choices that fit the data set's period type and
  // say which periods each resolves to today (from the periods endpoint's `relative`).
  function relativeOptions(select, relative) {
    const current = select.value;
    const first = select.options[0] ? select.options[0].cloneNode(true) : new Option("", "");
    const opts = [first, ...relative.map((r) => {
      const text = r.needsCount ? `${r.label} (give the number below)` : `${r.label}: ${r.periods.join(", ")}`;
      return new Option(text, r.id);
    })];
    select.replaceChildren(...opts);
    if (relative.some((r) => r.id === current)) select.value = current;
  }
  window.Pickers = {
    get, el, label, fill, chip, tokens, addToken, removeToken, listPicker, orgUnitTree,
    dataSetPicker, dataSetSummary, periodsAndOrgUnits, profilePairs, relativeOptions,
  };
})();
