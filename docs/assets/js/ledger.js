// Claims ledger page: sort by any column, filter by verdict and section, search the text.
// The table (#ledger-table) is plain HTML written by the report step and readable
// without this script; here we only add the controls. Loaded on every page (mkdocs.yml
// extra_javascript) and does nothing where there is no ledger table.
(function () {
  "use strict";

  function cellKey(row, index) {
    const cell = row.cells[index];
    return cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
  }

  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

  // Numbers (the measured estimates, 1e-20 included) sort by value, everything else as text;
  // empty cells go last.
  function compareKeys(a, b) {
    if (a === "" || b === "") return (a === "") - (b === "");
    if (NUMBER.test(a) && NUMBER.test(b)) return parseFloat(a) - parseFloat(b);
    return collator.compare(a, b);
  }

  function makeSortable(table) {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach(function (th, index) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "ledger-sort";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const order = compareKeys(cellKey(a, index), cellKey(b, index));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function addOptions(select, values, labels) {
    values.forEach(function (value) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = labels[value] || value;
      select.appendChild(option);
    });
  }

  function init() {
    const table = document.getElementById("ledger-table");
    const controls = document.getElementById("ledger-controls");
    if (!table || !controls) return;
    const rows = Array.from(table.tBodies[0].rows);
    const verdictSelect = document.getElementById("ledger-verdict");
    const sectionSelect = document.getElementById("ledger-section");
    const search = document.getElementById("ledger-search");
    const shown = document.getElementById("ledger-shown");

    const verdicts = new Set();
    const sections = new Map(); // section code -> label, in table order
    rows.forEach(function (row) {
      row.dataset.verdicts.split(",").forEach(function (v) { verdicts.add(v); });
      if (!sections.has(row.dataset.section)) {
        sections.set(row.dataset.section, row.cells[1].title || row.dataset.section);
      }
    });
    addOptions(verdictSelect, Array.from(verdicts).sort(), {});
    addOptions(sectionSelect, Array.from(sections.keys()), Object.fromEntries(sections));

    function apply() {
      const verdict = verdictSelect.value;
      const section = sectionSelect.value;
      const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      let count = 0;
      rows.forEach(function (row) {
        const text = row.textContent.toLowerCase();
        const visible =
          (!verdict || row.dataset.verdicts.split(",").indexOf(verdict) >= 0) &&
          (!section || row.dataset.section === section) &&
          words.every(function (w) { return text.indexOf(w) >= 0; });
        row.hidden = !visible;
        if (visible) count += 1;
      });
      shown.textContent = count + " of " + rows.length + " claims shown";
    }

    verdictSelect.addEventListener("change", apply);
    sectionSelect.addEventListener("change", apply);
    search.addEventListener("input", apply);
    makeSortable(table);
    controls.hidden = false;
    apply();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
