// Metadata assessment page, "Pick another": search the destination by name through the API and
// offer the hits in each input's <datalist>. The search URL comes from this script tag's
// data-url (no inline script: the Content-Security-Policy allows only our own files).
(function () {
  const url = document.currentScript.dataset.url;
  document.querySelectorAll("input.pick").forEach(function (input) {
    let timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      const text = input.value.trim();
      if (text.length < 2 || /^[A-Za-z][A-Za-z0-9]{10}$/.test(text)) return;
      timer = setTimeout(function () {
        fetch(url + "?type=" + encodeURIComponent(input.dataset.type) + "&search=" + encodeURIComponent(text), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (hits) {
            const list = document.getElementById(input.getAttribute("list"));
            list.replaceChildren(...hits.map(function (h) {
              const o = document.createElement("option");
              o.value = h.id; o.label = h.name + (h.code ? " (" + h.code + ")" : "");
              return o;
            }));
          });
      }, 250);
    });
  });
})();
