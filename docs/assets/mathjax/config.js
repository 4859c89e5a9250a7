// MathJax 3 set-up for pymdownx.arithmatex in generic mode, loaded before tex-chtml.js.
// Only elements with the "arithmatex" class are typeset (everything else is ignored),
// so dollar signs and backslashes in ordinary prose and code are never touched.
// The executed notebook's $…$ maths is wrapped in arithmatex elements by
// actbench.notebook, hence the dollar delimiters.
window.MathJax = {
  tex: {
    // MathJax 3 names: inlineMath / displayMath (unknown keys are silently ignored).
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
