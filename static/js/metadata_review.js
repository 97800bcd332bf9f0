// "Pick another" on the assessment page: search the destination by name through the API
// (/api/v1/metadata-assessments/{id}/destinations/) and offer the hits as the input's options.
(function () {
  const table = document.getElementById("items");
  if (!table || !table.dataset.searchUrl) return;
  const url = table.dataset.searchUrl;
  document.querySelectorAll("input.pick").forEach(function (input) {
    let timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      const text = input.value.trim();
      if (text.length < 2 || /^[A-Za-z][A-Za-z0-9]{10}$/.test(text)) return; // a UID: keep it
      timer = setTimeout(function () {
        const query = "?type=" + encodeURIComponent(input.dataset.type) +
          "&search=" + encodeURIComponent(text);
        fetch(url + query, {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (hits) {
            const list = document.getElementById(input.getAttribute("list"));
            list.replaceChildren(...hits.map(function (h) {
              const option = document.createElement("option");
              option.value = h.id;
              option.label = h.name + (h.code ? " (" + h.code + ")" : "");
              return option;
            }));
          });
      }, 250);
    });
  });
})();
