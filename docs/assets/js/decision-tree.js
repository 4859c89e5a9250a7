// Decision-tree page: the reader's answers -> a recommendation, the claims behind it
// with our verdicts, and links to our evidence. Rules: assets/data/decision-tree.json;
// verdicts: generated/claims.json (written by `actbench report`); which evidence pages
// exist in this build, with their URLs and titles: the #dt-pages JSON that the page
// template writes from the site navigation. Plain DOM, no
// libraries. Loaded on every page (extra_javascript); does nothing without the form.
(function () {
  "use strict";

  // The site root, relative to this page (Material writes it into #__config).
  function siteRoot() {
    const config = document.getElementById("__config");
    const base = config ? JSON.parse(config.textContent).base : ".";
    return new URL(base.replace(/\/?$/, "/"), window.location.href);
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([key, value]) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function answers(form) {
    const data = new FormData(form);
    return {
      architecture: data.getAll("architecture"),
      depth: data.getAll("depth"),
      constraints: data.getAll("constraints"),
      symptoms: data.getAll("symptoms"),
    };
  }

  // A rule matches when, for every question it lists, one of its values was chosen.
  function matches(rule, chosen) {
    return Object.entries(rule.when).every(function ([question, values]) {
      return values.some(function (v) { return chosen[question].indexOf(v) >= 0; });
    });
  }

  // Numbers as the ledger shows them: 4 significant digits, ranges "a – b".
  function formatValue(value) {
    if (Array.isArray(value)) return value.map(formatValue).join(" – ");
    if (typeof value === "number") return Number(value.toPrecision(4)).toString().replace(/-/g, "−");
    if (value && typeof value === "object") return "effect " + formatValue(value.effect) + ", p = " + formatValue(value.p);
    return String(value);
  }

  // The verdicts worst first, as claims.json carries them (actbench.verdicts.VERDICT_ORDER);
  // set when claims.json is loaded.
  let worstFirst = [];

  function claimList(ids, claimsById, available, root) {
    const list = el("ul", { class: "dt-claims" });
    let refuted = 0;
    ids.forEach(function (id) {
      const rows = claimsById[id];
      if (!rows) {
        list.appendChild(el("li", { "data-claim": id, "data-verdict": "unknown", text: id + ": not in the ledger" }));
        return;
      }
      const verdicts = rows.map(function (r) { return r.verdict; });
      const worst = worstFirst.find(function (v) { return verdicts.indexOf(v) >= 0; });
      if (worst === "refuted") refuted += 1;
      const measured = rows.filter(function (r) { return r.measured !== null; }).map(function (r) {
        return (r.hw_id || "computed") + ": " + formatValue(r.measured) + " (" + r.verdict + ")";
      });
      const detail = "tutorial: " + formatValue(rows[0].claimed) + "; " +
        (measured.length ? "measured " + measured.join(", ") : worst === "not testable" ? "not testable here" : "not measured yet");
      const link = el("a", { href: new URL(available["ledger.md"].url + "#claim-" + id, root).href, text: rows[0].claim });
      const badge = el("span", { class: "ledger-verdict", "data-verdict": worst, text: worst });
      const item = el("li", { "data-claim": id, "data-verdict": worst }, [badge, document.createTextNode(" "), link]);
      item.appendChild(el("small", { text: " (" + detail + ")" }));
      if (worst === "refuted") {
        item.classList.add("dt-disagrees");
        item.appendChild(el("strong", { class: "dt-flag", text: " Our measurement disagrees with the tutorial here." }));
      }
      list.appendChild(item);
    });
    return { list: list, refuted: refuted };
  }

  // Evidence entries are "page.md" or "page.md#anchor"; pages not in this build are skipped.
  function evidenceLinks(entries, available, root) {
    const links = entries.map(function (entry) { return entry.split("#"); }).filter(function ([page]) {
      return Object.prototype.hasOwnProperty.call(available, page);
    });
    if (!links.length) return null;
    const para = el("p", { class: "dt-evidence" }, [document.createTextNode("Evidence: ")]);
    links.forEach(function ([page, anchor], i) {
      if (i) para.appendChild(document.createTextNode(" · "));
      const href = new URL(available[page].url + (anchor ? "#" + anchor : ""), root).href;
      para.appendChild(el("a", { href: href, "data-page": page, text: available[page].title }));
    });
    return para;
  }

  function card(rule, primary, claimsById, available, root) {
    const box = el("section", { class: primary ? "dt-card dt-primary" : "dt-card", "data-rule": rule.id });
    if (primary) {
      box.appendChild(el("h3", { class: "dt-recommendation", text: "Recommended: " + rule.recommend }));
    } else {
      box.appendChild(el("h4", { text: rule.note }));
    }
    box.appendChild(el("p", { text: rule.why }));
    if (rule.avoid) box.appendChild(el("p", { class: "dt-avoid", text: "Avoid: " + rule.avoid + "." }));
    const claims = claimList(rule.claims || [], claimsById, available, root);
    if (claims.refuted) {
      box.classList.add("dt-disagrees");
      box.insertBefore(el("p", {
        class: "dt-warning",
        text: "Our measurements refute " + claims.refuted + " of the tutorial's claims behind this advice.",
      }), box.children[1]);
    }
    box.appendChild(el("p", { class: "dt-claims-title", text: "Claims behind it:" }));
    box.appendChild(claims.list);
    const evidence = evidenceLinks(rule.evidence || [], available, root);
    if (evidence) box.appendChild(evidence);
    return box;
  }

  function init() {
    const form = document.getElementById("decision-tree");
    const result = document.getElementById("dt-result");
    if (!form || !result) return;
    const root = siteRoot();
    const available = JSON.parse(document.getElementById("dt-pages").textContent);
    const load = function (path) {
      return fetch(new URL(path, root)).then(function (r) {
        if (!r.ok) throw new Error(path + ": HTTP " + r.status);
        return r.json();
      });
    };
    Promise.all([load("assets/data/decision-tree.json"), load("generated/claims.json")]).then(function ([tree, claims]) {
      worstFirst = claims.verdict_order;
      const claimsById = {};
      claims.claims.forEach(function (row) { (claimsById[row.id] = claimsById[row.id] || []).push(row); });
      form.dataset.ready = "true";
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const chosen = answers(form);
        const matching = tree.rules.filter(function (rule) { return matches(rule, chosen); });
        const primary = matching.find(function (rule) { return rule.primary; });
        result.replaceChildren();
        if (primary) result.appendChild(card(primary, true, claimsById, available, root));
        matching.filter(function (rule) { return !rule.primary; }).forEach(function (rule) {
          result.appendChild(card(rule, false, claimsById, available, root));
        });
        result.dataset.rules = matching.map(function (rule) { return rule.id; }).join(" ");
        result.scrollIntoView({ block: "start" });
      });
    }).catch(function (error) {
      result.replaceChildren(el("p", { class: "dt-warning", text: "Could not load the decision data: " + error.message }));
      throw error; // also report it on the console
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
