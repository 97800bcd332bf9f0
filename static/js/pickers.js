// What the form pickers share (transfer, event transfer and completeness forms): read the API
// as JSON (session auth), fill a <datalist>, add a chip button, add a token to a text field of
// UIDs, and search org units by name as the user types. Loaded before each form's own script.
(function () {
  async function get(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.detail || JSON.stringify(body));
    return body;
  }
  // The options of <datalist id=listId>: each item's id, labelled by label(item).
  function fill(listId, items, label) {
    const list = document.getElementById(listId);
    list.replaceChildren(...items.map((i) => {
      const o = document.createElement("option"); o.value = i.id; o.label = label(i); return o;
    }));
  }
  function chip(container, text, title, onClick) {
    const b = document.createElement("button"); b.type = "button"; b.className = "chip";
    b.textContent = text; b.title = title || "";
    if (onClick) b.addEventListener("click", onClick);
    container.append(b);
    return b;
  }
  function addToken(field, token) {
    const tokens = field.value.split(/[\s,;]+/).filter(Boolean);
    if (!tokens.includes(token)) tokens.push(token);
    field.value = tokens.join(" ");
  }
  // As the user types 2+ letters into #org-unit-search, list the org units of base() (an API
  // prefix of an instance, or nothing yet) in #org-unit-results as chips calling pick(unit).
  function orgUnitSearch(base, pick, delay) {
    let timer = null;
    document.getElementById("org-unit-search").addEventListener("input", (ev) => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const box = document.getElementById("org-unit-results"); box.replaceChildren();
        if (!base() || ev.target.value.trim().length < 2) return;
        try {
          const units = await get(`${base()}/org-units/?search=${encodeURIComponent(ev.target.value)}`);
          units.forEach((u) => chip(box, `${u.name} (level ${u.level})`, u.id, () => pick(u)));
        } catch (e) { box.textContent = e.message; }
      }, delay || 300);
    });
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
  window.Pickers = { get, fill, chip, addToken, orgUnitSearch, profilePairs };
})();
