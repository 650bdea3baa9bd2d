// Intentionally empty: notebooks would otherwise load MathJax 2 from a CDN. MathJax 3 is served by
// the site itself on every page (see mathjax-config.js and mkdocs.yml), notebooks included.
