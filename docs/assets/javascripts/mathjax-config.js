// MathJax 3 configuration for pymdownx.arithmatex (generic mode); re-typeset on instant navigation.
window.MathJax = {
  tex: {inlineMath: [["\\(", "\\)"], ["$", "$"]], displayMath: [["\\[", "\\]"], ["$$", "$$"]],
        processEscapes: true, processEnvironments: true},
  // Only Markdown math (arithmatex) and notebook Markdown cells are typeset; nothing else.
  // ".+" (not ".*|"): class-less paragraphs inside a processed notebook cell are typeset too.
  options: {ignoreHtmlClass: ".+", processHtmlClass: "arithmatex|jp-RenderedMarkdown"},
  svg: {fontCache: "global"},
};
document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) {
    const output = MathJax.startup.output;  // SVG output has clearFontCache, CHTML clearCache
    (output.clearFontCache || output.clearCache).call(output);
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  }
});
