/* equidocs: the interactive "move the stop sign" explorer (plain JS, no framework, no CDN).
 *
 * For every `<div class="equidocs-explorer" data-results="../results/amnesia.json"
 * data-weights="../results/weights.json">` on a page, fetch the two experiment records exported
 * at build time (URLs relative to the page) and replace the div's static fallback with:
 *   - a canvas of the C x C glyph canvas: click, drag or use the arrow keys to place the 5 x 5 stop
 *     sign (its top-left corner at (row, col)); the trained area's pixel footprint is outlined;
 *   - for every model kind, the class probabilities that the seed-0 trained model gave that stop
 *     sign at that position (`models[kind].by_n[N].stop_probs_seed0[row][col]`, read as is:
 *     nothing is interpolated or recomputed);
 *   - a selector for the training-set size N;
 *   - a slider over the weights experiment's training-set sizes, drawing how far the dense net's
 *     first-layer weights moved in training (RMS over units, and the units that moved most).
 * Works with Material's instant navigation (document$), redraws when the colour scheme changes.
 * State for tests: root data-row, data-col, data-n, data-weights-n, data-ready="true".
 */
(function () {
  "use strict";

  const GLYPH = 5;                               // the stop sign is a 5 x 5 octagon
  const HALF = Math.floor(GLYPH / 2);            // a click places the sign's centre on the pixel
  const KIND_LABELS = {                          // as in equidocs.plotting.KIND_LABELS
    conv: "conv (local + shared)",
    local: "locally connected (local, not shared)",
    dense: "dense (neither)",
  };
  // matplotlib's viridis (sequential, perceptually uniform), 9 stops.
  const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
                   "#addc30", "#fde725"];
  const NEGATIVE = "#4393c3", POSITIVE = "#d6604d";  // RdBu ends; the midpoint is the page background

  const mounted = new Set();                     // {root, redraw} of the explorers on the page
  const requests = new Map();                    // url -> Promise of parsed JSON
  let uid = 0;

  // --- small helpers ------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) el.append(child);
    }
    return el;
  }

  function fetchJSON(url) {
    if (!requests.has(url)) {
      const promise = fetch(url, {credentials: "same-origin"}).then((response) => {
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
        return response.json();
      });
      promise.catch(() => requests.delete(url));   // a failed request may be retried later
      requests.set(url, promise);
    }
    return requests.get(url);
  }

  const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
  const fmt = (p) => Number(p).toFixed(3);

  /** The octagon of equidocs.data.glyphs (class 0): a size x size mask, corners cut by k. */
  function octagon(size) {
    const m = size - 1, k = Math.max(1, Math.round(size / (2 + Math.SQRT2)));
    const mask = [];
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        if (r + c >= k && r + m - c >= k && m - r + c >= k && 2 * m - r - c >= k) mask.push([r, c]);
      }
    }
    return mask;
  }
  const STOP_SIGN = octagon(GLYPH);

  // --- colours: Material's CSS variables, read at draw time (light and dark schemes) -------------

  let probe = null;
  /** Any CSS colour -> [r, g, b, a] (0-255, a 0-1), via a 1 x 1 canvas. */
  function rgba(color) {
    if (!probe) probe = document.createElement("canvas").getContext("2d", {willReadFrequently: true});
    probe.clearRect(0, 0, 1, 1);
    probe.fillStyle = "#000";
    probe.fillStyle = color;
    probe.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  }

  function over(fg, bg) {  // fg composited over an opaque bg
    const a = fg[3];
    return [0, 1, 2].map((i) => fg[i] * a + bg[i] * (1 - a)).concat(1);
  }

  function luminance([r, g, b]) {
    const lin = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  }

  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  /** The scheme's colours: fg, bg, a faint grid colour, and "mark": whichever of the primary,
   * link and accent colours contrasts most with the background (indigo in light, amber in dark). */
  function palette(el) {
    const style = getComputedStyle(el);
    const get = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    const bg = over(rgba(get("--md-default-bg-color", "#fff")), [255, 255, 255, 1]);
    const css = ([r, g, b, a]) => `rgba(${r}, ${g}, ${b}, ${a})`;
    let mark = null, best = -1;
    for (const name of ["--md-primary-fg-color", "--md-typeset-a-color", "--md-accent-fg-color"]) {
      const value = get(name, "");
      if (!value) continue;
      const ratio = contrast(over(rgba(value), bg), bg);
      if (ratio > best + 0.5) { best = ratio; mark = value; }   // prefer the primary colour on a near tie
    }
    return {
      bg: css(bg), bgRGB: bg,
      fg: get("--md-default-fg-color", "#000"),
      faint: get("--md-default-fg-color--lightest", "rgba(0,0,0,.07)"),
      light: get("--md-default-fg-color--light", "rgba(0,0,0,.54)"),
      mark: mark || get("--md-default-fg-color", "#000"),
    };
  }

  function mix(a, b, t) { return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)); }

  const hex = (s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
  const VIRIDIS_RGB = VIRIDIS.map(hex), NEGATIVE_RGB = hex(NEGATIVE), POSITIVE_RGB = hex(POSITIVE);

  function sequential(t) {  // viridis, t in [0, 1]
    t = clamp(t, 0, 1) * (VIRIDIS_RGB.length - 1);
    const i = Math.min(VIRIDIS_RGB.length - 2, Math.floor(t));
    return mix(VIRIDIS_RGB[i], VIRIDIS_RGB[i + 1], t - i);
  }

  function diverging(t, bg) {  // t in [-1, 1]: blue -> page background -> red
    t = clamp(t, -1, 1);
    return mix(bg, t < 0 ? NEGATIVE_RGB : POSITIVE_RGB, Math.abs(t));
  }

  /** Size a canvas's bitmap to cells * cellPx device pixels (its CSS size is set by the stylesheet). */
  function sizeCanvas(canvas, cells, cssCell) {
    const px = Math.max(1, Math.round(cssCell * (window.devicePixelRatio || 1)));
    canvas.width = canvas.height = cells * px;
    return px;
  }

  function outline(ctx, scale, left, top, width, height, color) {
    ctx.save();
    ctx.strokeStyle = color;
    ctx.lineWidth = Math.max(1.5, scale * 0.14);
    ctx.setLineDash([scale * 0.45, scale * 0.3]);
    const inset = ctx.lineWidth / 2;
    ctx.strokeRect(left * scale + inset, top * scale + inset, width * scale - 2 * inset,
                   height * scale - 2 * inset);
    ctx.restore();
  }

  // --- one explorer -----------------------------------------------------------------------------

  function check(condition, message) {
    if (!condition) throw new Error(`equidocs explorer: unexpected result JSON: ${message}`);
  }

  function mount(root, amnesiaRecord, weightsRecord) {
    const A = amnesiaRecord.result || amnesiaRecord;
    check(A.models && A.kinds && A.ns && A.classes && A.region, "amnesia result lacks models/kinds/ns/classes/region");
    const C = A.canvas, side = A.side, region = A.region, kinds = A.kinds, ns = A.ns.map(String);
    check(side === C - GLYPH + 1, `side ${side} != canvas ${C} - ${GLYPH} + 1`);
    for (const kind of kinds) {
      for (const n of ns) {
        const grid = A.models[kind]?.by_n?.[n]?.stop_probs_seed0;
        check(Array.isArray(grid) && grid.length === side && grid[0].length === side
              && grid[0][0].length === A.classes.length, `models.${kind}.by_n.${n}.stop_probs_seed0`);
      }
    }
    const W = weightsRecord ? (weightsRecord.result || weightsRecord) : null;
    const id = `eqx-${++uid}`;
    const state = {
      row: region.top + Math.floor(region.height / 2),
      col: region.left + Math.floor(region.width / 2),
      n: ns[0],
      wi: 0,                                     // the weights slider starts at the smallest N
    };
    const inside = (r, c) => r >= region.top && r < region.top + region.height
      && c >= region.left && c < region.left + region.width;

    // Board: the glyph canvas.
    const board = h("canvas", {
      class: "eqx-board", tabindex: 0, role: "application", "aria-roledescription": "position picker",
      "aria-keyshortcuts": "ArrowUp ArrowDown ArrowLeft ArrowRight Home End",
      "aria-label": `Stop-sign position on the ${C} by ${C} canvas. Arrow keys move the stop sign ` +
        "one pixel (with Shift, four); Home and End jump to the top-left and bottom-right corners.",
    });
    const status = h("p", {class: "eqx-status", id: `${id}-status`, role: "status", "aria-live": "polite",
                           "aria-atomic": "true"});
    const position = h("p", {class: "eqx-position", "aria-hidden": "true"});

    // Probability panel.
    const cells = {};   // kind -> {verdict, rows: [{fill, value, row}]}
    const models = kinds.map((kind) => {
      const verdict = h("span", {class: "eqx-verdict"});
      const rows = A.classes.map((name, k) => {
        const fill = h("span", {class: "eqx-fill"});
        const value = h("span", {class: "prob", "data-kind": kind, "data-class": k});
        const row = h("div", {class: "eqx-prob-row" + (k === 0 ? " eqx-prob-row--true" : ""), "data-class": k},
          h("span", {class: "eqx-class", text: name}),
          h("span", {class: "eqx-bar", "aria-hidden": "true"}, fill),
          value);
        return {fill, value, row};
      });
      cells[kind] = {verdict, rows};
      return h("section", {class: "eqx-model", "data-kind": kind, "aria-label": `${kind} net`},
        h("div", {class: "eqx-model__title"},
          h("span", {class: "eqx-swatch", "aria-hidden": "true"}),
          h("strong", {text: KIND_LABELS[kind] || kind}), " ", verdict),
        rows.map((r) => r.row));
    });

    const select = h("select", {class: "eqx-n", id: `${id}-n`},
      ns.map((n) => h("option", {value: n, text: n})));
    select.value = state.n;

    const main = h("div", {class: "eqx-main"},
      h("figure", {class: "eqx-board-figure"},
        board,
        h("figcaption", {},
          "Click or drag to place the stop sign, or focus the canvas and use the arrow keys. ",
          h("span", {class: "eqx-key eqx-key--region", "aria-hidden": "true"}), "Dashed: the only area where ",
          "training glyphs ever appeared.")),
      h("div", {class: "eqx-probs"},
        h("label", {class: "eqx-control", for: `${id}-n`}, "Training examples ", select),
        position,
        status,
        h("p", {class: "eqx-note"},
          "Class probabilities that the seed-0 model of each kind, trained on that many examples, gave this ",
          "noisy stop sign at this position: its real outputs, exported at build time."),
        models));

    // Weights panel (the weights experiment; optional).
    let weights = null, drawWeights = () => {};
    if (W) {
      check(Array.isArray(W.ns) && W.by_n && W.canvas, "weights result lacks ns/by_n/canvas");
      const wns = W.ns.map(String);
      for (const n of wns) check(W.by_n[n]?.dense?.energy && W.by_n[n]?.dense?.units, `weights by_n.${n}.dense`);
      const maxOf = (arrays) => Math.max(1e-12, ...arrays.flat(Infinity).map((v) => Math.abs(v)));
      const energyMax = maxOf(wns.map((n) => W.by_n[n].dense.energy));
      const unitMax = maxOf(wns.map((n) => W.by_n[n].dense.units));
      const unitsShown = Math.max(...wns.map((n) => W.by_n[n].dense.units.length));
      const slider = h("input", {type: "range", class: "eqx-slider", id: `${id}-w`, min: 0,
                                 max: wns.length - 1, step: 1, value: state.wi});
      const out = h("output", {class: "eqx-slider-value", for: `${id}-w`});
      const share = h("p", {class: "eqx-share"});
      const tile = (panel, caption) => {
        const canvas = h("canvas", {class: "eqx-tile-canvas", "data-panel": panel, role: "img"});
        return {canvas, figure: h("figure", {class: "eqx-tile"}, canvas, h("figcaption", {text: caption}))};
      };
      const tiles = [tile("energy", "all units: RMS of \u0394w")];
      for (let j = 0; j < unitsShown; j++) tiles.push(tile(`unit-${j}`, `unit ${j + 1}: \u0394w`));
      const bars = {energy: h("canvas", {class: "eqx-colorbar", "aria-hidden": "true"}),
                    units: h("canvas", {class: "eqx-colorbar", "aria-hidden": "true"})};
      // The pixels that training glyphs covered: the weights result's footprint [top, left, height,
      // width] when it has one, else the amnesia experiment's (same canvas, same training corner).
      const fp = Array.isArray(W.footprint) && W.footprint.length === 4
        ? {top: W.footprint[0], left: W.footprint[1], height: W.footprint[2], width: W.footprint[3]}
        : W.canvas === C
          ? {top: region.top, left: region.left, height: region.height + GLYPH - 1, width: region.width + GLYPH - 1}
          : null;
      const noise = weightsRecord.config?.task?.noise;
      const noiseText = noise === 0 ? " Its training canvases were noise-free, so a pixel outside the trained "
        + "area was always zero in training." : "";
      weights = h("div", {class: "eqx-weights"},
        h("p", {class: "eqx-weights__title"},
          h("strong", {text: "The dense net's guards. "}),
          "How far each first-layer weight of the seed-0 dense net moved from its initial value ",
          "during training: one pixel per input weight. Drag the slider to add training data.", noiseText),
        h("label", {class: "eqx-control", for: `${id}-w`}, "Training examples ", slider, " ", out),
        h("div", {class: "eqx-tiles"}, tiles.map((t) => t.figure)),
        h("div", {class: "eqx-legends"},
          h("span", {class: "eqx-legend"}, "RMS 0 ", bars.energy, ` ${energyMax.toPrecision(2)}`),
          h("span", {class: "eqx-legend"}, `\u0394w \u2212${unitMax.toPrecision(2)} `, bars.units,
            ` +${unitMax.toPrecision(2)}`),
          h("span", {class: "eqx-legend"}, "colour scales shared by every N",
            fp ? "; dashed: pixels that training glyphs covered" : "")),
        share);
      slider.addEventListener("input", () => { state.wi = Number(slider.value); drawWeights(); });

      drawWeights = () => {
        const n = wns[state.wi];
        const entry = W.by_n[n].dense;
        const colors = palette(root);
        slider.setAttribute("aria-valuetext", `${n} training examples`);
        out.textContent = n;
        root.dataset.weightsN = n;
        const images = [["energy", entry.energy]].concat(entry.units.map((u, j) => [`unit-${j}`, u]));
        tiles.forEach((t, j) => {
          const image = images[j];
          t.figure.hidden = !image;
          if (!image) return;
          const [panel, data] = image;
          const cw = W.canvas, scale = sizeCanvas(t.canvas, cw, 7);
          const ctx = t.canvas.getContext("2d");
          for (let r = 0; r < cw; r++) {
            for (let c = 0; c < cw; c++) {
              const v = data[r][c];
              const rgb = panel === "energy" ? sequential(v / energyMax) : diverging(v / unitMax, colors.bgRGB);
              ctx.fillStyle = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
              ctx.fillRect(c * scale, r * scale, scale, scale);
            }
          }
          if (fp) outline(ctx, scale, fp.left, fp.top, fp.width, fp.height, panel === "energy" ? "#ffffff" : colors.fg);
          t.canvas.dataset.n = n;
          t.canvas.setAttribute("aria-label", `${panel === "energy" ? "RMS weight change over all units"
            : `Weight change of the unit ${panel.slice(5) * 1 + 1} that moved most`}, dense net trained on ${n} examples`);
        });
        // Colour bars.
        for (const [name, canvas] of Object.entries(bars)) {
          canvas.width = 96; canvas.height = 10;
          const ctx = canvas.getContext("2d");
          for (let x = 0; x < canvas.width; x++) {
            const t = x / (canvas.width - 1);
            const rgb = name === "energy" ? sequential(t) : diverging(2 * t - 1, colors.bgRGB);
            ctx.fillStyle = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
            ctx.fillRect(x, 0, 1, canvas.height);
          }
        }
        const s = W.by_n[n].dense.share_inside;
        const area = W.by_n[n].area_share;
        share.textContent = Array.isArray(s) && typeof area === "number"
          ? `With ${n} examples, ${(100 * s[0]).toFixed(1)}% of the dense net's weight change (mean over seeds) ` +
            `lies on the trained area, which is ${(100 * area).toFixed(1)}% of the canvas.`
          : "";
      };
    }

    root.replaceChildren(...[main, weights].filter(Boolean));
    root.classList.add("eqx-live");

    // --- the board and the probabilities ---

    function drawBoard() {
      const colors = palette(root);
      root.style.setProperty("--eqx-mark", colors.mark);   // the bars use the same colour
      const scale = sizeCanvas(board, C, 20);
      const ctx = board.getContext("2d");
      ctx.fillStyle = colors.bg;
      ctx.fillRect(0, 0, board.width, board.height);
      // The trained area's pixel footprint, tinted and dashed.
      const fw = region.width + GLYPH - 1, fh = region.height + GLYPH - 1;
      ctx.save();
      ctx.globalAlpha = 0.14;
      ctx.fillStyle = colors.mark;
      ctx.fillRect(region.left * scale, region.top * scale, fw * scale, fh * scale);
      ctx.restore();
      // Pixel grid.
      ctx.strokeStyle = colors.faint;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let i = 1; i < C; i++) {
        ctx.moveTo(i * scale + 0.5, 0); ctx.lineTo(i * scale + 0.5, board.height);
        ctx.moveTo(0, i * scale + 0.5); ctx.lineTo(board.width, i * scale + 0.5);
      }
      ctx.stroke();
      outline(ctx, scale, region.left, region.top, fw, fh, colors.mark);
      // The stop sign: the octagon glyph's pixels, as the models saw them (without the noise).
      ctx.fillStyle = colors.fg;
      for (const [r, c] of STOP_SIGN) {
        ctx.fillRect((state.col + c) * scale + 1, (state.row + r) * scale + 1, scale - 1, scale - 1);
      }
      // Its 5 x 5 box, so the top-left position is visible.
      ctx.strokeStyle = colors.light;
      ctx.lineWidth = Math.max(1, scale * 0.06);
      ctx.strokeRect(state.col * scale, state.row * scale, GLYPH * scale, GLYPH * scale);
    }

    function update() {
      const {row, col, n} = state;
      const where = inside(row, col) ? "inside the trained area" : "outside the trained area";
      const summary = [];
      for (const kind of kinds) {
        const probs = A.models[kind].by_n[n].stop_probs_seed0[row][col];
        let best = 0;
        probs.forEach((p, k) => { if (p > probs[best]) best = k; });
        cells[kind].rows.forEach(({fill, value, row: el}, k) => {
          fill.style.width = `${(100 * clamp(probs[k], 0, 1)).toFixed(2)}%`;
          value.textContent = fmt(probs[k]);
          el.classList.toggle("eqx-prob-row--top", k === best);
        });
        const right = best === 0;
        cells[kind].verdict.textContent = right ? "\u2713 says stop sign" : `\u2717 says ${A.classes[best]}`;
        cells[kind].verdict.className = "eqx-verdict " + (right ? "eqx-verdict--right" : "eqx-verdict--wrong");
        summary.push(`${kind}: stop sign ${fmt(probs[0])}, says ${A.classes[best]}`);
      }
      position.textContent = `Row ${row}, column ${col} \u00b7 ${where}`;
      status.textContent = `Stop sign at row ${row}, column ${col} (top-left pixel), ${where}; ` +
        `${n} training examples. ${summary.join("; ")}.`;
      Object.assign(root.dataset, {row: String(row), col: String(col), n: String(n), inside: String(inside(row, col))});
      drawBoard();
    }

    function moveTo(row, col) {
      row = clamp(row, 0, side - 1);
      col = clamp(col, 0, side - 1);
      if (row === state.row && col === state.col) return;
      state.row = row; state.col = col;
      update();
    }

    function fromPointer(event) {
      const rect = board.getBoundingClientRect();
      const x = (event.clientX - rect.left) / rect.width * C;
      const y = (event.clientY - rect.top) / rect.height * C;
      moveTo(Math.floor(y) - HALF, Math.floor(x) - HALF);
    }

    let dragging = null;
    board.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      dragging = event.pointerId;
      board.setPointerCapture(event.pointerId);
      board.focus({preventScroll: true});
      fromPointer(event);
      event.preventDefault();
    });
    board.addEventListener("pointermove", (event) => { if (event.pointerId === dragging) fromPointer(event); });
    const stop = (event) => { if (event.pointerId === dragging) dragging = null; };
    board.addEventListener("pointerup", stop);
    board.addEventListener("pointercancel", stop);
    board.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 4 : 1;
      const moves = {ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step]};
      if (moves[event.key]) moveTo(state.row + moves[event.key][0], state.col + moves[event.key][1]);
      else if (event.key === "Home") moveTo(0, 0);
      else if (event.key === "End") moveTo(side - 1, side - 1);
      else return;
      event.preventDefault();
    });
    select.addEventListener("change", () => { state.n = select.value; update(); });

    const redraw = () => { drawBoard(); drawWeights(); };
    mounted.add({root, redraw});
    update();
    drawWeights();
    root.dataset.ready = "true";
  }

  function failed(root, error) {
    console.error(error);
    root.dataset.ready = "error";
    root.append(h("p", {class: "eqx-error", text: `The interactive explorer could not load its data (${error.message}).`}));
  }

  function init(root) {
    if (root.dataset.explorer) return;           // guard against double initialisation
    root.dataset.explorer = "init";
    const url = (attr) => new URL(attr, window.location.href).href;
    const results = root.dataset.results;
    if (!results) return failed(root, new Error("the div has no data-results attribute"));
    const weights = root.dataset.weights ? fetchJSON(url(root.dataset.weights)) : Promise.resolve(null);
    Promise.all([fetchJSON(url(results)), weights])
      .then(([a, w]) => { if (root.isConnected) mount(root, a, w); })
      .catch((error) => failed(root, error));
  }

  function setup() {
    for (const item of mounted) if (!item.root.isConnected) mounted.delete(item);
    document.querySelectorAll(".equidocs-explorer").forEach(init);
  }

  // Redraw the canvases when the reader toggles the colour scheme (Material sets body attributes).
  new MutationObserver(() => {
    for (const item of mounted) {
      if (item.root.isConnected) item.redraw();
      else mounted.delete(item);
    }
  }).observe(document.body, {attributes: true, attributeFilter: ["data-md-color-scheme",
    "data-md-color-primary", "data-md-color-accent"]});

  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(setup);          // every page load, instant navigation included
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
