// Activation explorer (docs/explorer.md). Draws f, f' and f'' of the registry entries the
// reader ticks, from generated/explorer.json (written by `actbench report`, module
// actbench.report.explorer), with the vendored plotly.js (assets/vendor/plotly).
//
// The page computes nothing: every plotted point, parameter value and property is one the
// report step wrote. A slider steps through the parameter values in the file; the readout
// shows the grid point under the cursor. Loaded only on the explorer page (its front matter).
(function () {
  "use strict";

  const root = document.getElementById("explorer");
  if (!root) return;
  const status = document.getElementById("explorer-status");

  const QUANTITIES = [
    { key: "f", title: "f(x)", symbol: "f" },
    { key: "df", title: "f′(x): derivative", symbol: "f′" },
    { key: "d2f", title: "f″(x): second derivative", symbol: "f″" },
  ];
  // What the page shows before the reader changes anything: one classic unit, one leaky,
  // one smooth gated unit, so the first view already has something to compare.
  const FIRST_SELECTION = ["relu", "leaky_relu", "gelu"];
  const FIRST_RANGE = [-4, 4];

  // ── small helpers ────────────────────────────────────────────────────────
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([key, value]) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // The site root, relative to this page (Material writes it into #__config).
  function siteRoot() {
    const config = document.getElementById("__config");
    const base = config ? JSON.parse(config.textContent).base : "..";
    return new URL(base.replace(/\/?$/, "/"), window.location.href);
  }

  // A value for the readout: 4 significant digits, typographic minus (as the site's tables).
  function show(value) {
    if (value === 0) return "0";
    const text = Math.abs(value) >= 1e-3 && Math.abs(value) < 1e5
      ? String(Number(value.toPrecision(4))) : value.toExponential(3);
    return text.replace("-", "−");
  }

  function fail(message) {
    status.textContent = message;
    status.classList.add("explorer-error");
    root.dataset.error = message;
  }

  // ── state ────────────────────────────────────────────────────────────────
  // selected: registry names in registry order; position[name][param]: slider index.
  const state = { selected: [], position: {}, quantities: { f: true, df: true, d2f: false }, range: FIRST_RANGE.slice() };

  function setting(entry) {
    const pos = state.position[entry.name] || {};
    const values = {};
    entry.params.forEach(function (p) { values[p.name] = p.values[pos[p.name]]; });
    return values;
  }

  // The curve the report wrote for the entry's current slider positions.
  function curve(entry) {
    const want = setting(entry);
    return entry.curves.find(function (c) {
      return entry.params.every(function (p) { return c.params[p.name] === want[p.name]; });
    });
  }

  function traceName(entry) {
    const values = setting(entry);
    const parts = entry.params.map(function (p) { return p.label + " = " + values[p.name]; });
    return parts.length ? entry.label + " (" + parts.join(", ") + ")" : entry.label;
  }

  // ── controls ─────────────────────────────────────────────────────────────
  function buildControls(data, redraw) {
    const picker = el("fieldset", { class: "explorer-picker" }, [el("legend", { text: "Activations" })]);
    data.activations.forEach(function (entry) {
      const box = el("input", { type: "checkbox", name: "activation", value: entry.name });
      box.checked = state.selected.indexOf(entry.name) >= 0;
      box.addEventListener("change", function () {
        state.selected = data.activations.map(function (e) { return e.name; }).filter(function (name) {
          return picker.querySelector('input[value="' + name + '"]').checked;
        });
        redraw();
      });
      const swatch = el("span", { class: "explorer-swatch", "aria-hidden": "true" });
      swatch.style.background = entry.colour;
      picker.appendChild(el("label", { title: entry.description }, [box, swatch, entry.label]));
    });
    if (data.not_elementwise.length) {
      picker.appendChild(el("p", { class: "explorer-note", text: "Not on the grid (not a function of one number): " +
        data.not_elementwise.map(function (e) { return e.label; }).join(", ") + "." }));
    }

    const view = el("fieldset", { class: "explorer-view" }, [el("legend", { text: "Show" })]);
    QUANTITIES.forEach(function (q) {
      const box = el("input", { type: "checkbox", name: "quantity", value: q.key });
      box.checked = state.quantities[q.key];
      box.addEventListener("change", function () { state.quantities[q.key] = box.checked; redraw(); });
      view.appendChild(el("label", {}, [box, q.symbol]));
    });
    // The x range: inside the grid the report wrote, never beyond it.
    const limit = data.x_limit;
    ["from", "to"].forEach(function (end, i) {
      const input = el("input", { type: "number", name: "x-" + end, min: -limit, max: limit, step: 0.5,
                                  value: state.range[i] });
      input.addEventListener("change", function () {
        const lo = Math.max(-limit, Number(view.querySelector('[name="x-from"]').value));
        const hi = Math.min(limit, Number(view.querySelector('[name="x-to"]').value));
        if (!(lo < hi)) { input.setCustomValidity("x from must be below x to"); input.reportValidity(); return; }
        input.setCustomValidity("");
        state.range = [lo, hi];
        redraw();
      });
      view.appendChild(el("label", {}, ["x " + end + " ", input]));
    });

    const sliders = el("div", { class: "explorer-sliders", id: "explorer-sliders" });
    return el("div", { class: "explorer-controls" }, [picker, view, sliders]);
  }

  // One slider per parameter of each ticked parametric entry; rebuilt when the ticks change.
  function buildSliders(data, redraw) {
    const holder = document.getElementById("explorer-sliders");
    holder.textContent = "";
    data.activations.filter(function (e) { return state.selected.indexOf(e.name) >= 0 && e.params.length; })
      .forEach(function (entry) {
        entry.params.forEach(function (p) {
          const input = el("input", { type: "range", min: 0, max: p.values.length - 1, step: 1,
                                      "data-activation": entry.name, "data-param": p.name });
          input.value = state.position[entry.name][p.name];
          const out = el("output", { text: String(p.values[input.value]) });
          input.addEventListener("input", function () {
            state.position[entry.name][p.name] = Number(input.value);
            out.textContent = String(p.values[input.value]);
            redraw(true);
          });
          holder.appendChild(el("label", { class: "explorer-slider" }, [
            entry.label + " " + p.label + " ", input, " ", out,
            el("span", { class: "explorer-note", text: " (default " + p.default + ")" })]));
        });
      });
  }

  // ── charts, readout, properties ──────────────────────────────────────────
  function colours() {
    const style = getComputedStyle(document.body);
    return { fg: style.getPropertyValue("--md-default-fg-color").trim() || "#222",
             grid: style.getPropertyValue("--md-default-fg-color--lightest").trim() || "#ddd" };
  }

  // Indices of the grid points inside the chosen range.
  function window_(x) {
    let i0 = x.findIndex(function (v) { return v >= state.range[0]; });
    let i1 = x.length - 1;
    while (i1 > 0 && x[i1] > state.range[1]) i1 -= 1;
    return [Math.max(0, i0), i1];
  }

  function drawCharts(data, charts, onHover) {
    const [i0, i1] = window_(data.x);
    const xs = data.x.slice(i0, i1 + 1);
    const picked = data.activations.filter(function (e) { return state.selected.indexOf(e.name) >= 0; });
    const c = colours();
    // The legend goes under the first chart shown (the others use the same colours).
    const first = QUANTITIES.find(function (q) { return state.quantities[q.key]; });
    QUANTITIES.forEach(function (q) {
      const div = charts[q.key];
      div.hidden = !state.quantities[q.key];
      if (div.hidden) return;
      const traces = picked.map(function (entry) {
        return { x: xs, y: curve(entry)[q.key].slice(i0, i1 + 1), name: traceName(entry), meta: entry.name,
                 type: "scatter", mode: "lines", line: { color: entry.colour, width: 2 },
                 hovertemplate: "%{y:.4g}" };
      });
      const layout = {
        title: { text: q.title, font: { size: 14 } }, height: 300, margin: { l: 50, r: 10, t: 36, b: 36 },
        xaxis: { title: { text: "x" }, range: [xs[0], xs[xs.length - 1]], zeroline: true, gridcolor: c.grid, zerolinecolor: c.fg },
        yaxis: { zeroline: true, gridcolor: c.grid, zerolinecolor: c.fg },
        hovermode: "x unified", showlegend: q === first,
        legend: { orientation: "h", y: -0.2 }, font: { color: c.fg },
        paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      };
      window.Plotly.react(div, traces, layout, { displaylogo: false, responsive: true,
        modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] });
      // Plotly gives the div its .on() at the first plot: hook the readout up then, once.
      if (!div.dataset.hooked) {
        div.dataset.hooked = "true";
        div.on("plotly_hover", function (event) {
          if (event.points.length) onHover(window_(data.x)[0] + event.points[0].pointIndex);
        });
      }
    });
  }

  // The readout: every ticked activation's f, f' and f'' at grid point i.
  function showReadout(data, box, i) {
    box.textContent = "";
    box.dataset.index = i;
    box.appendChild(el("p", {}, [el("strong", { text: "x = " + show(data.x[i]) })]));
    const head = el("tr", {}, [el("th", { text: "activation" })].concat(
      QUANTITIES.map(function (q) { return el("th", { text: q.symbol + "(x)" }); })));
    const rows = data.activations.filter(function (e) { return state.selected.indexOf(e.name) >= 0; })
      .map(function (entry) {
        const c = curve(entry);
        return el("tr", { "data-activation": entry.name }, [el("td", { text: traceName(entry) })].concat(
          QUANTITIES.map(function (q) { return el("td", { "data-quantity": q.key, text: show(c[q.key][i]) }); })));
      });
    box.appendChild(el("table", {}, [el("thead", {}, [head]), el("tbody", {}, rows)]));
  }

  function drawProperties(data, box) {
    box.textContent = "";
    const picked = data.activations.filter(function (e) { return state.selected.indexOf(e.name) >= 0; });
    if (!picked.length) return;
    const labels = [];  // union of the property rows, in the file's order
    picked.forEach(function (entry) {
      curve(entry).properties.forEach(function (p) {
        if (!labels.some(function (l) { return l.key === p.key; })) labels.push(p);
      });
    });
    const head = el("tr", {}, [el("th", { text: "property" })].concat(
      picked.map(function (e) { return el("th", { text: traceName(e) }); })));
    const rows = labels.map(function (l) {
      return el("tr", { "data-property": l.key }, [el("td", { text: l.label })].concat(picked.map(function (entry) {
        const p = curve(entry).properties.find(function (q) { return q.key === l.key; });
        return el("td", { text: p ? p.text : "–" });
      })));
    });
    box.appendChild(el("p", { class: "explorer-heading" }, [el("strong", { text: "Properties at the chosen parameters" })]));
    box.appendChild(el("div", { class: "explorer-scroll" }, [
      el("table", {}, [el("thead", {}, [head]), el("tbody", {}, rows)])]));
  }

  // ── start ────────────────────────────────────────────────────────────────
  if (!window.Plotly) { fail("The charting library did not load (assets/vendor/plotly)."); return; }
  fetch(new URL("generated/explorer.json", siteRoot())).then(function (response) {
    if (!response.ok) throw new Error("generated/explorer.json: HTTP " + response.status);
    return response.json();
  }).then(function (data) {
    data.activations.forEach(function (entry) {
      state.position[entry.name] = {};
      entry.params.forEach(function (p) { state.position[entry.name][p.name] = p.values.indexOf(p.default); });
    });
    state.selected = FIRST_SELECTION.filter(function (n) { return data.activations.some(function (e) { return e.name === n; }); });

    const charts = {};
    QUANTITIES.forEach(function (q) { charts[q.key] = el("div", { class: "explorer-chart", id: "explorer-plot-" + q.key }); });
    const readout = el("div", { class: "explorer-readout", id: "explorer-readout", "aria-live": "polite" },
                       [el("p", { text: "Move the cursor over a chart to read the values." })]);
    const properties = el("div", { class: "explorer-properties", id: "explorer-properties" });

    // Hover on any chart: the point's index in the whole grid (a trace starts at the
    // range's first point), read out for every ticked activation.
    function onHover(i) { showReadout(data, readout, i); }

    function redraw(slidersOnly) {
      if (!slidersOnly) buildSliders(data, redraw);
      drawCharts(data, charts, onHover);
      drawProperties(data, properties);
      if (readout.dataset.index !== undefined) showReadout(data, readout, Number(readout.dataset.index));
    }

    status.remove();
    root.appendChild(buildControls(data, redraw));
    const chartBox = el("div", { class: "explorer-charts" }, QUANTITIES.map(function (q) { return charts[q.key]; }));
    root.appendChild(readout);  // above the charts: in view while the cursor is on them
    root.appendChild(chartBox);
    root.appendChild(properties);
    redraw();
    // Redraw with the new colours when the reader toggles light / dark.
    new MutationObserver(function () { drawCharts(data, charts, onHover); })
      .observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
    root.dataset.ready = "true";
  }).catch(function (error) {
    fail("Could not load the explorer's data: " + error.message);
  });
})();
