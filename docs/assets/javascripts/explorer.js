/* equidocs: the security-guard page's explorer, running the real trained models in the page
 * (plain JS, no framework, no CDN).
 *
 * For every `<div class="equidocs-explorer" data-models="../results/explorer_models.weights.json"
 * data-results="../results/amnesia.json" data-weights="../results/weights.json">` (URLs relative to
 * the page), fetch the exported files and replace the div's static fallback with:
 *   - a C x C canvas holding a glyph: drag it anywhere (mouse, touch, pen) or move it with the arrow
 *     keys; pick another glyph; or switch to Draw and paint pixels (pointer, or arrows + Space);
 *   - the class probabilities of the conv, locally connected and dense nets, computed live in the
 *     browser from their exported float32 weights (window.equidocs.predict), for the chosen
 *     training-set size N and seed;
 *   - beside each model, its accuracy at every glyph position (amnesia.json, mean over seeds) with
 *     the current position marked, and below, what moves inside: the conv and local nets' feature
 *     maps and the dense net's hidden units;
 *   - the weights experiment's slider (how far the dense net's first-layer weights moved), set by
 *     the same N selector where its sizes match.
 * Controls: the training-set size N, the seed, and the conv and local nets' readout: "pooled" (the
 * global max of equidocs.models' head="max") or "flatten" (head="flatten": a linear map of every
 * position's features), which runs the exported kinds "conv_flatten" and "local_flatten".
 * The view (glyph, row, col, n, seed, readout) is kept in the page's query string, so a link
 * restores it.
 *
 * Compact mode, `<div class="equidocs-explorer compact" data-models="results/explorer_models.home.weights.json"
 * data-kinds="conv dense" data-n="2048" data-more="security-guard/">` (the home page): the same code
 * with the canvas and the named nets' bars only (no drawing, controls, maps or weights), a link to
 * the full explorer on the same view, and no URL state. Its weights file holds only the models it
 * shows; the files a page loads are merged (window.equidocs.predict serves them all).
 * Works with Material's instant navigation (document$), redraws when the colour scheme changes.
 * State for tests: root data-row, data-col, data-n, data-seed, data-readout, data-glyph, data-mode,
 * data-ready;
 * window.equidocs.explorers[i].{input(), probs(), maps(), state(), time()}.
 */
(function () {
  "use strict";

  const KIND_LABELS = {                          // as in equidocs.plotting.KIND_LABELS
    conv: "conv (local + shared)",
    local: "locally connected (local, not shared)",
    dense: "dense (neither)",
  };
  const FLATTEN = "_flatten";                    // exported kind of a head="flatten" net: conv_flatten
  const baseKind = (kind) => (kind.endsWith(FLATTEN) ? kind.slice(0, -FLATTEN.length) : kind);
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
    const size = cells * px;                     // resizing reallocates (and clears): only on change
    if (canvas.width !== size) canvas.width = size;
    if (canvas.height !== size) canvas.height = size;
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
  // --- the models: the exported float32 weights, and the forward passes torch runs ---------------
  //
  // results/explorer_models.weights.json (equidocs.experiments.explorer_models) holds, for every
  // (kind, n, seed), the model's constructor options and every state_dict tensor (float32,
  // little-endian, base64). The forward passes below are those of equidocs.models: conv and locally
  // connected blocks with circular (or zero) "same" padding + ReLU, a global max (or mean) head and a
  // linear classifier; or a dense net (Linear + ReLU layers, then a Linear). They accumulate in
  // float64, so they agree with torch's float32 to about 1e-6.

  const nets = new Map();                        // `${kind}|${n}|${seed}` -> prepared net
  let bank = null;                               // the weights file, once loaded

  function floats(b64) {
    const text = atob(b64), bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const view = new DataView(bytes.buffer), out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);   // little-endian
    return out;
  }

  function tensor(entry, name, rank) {
    const t = entry.tensors[name];
    if (!t) throw new Error(`equidocs: model ${entry.kind} n=${entry.n} seed=${entry.seed} lacks ${name}`);
    const data = floats(t.data), count = t.shape.reduce((a, b) => a * b, 1);
    if (data.length !== count || (rank && t.shape.length !== rank)) {
      throw new Error(`equidocs: tensor ${name}: shape ${t.shape} does not match its ${data.length} values`);
    }
    return {shape: t.shape, data};
  }

  /** The weights of one exported model, arranged by layer. */
  function prepare(entry) {
    const o = entry.options, [c, h, w] = entry.in_shape;
    const net = {kind: entry.kind, base: baseKind(entry.kind), n: entry.n, seed: entry.seed, options: o,
                 inShape: [c, h, w], classes: entry.num_classes, layers: []};
    if ((entry.kind !== net.base) !== (o.head === "flatten")) {
      throw new Error(`equidocs: model kind ${entry.kind} has head=${o.head}`);
    }
    if (entry.kind === "dense") {
      const ids = Object.keys(entry.tensors).map((k) => /^body\.(\d+)\.weight$/.exec(k)).filter(Boolean)
        .map((m) => Number(m[1])).sort((a, b) => a - b);
      net.layers = ids.map((i) => ({weight: tensor(entry, `body.${i}.weight`, 2), bias: tensor(entry, `body.${i}.bias`, 1)}));
      return net;
    }
    if (net.base !== "conv" && net.base !== "local") throw new Error(`equidocs: unknown model kind ${entry.kind}`);
    if (!["max", "avg", "flatten"].includes(o.head)) throw new Error(`equidocs: head=${o.head} is not implemented`);
    if (o.downsample !== "none" && o.downsample !== "stride" && o.downsample !== "maxpool") {
      throw new Error(`equidocs: downsample=${o.downsample} is not implemented in the browser`);
    }
    let size = [h, w];
    for (let i = 0; i < o.depth; i++) {
      const key = Object.keys(entry.tensors).find((k) => new RegExp(`^blocks\\.${i}\\.\\d+\\.weight$`).test(k));
      if (!key) throw new Error(`equidocs: model ${entry.kind} lacks block ${i}`);
      const pool = i > 0 && o.downsample === "maxpool";
      const stride = i > 0 && o.downsample === "stride" ? 2 : 1;
      if (pool) size = [Math.floor(size[0] / 2), Math.floor(size[1] / 2)];
      net.layers.push({pool, stride, inSize: size, weight: tensor(entry, key), bias: tensor(entry, key.replace(/weight$/, "bias"))});
      size = [Math.floor((size[0] - 1) / stride) + 1, Math.floor((size[1] - 1) / stride) + 1];
    }
    net.classifier = {weight: tensor(entry, "classifier.weight", 2), bias: tensor(entry, "classifier.bias", 1)};
    return net;
  }

  /** Conv (shared kernel) or locally connected (a kernel per output position) layer, then ReLU. */
  function spatialLayer(kind, x, cin, h, w, layer, k, stride, circular) {
    const weight = layer.weight.data, bias = layer.bias.data;
    const cout = kind === "conv" ? layer.weight.shape[0] : layer.weight.shape[1];
    const p = k >> 1, ho = Math.floor((h - 1) / stride) + 1, wo = Math.floor((w - 1) / stride) + 1;
    const fan = cin * k * k, out = new Float64Array(cout * ho * wo);
    const patch = new Float64Array(fan);
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        // The window around output (i, j): (channel, row, column), like F.unfold.
        let q = 0;
        for (let c = 0; c < cin; c++) {
          for (let u = 0; u < k; u++) {
            let r = i * stride + u - p;
            const rowOut = r < 0 || r >= h;
            if (circular) r = ((r % h) + h) % h;
            for (let v = 0; v < k; v++, q++) {
              let s = j * stride + v - p;
              if (circular) s = ((s % w) + w) % w;
              else if (rowOut || s < 0 || s >= w) { patch[q] = 0; continue; }
              patch[q] = x[(c * h + r) * w + s];
            }
          }
        }
        const l = i * wo + j;
        for (let o = 0; o < cout; o++) {
          const base = kind === "conv" ? o * fan : (l * cout + o) * fan;
          let sum = 0;
          for (let t = 0; t < fan; t++) sum += weight[base + t] * patch[t];
          sum += kind === "conv" ? bias[o] : bias[o * ho * wo + l];
          out[o * ho * wo + l] = sum > 0 ? sum : 0;
        }
      }
    }
    return {data: out, c: cout, h: ho, w: wo};
  }

  function maxPool2(x, c, h, w) {
    const ho = Math.floor(h / 2), wo = Math.floor(w / 2), out = new Float64Array(c * ho * wo);
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          const a = (ch * h + 2 * i) * w + 2 * j;
          out[(ch * ho + i) * wo + j] = Math.max(x[a], x[a + 1], x[a + w], x[a + w + 1]);
        }
      }
    }
    return {data: out, c, h: ho, w: wo};
  }

  function linear(layer, x, relu) {
    const [outs, ins] = layer.weight.shape, w = layer.weight.data, b = layer.bias.data;
    const y = new Float64Array(outs);
    for (let o = 0; o < outs; o++) {
      let sum = 0;
      for (let i = 0, base = o * ins; i < ins; i++) sum += w[base + i] * x[i];
      sum += b[o];
      y[o] = relu && sum < 0 ? 0 : sum;
    }
    return y;
  }

  function softmax(logits) {
    const top = Math.max(...logits), e = Array.from(logits, (v) => Math.exp(v - top));
    const total = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / total);
  }

  /** {logits, probs, features} of one prepared net on a (C*H*W) input; features: the last block's
   * map {data, c, h, w} (conv, local) or the first hidden layer's units {data} (dense). */
  function run(net, x) {
    let features;
    let y = x;
    if (net.kind === "dense") {
      net.layers.forEach((layer, i) => {
        y = linear(layer, y, i < net.layers.length - 1);
        if (i === 0) features = {data: y, c: y.length, h: 1, w: 1};
      });
      return {logits: Array.from(y), probs: softmax(y), features};
    }
    const o = net.options, circular = o.padding === "circular";
    let map = {data: x, c: net.inShape[0], h: net.inShape[1], w: net.inShape[2]};
    for (const layer of net.layers) {
      if (layer.pool) map = maxPool2(map.data, map.c, map.h, map.w);
      map = spatialLayer(net.base, map.data, map.c, map.h, map.w, layer, o.kernel_size, layer.stride, circular);
    }
    if (o.head === "flatten") {                  // torch's f.flatten(1): channel, row, column
      const logits = linear(net.classifier, map.data, false);
      return {logits: Array.from(logits), probs: softmax(logits), features: map};
    }
    const area = map.h * map.w, pooled = new Float64Array(map.c);
    for (let ch = 0; ch < map.c; ch++) {
      let acc = o.head === "avg" ? 0 : -Infinity;
      for (let t = 0; t < area; t++) {
        const v = map.data[ch * area + t];
        acc = o.head === "avg" ? acc + v : (v > acc ? v : acc);
      }
      pooled[ch] = o.head === "avg" ? acc / area : acc;
    }
    const logits = linear(net.classifier, pooled, false);
    return {logits: Array.from(logits), probs: softmax(logits), features: map};
  }

  const KIND_ORDER = ["conv", "local", "dense", "conv" + FLATTEN, "local" + FLATTEN];
  const byKind = (a, b) => ((KIND_ORDER.indexOf(a) + 99) % 99) - ((KIND_ORDER.indexOf(b) + 99) % 99);

  /** Add a weights file's models to the ones loaded: the home page loads a small file (two models),
   * the security-guard page the full one; after instant navigation both are in. */
  function loadBank(data) {
    if (!data || data.format !== 1 || !Array.isArray(data.models)) {
      throw new Error("equidocs: the weights file is not format 1 with a models list");
    }
    if (bank && (bank.canvas !== data.canvas || bank.pattern !== data.pattern)) {
      throw new Error(`equidocs: weights files for a ${bank.canvas}x${bank.canvas} and a ${data.canvas}x${data.canvas} canvas`);
    }
    for (const entry of data.models) {
      const key = `${entry.kind}|${entry.n}|${entry.seed}`;
      if (!nets.has(key)) nets.set(key, prepare(entry));
    }
    const union = (a, b, order) => [...new Set([...a, ...b])].sort(order);
    bank = !bank ? data : {...bank, kinds: union(bank.kinds, data.kinds, byKind),
      ns: union(bank.ns, data.ns, (a, b) => a - b), seeds: union(bank.seeds, data.seeds, (a, b) => a - b)};
    return data;
  }

  const isList = (v) => Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));

  /** A value as an error message names it: NaN, 3 (a number), "abc" (a string), null, an array of length 11. */
  function show(v) {
    if (v === null || v === undefined) return String(v);
    if (typeof v === "number") return Number.isFinite(v) ? `${v} (a number)` : String(v);
    if (typeof v === "string") return `${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v)} (a string)`;
    if (typeof v === "function") return "a function";
    if (typeof v !== "object") return `${String(v)}${typeof v === "bigint" ? "n" : ""} (a ${typeof v})`;
    const name = Array.isArray(v) ? "array" : Object.getPrototypeOf(v)?.constructor?.name || "Object";
    const what = `${/^[aeiou]/i.test(name) ? "an" : "a"} ${name === "Object" ? "object" : name}`;
    return isList(v) ? `${what} of length ${v.length}` : what;
  }

  /** One of the exported values (a number, or its decimal string as the explorer's state holds it). */
  function choice(fn, name, value, allowed) {
    if (value === undefined || value === null) return allowed[0];
    const v = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (!allowed.includes(v)) throw new Error(`${fn}: ${name} is ${show(value)}: expected one of ${allowed.join(", ")}`);
    return v;
  }

  /** The prepared net of (kind, options.n, options.seed); options and its keys are optional. */
  function netFor(fn, kind, options) {
    if (!bank) throw new Error(`${fn}: the model weights are not loaded yet (await equidocs.ready)`);
    if (!bank.kinds.includes(kind)) {
      throw new Error(`${fn}: kind is ${show(kind)}: expected one of ${bank.kinds.map((k) => JSON.stringify(k)).join(", ")}`);
    }
    if (options !== undefined && options !== null && (typeof options !== "object" || isList(options))) {
      throw new Error(`${fn}: options is ${show(options)}: expected an object {n, seed} (both optional)`);
    }
    const unknown = Object.keys(options ?? {}).find((key) => key !== "n" && key !== "seed");
    if (unknown !== undefined) throw new Error(`${fn}: options has an unknown key ${JSON.stringify(unknown)}: expected {n, seed}`);
    const n = choice(fn, "options.n", options?.n, bank.ns), seed = choice(fn, "options.seed", options?.seed, bank.seeds);
    const net = nets.get(`${kind}|${n}|${seed}`);
    if (!net) throw new Error(`${fn}: no ${kind} model for n=${n}, seed=${seed} in the weights file`);
    return net;
  }

  /** The pixels as a flat Float64Array: C*H*W finite numbers, given flat (an array or a typed array)
   * or nested as H rows of W (one channel) or C channels of H rows of W; rows may be typed arrays. */
  function pixelsOf(fn, net, pixels) {
    const [c, h, w] = net.inShape, size = c * h * w;
    const expected = `an array of ${c === 1 ? "" : `${c} channels of `}${h} rows of ${w} numbers (or a flat array of ${size})`;
    const path = (index) => `pixels${index.map((i) => `[${i}]`).join("")}`;
    const fail = (got) => { throw new Error(`${fn}: pixels: expected ${expected}, got ${got}`); };
    if (!isList(pixels)) throw new Error(`${fn}: pixels is ${show(pixels)}: expected ${expected}`);
    const shape = [[size], ...(c === 1 ? [[h, w]] : []), [c, h, w]].find((s) => s[0] === pixels.length);
    if (!shape) fail(show(pixels));
    let depth = 0;
    for (let v = pixels; isList(v) && depth < 32; v = v[0]) depth++;   // 32: a cyclic array ends too
    if (depth > shape.length) fail(`arrays nested ${depth} deep`);
    const flat = new Float64Array(size), index = [];
    let k = 0;
    (function walk(v, d) {
      if (d === shape.length) {                 // a pixel
        if (typeof v !== "number") throw new Error(`${fn}: ${path(index)} is ${show(v)}: expected a number`);
        if (!Number.isFinite(v)) throw new Error(`${fn}: ${path(index)} is ${v}: expected a finite number`);
        flat[k++] = v;
        return;
      }
      if (!isList(v) || v.length !== shape[d]) {
        fail(`${isList(v) && d === shape.length - 1 ? `a row of length ${v.length}` : show(v)} at ${path(index)}`);
      }
      for (let i = 0; i < v.length; i++) {
        index.push(i);
        walk(v[i], d + 1);
        index.pop();
      }
    })(pixels, 0);
    return flat;
  }

  const banks = new Map();                       // url -> Promise of the loaded weights file
  let resolveBank, rejectBank;
  const ready = new Promise((resolve, reject) => { resolveBank = resolve; rejectBank = reject; });
  ready.catch(() => {});                          // reported by the explorer that asked

  /** Fetch (once per URL) and decode a weights file; the first resolves window.equidocs.ready. */
  function requireBank(url) {
    if (!banks.has(url)) {
      const promise = fetchJSON(url).then(loadBank);
      banks.set(url, promise);
      promise.then(resolveBank, (error) => { banks.delete(url); rejectBank(error); });
    }
    return banks.get(url);
  }

  const api = window.equidocs = Object.assign(window.equidocs || {}, {
    ready,
    /** Class probabilities of the (kind, options.n, options.seed) model for C*H*W finite pixels
     * (row-major: a flat array or typed array, or nested rows); the same numbers torch gives
     * (equidocs.explorer.load_models). kind is an exported kind (equidocs.models().kinds): "conv",
     * "local", "dense", or "conv_flatten" / "local_flatten" for the flatten readout. Throws on any
     * other input, naming what is wrong. */
    predict: (kind, pixels, options) => {
      const net = netFor("equidocs.predict", kind, options);
      return run(net, pixelsOf("equidocs.predict", net, pixels)).probs;
    },
    /** predict, plus logits and the features the explorer draws. */
    forward: (kind, pixels, options) => {
      const net = netFor("equidocs.forward", kind, options);
      return run(net, pixelsOf("equidocs.forward", net, pixels));
    },
    models: () => (bank ? {kinds: bank.kinds, ns: bank.ns, seeds: bank.seeds, canvas: bank.canvas} : null),
    explorers: [],
  });
  // --- one explorer -----------------------------------------------------------------------------

  function check(condition, message) {
    if (!condition) throw new Error(`equidocs explorer: unexpected result JSON: ${message}`);
  }

  const PARAMS = {glyph: "glyph", row: "row", col: "col", n: "n", seed: "seed", readout: "readout"};   // URL query names
  const READOUTS = {pooled: "pooled (max over positions)", flatten: "flatten (a weight per position)"};

  /** A drawn glyph in the URL: "HxW-" + its mask's bits, row-major, as hex digits. */
  function encodeMask(mask) {
    let hex = "";
    for (let i = 0; i < mask.cells.length; i += 4) {
      let nibble = 0;
      for (let b = 0; b < 4; b++) nibble = (nibble << 1) | (mask.cells[i + b] ? 1 : 0);
      hex += nibble.toString(16);
    }
    return `${mask.h}x${mask.w}-${hex}`;
  }

  function decodeMask(text, C) {
    const m = /^(\d+)x(\d+)-([0-9a-f]*)$/.exec(text || "");
    if (!m) return null;
    const h = Number(m[1]), w = Number(m[2]);
    if (h < 1 || w < 1 || h > C || w > C || m[3].length !== Math.ceil(h * w / 4)) return null;
    const cells = new Uint8Array(h * w);
    for (let i = 0; i < cells.length; i++) cells[i] = (parseInt(m[3][i >> 2], 16) >> (3 - (i & 3))) & 1;
    return cells.some(Boolean) ? {h, w, cells} : null;
  }

  function mount(root, amnesiaRecord, weightsRecord, modelData) {
    const A = amnesiaRecord ? (amnesiaRecord.result || amnesiaRecord) : null;
    const M = modelData;
    check(Array.isArray(M.glyphs) && M.canvas && M.classes && M.region, "weights file lacks glyphs/canvas/classes/region");
    const C = M.canvas, P = M.pattern, region = M.region, kinds = M.kinds, ns = M.ns.map(String);
    const seeds = M.seeds.map(String), classes = M.classes;
    const side = C - P + 1;                      // top-left positions of a P x P glyph per axis
    const accMap = (kind, n) => A?.models?.[kind]?.by_n?.[n]?.acc_map || null;
    if (A) check(A.canvas === C && A.side === side, `amnesia canvas ${A.canvas} != models' ${C}`);
    const W = weightsRecord ? (weightsRecord.result || weightsRecord) : null;
    const id = `eqx-${++uid}`;
    // Compact (the home page): the canvas and the named nets' bars, nothing else.
    const compact = root.classList.contains("compact");
    const panelKinds = (root.dataset.kinds ? root.dataset.kinds.trim().split(/\s+/) : ["conv", "local", "dense"])
      .filter((kind) => kinds.includes(kind));
    check(panelKinds.length > 0, `none of the kinds ${root.dataset.kinds} is exported (${kinds.join(", ")})`);
    const readouts = Object.keys(READOUTS).filter((r) => r === "pooled" || kinds.some((k) => k.endsWith(FLATTEN)));
    /** The exported kind a panel runs: the flatten variant when that readout is chosen and exported. */
    const modelOf = (kind) => (state.readout === "flatten" && kinds.includes(kind + FLATTEN) ? kind + FLATTEN : kind);
    const nDefault = ns.includes(root.dataset.n) ? root.dataset.n : ns[ns.length - 1];   // the largest by default

    // State: the glyph (a class index, or "drawn"), its mask, its top-left cell, N, seed, mode.
    const glyphMask = (g) => {
      const cells = new Uint8Array(P * P);
      M.glyphs[g].flat().forEach((v, i) => { cells[i] = v > 0 ? 1 : 0; });
      return {h: P, w: P, cells};
    };
    const state = {
      glyph: 0, mask: glyphMask(0), row: region.top + Math.floor(region.height / 2),
      col: region.left + Math.floor(region.width / 2), n: nDefault, seed: seeds[0], readout: "pooled",
      mode: "move", cursor: [0, 0], wi: 0,
    };
    const owner = !compact && !api.explorers.some((e) => e.owner);   // the first full one owns the URL
    if (owner) {
      const q = new URLSearchParams(window.location.search), get = (k) => q.get(PARAMS[k]);
      const g = get("glyph");
      if (g !== null && /^\d+$/.test(g) && Number(g) < classes.length) { state.glyph = Number(g); state.mask = glyphMask(state.glyph); }
      else if (g !== null && decodeMask(g, C)) { state.glyph = "drawn"; state.mask = decodeMask(g, C); }
      if (ns.includes(get("n"))) state.n = get("n");
      if (seeds.includes(get("seed"))) state.seed = get("seed");
      if (readouts.includes(get("readout"))) state.readout = get("readout");
      if (/^\d+$/.test(get("row") || "")) state.row = Number(get("row"));
      if (/^\d+$/.test(get("col") || "")) state.col = Number(get("col"));
    }
    const clampPosition = () => {
      state.row = clamp(state.row, 0, C - state.mask.h);
      state.col = clamp(state.col, 0, C - state.mask.w);
    };
    clampPosition();
    const inside = (r, c) => r >= region.top && r < region.top + region.height
      && c >= region.left && c < region.left + region.width;
    const ink = () => state.mask.cells.reduce((a, b) => a + b, 0);

    /** The models' input: the glyph's pixels (a drawn one scaled to the same ink) on a blank canvas. */
    function input() {
      const x = new Float64Array(C * C), {h: mh, w: mw, cells} = state.mask;
      const count = ink(), drawnValue = count ? M.ink / count : 0;
      for (let r = 0; r < mh; r++) {
        for (let c = 0; c < mw; c++) {
          if (!cells[r * mw + c]) continue;
          const v = state.glyph === "drawn" ? drawnValue : M.glyphs[state.glyph][r][c];
          x[(state.row + r) * C + state.col + c] = v;
        }
      }
      return x;
    }

    // --- the DOM ---

    const board = h("canvas", {
      class: "eqx-board", tabindex: 0, role: "application", "aria-roledescription": "glyph canvas",
      "aria-keyshortcuts": "ArrowUp ArrowDown ArrowLeft ArrowRight Home End Space",
      "aria-describedby": `${id}-help`,
      "aria-label": `The glyph on the ${C} by ${C} canvas that all three models read.`,
    });
    const help = h("p", {class: "eqx-help", id: `${id}-help`});
    const status = h("p", {class: "eqx-status", role: "status", "aria-live": "polite", "aria-atomic": "true"});
    const position = h("p", {class: "eqx-position", "aria-hidden": "true"});

    const glyphSelect = h("select", {class: "eqx-glyph", id: `${id}-glyph`},
      classes.map((name, k) => h("option", {value: String(k), text: name})),
      h("option", {value: "drawn", text: "your drawing"}));
    const modeButtons = ["move", "draw"].map((mode) => h("button", {
      type: "button", class: "eqx-mode", "data-mode": mode,
      text: mode === "move" ? "Move" : "Draw"}));
    const clearButton = h("button", {type: "button", class: "eqx-clear", text: "Clear"});
    const nSelect = h("select", {class: "eqx-n", id: `${id}-n`}, ns.map((n) => h("option", {value: n, text: n})));
    const seedSelect = h("select", {class: "eqx-seed", id: `${id}-seed`}, seeds.map((s) => h("option", {value: s, text: s})));
    const readoutSelect = h("select", {class: "eqx-readout", id: `${id}-readout`},
      readouts.map((r) => h("option", {value: r, text: READOUTS[r]})));
    const link = h("a", {class: "eqx-link", href: "#", text: "Link to this view"});
    const more = root.dataset.more ? h("a", {class: "eqx-more", href: root.dataset.more,
      text: "Draw your own glyph; change the training set, seed and readout \u2192"}) : null;

    const cards = {};
    const modelPanels = panelKinds.map((kind) => {
      const verdict = h("span", {class: "eqx-verdict"});
      const rows = classes.map((name, k) => {
        const fill = h("span", {class: "eqx-fill"});
        const value = h("span", {class: "prob", "data-kind": kind, "data-class": k});
        const row = h("div", {class: "eqx-prob-row", "data-class": k},
          h("span", {class: "eqx-class", text: name}), h("span", {class: "eqx-bar", "aria-hidden": "true"}, fill), value);
        return {fill, value, row};
      });
      const acc = h("canvas", {class: "eqx-acc", "data-kind": kind, role: "img"});
      const accText = h("span", {class: "eqx-acc-text"});
      const title = h("strong", {text: KIND_LABELS[kind] || kind}), readout = h("span", {class: "eqx-readout-label"});
      cards[kind] = {verdict, rows, acc, accText, readout};
      return h("section", {class: "eqx-model", "data-kind": kind, "aria-label": `${kind} net`},
        h("div", {class: "eqx-model__title"}, h("span", {class: "eqx-swatch", "aria-hidden": "true"}),
          title, readout, " ", verdict),
        h("div", {class: "eqx-model__body"},
          h("div", {class: "eqx-model__probs"}, rows.map((r) => r.row)),
          A ? h("figure", {class: "eqx-acc-figure"}, acc, h("figcaption", {}, accText)) : null));
    });

    const mechanism = compact ? [] : panelKinds.map((kind) => {
      const canvas = h("canvas", {class: "eqx-feature", "data-kind": kind, role: "img"});
      const caption = h("figcaption");
      return {kind, canvas, caption, figure: h("figure", {class: "eqx-feature-figure"}, canvas, caption)};
    });

    const main = compact ? h("div", {class: "eqx-main"},
      h("div", {class: "eqx-board-figure"}, board, help),
      h("div", {class: "eqx-probs"}, position, status, modelPanels, more))
    : h("div", {class: "eqx-main"},
      h("div", {class: "eqx-board-figure"},
        h("div", {class: "eqx-toolbar", role: "group", "aria-label": "Input mode"}, modeButtons, clearButton),
        board, help,
        h("label", {class: "eqx-control", for: `${id}-glyph`}, "Glyph ", glyphSelect)),
      h("div", {class: "eqx-probs"},
        h("div", {class: "eqx-controls"},
          h("label", {class: "eqx-control", for: `${id}-n`}, "Training examples ", nSelect),
          h("label", {class: "eqx-control", for: `${id}-seed`}, "Seed ", seedSelect),
          readouts.length > 1 ? h("label", {class: "eqx-control", for: `${id}-readout`}, "Readout ", readoutSelect) : null,
          link),
        position, status,
        h("p", {class: "eqx-note"},
          "Live: your browser runs the trained models (their real weights, downloaded once) on the ",
          "canvas at every change. ", readouts.length > 1 ? "Readout: the conv and locally connected nets " +
          "either take the maximum of each feature over all positions (pooled) or give every position's " +
          "features their own weights (flatten); the dense net has no such choice. " : "",
          A ? "Beside each: its accuracy with the glyph's top-left corner at each " +
          "position (the amnesia experiment, mean over its seeds; for a flatten readout, this one model on " +
          "the noise-free glyphs); the ring marks where your glyph is." : ""),
        modelPanels));
    const mechanismPanel = h("div", {class: "eqx-mechanism"},
      h("p", {class: "eqx-weights__title"}, h("strong", {text: "What moves inside. "}),
        "The conv net's feature map (strongest channel at each pixel) moves with the glyph: one set of ",
        "weights patrols every position. The locally connected net's map and the dense net's hidden units ",
        "(one square per unit) change in other ways: each position has its own weights."),
      h("div", {class: "eqx-features"}, mechanism.map((m) => m.figure)));

    // The weights experiment's panel (optional), linked to the N selector where its sizes match.
    let weights = null, drawWeights = () => {}, setWeightsN = () => {};
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
      const fp = Array.isArray(W.footprint) && W.footprint.length === 4
        ? {top: W.footprint[0], left: W.footprint[1], height: W.footprint[2], width: W.footprint[3]}
        : W.canvas === C
          ? {top: region.top, left: region.left, height: region.height + P - 1, width: region.width + P - 1}
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
      setWeightsN = (n) => {
        const i = wns.indexOf(String(n));
        if (i >= 0 && i !== state.wi) { state.wi = i; slider.value = String(i); drawWeights(); }
      };
      setWeightsN(state.n);

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

    root.replaceChildren(...(compact ? [main] : [main, mechanismPanel, weights].filter(Boolean)));
    root.classList.add("eqx-live");
    let colors = null;                           // the scheme's colours, read again when it changes
    function readColors() {
      colors = palette(root);
      root.style.setProperty("--eqx-mark", colors.mark);   // the bars and buttons use the same colour
    }
    readColors();

    // --- drawing ---

    function paintCells(ctx, scale, values, rows, cols, color, top = 0, left = 0) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const rgb = color(values[r * cols + c]);
          if (!rgb) continue;
          ctx.fillStyle = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
          ctx.fillRect((left + c) * scale, (top + r) * scale, scale, scale);
        }
      }
    }

    function drawBoard(x) {
      const scale = sizeCanvas(board, C, 20);
      const ctx = board.getContext("2d");
      ctx.fillStyle = colors.bg;
      ctx.fillRect(0, 0, board.width, board.height);
      const fw = region.width + P - 1, fh = region.height + P - 1;   // the trained glyphs' footprint
      ctx.save();
      ctx.globalAlpha = 0.14;
      ctx.fillStyle = colors.mark;
      ctx.fillRect(region.left * scale, region.top * scale, fw * scale, fh * scale);
      ctx.restore();
      ctx.strokeStyle = colors.faint;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let i = 1; i < C; i++) {
        ctx.moveTo(i * scale + 0.5, 0); ctx.lineTo(i * scale + 0.5, board.height);
        ctx.moveTo(0, i * scale + 0.5); ctx.lineTo(board.width, i * scale + 0.5);
      }
      ctx.stroke();
      outline(ctx, scale, region.left, region.top, fw, fh, colors.mark);
      // The glyph's pixels, as the models read them (darker = more ink).
      const top = Math.max(1e-9, ...x);
      const fg = rgba(colors.fg);
      for (let i = 0; i < x.length; i++) {
        if (!x[i]) continue;
        ctx.fillStyle = `rgba(${fg[0]}, ${fg[1]}, ${fg[2]}, ${(0.35 + 0.65 * x[i] / top).toFixed(3)})`;
        ctx.fillRect((i % C) * scale + 1, Math.floor(i / C) * scale + 1, scale - 1, scale - 1);
      }
      if (state.mask.h && ink()) {
        ctx.strokeStyle = colors.light;
        ctx.lineWidth = Math.max(1, scale * 0.06);
        ctx.strokeRect(state.col * scale, state.row * scale, state.mask.w * scale, state.mask.h * scale);
      }
      if (state.mode === "draw" && document.activeElement === board) {
        ctx.strokeStyle = colors.mark;
        ctx.lineWidth = Math.max(2, scale * 0.12);
        ctx.strokeRect(state.cursor[1] * scale + 1, state.cursor[0] * scale + 1, scale - 2, scale - 2);
      }
    }

    /** A model without a measured map (a flatten readout): its accuracy on the noise-free glyphs at
     * every position, computed here once per (model, N, seed): 0, 1/4, ... 1 of the glyphs right. */
    const liveMaps = new Map();
    function liveMap(model) {
      const key = `${model}|${state.n}|${state.seed}`;
      if (!liveMaps.has(key)) {
        const net = netFor("equidocs explorer", model, {n: state.n, seed: state.seed}), map = [];
        for (let r = 0; r < side; r++) {
          map.push([]);
          for (let c = 0; c < side; c++) {
            let hits = 0;
            M.glyphs.forEach((glyph, g) => {
              const x = new Float64Array(C * C);
              glyph.forEach((line, i) => line.forEach((v, j) => { x[(r + i) * C + c + j] = v; }));
              const probs = run(net, x).probs;
              if (probs.every((p) => p <= probs[g])) hits++;
            });
            map[r].push(hits / M.glyphs.length);
          }
        }
        liveMaps.set(key, map);
      }
      return liveMaps.get(key);
    }

    function drawAccuracy(kind, colors) {
      if (!A) return;
      const model = modelOf(kind), live = !accMap(model, state.n) && model !== kind;
      const map = live ? liveMap(model) : accMap(model, state.n), card = cards[kind];
      const scale = sizeCanvas(card.acc, side, 6), ctx = card.acc.getContext("2d");
      ctx.fillStyle = colors.bg;
      ctx.fillRect(0, 0, card.acc.width, card.acc.height);
      if (!map) {
        card.accText.textContent = `no accuracy map for N=${state.n}`;
        card.acc.setAttribute("aria-label", card.accText.textContent);
        return;
      }
      paintCells(ctx, scale, map.flat(), side, side, (v) => sequential(v));
      const onMap = state.row < side && state.col < side && state.mask.h === P && state.mask.w === P;
      if (onMap) {
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = Math.max(2, scale * 0.25);
        ctx.strokeRect(state.col * scale + 1, state.row * scale + 1, scale - 2, scale - 2);
        ctx.strokeStyle = "#000000";
        ctx.lineWidth = 1;
        ctx.strokeRect(state.col * scale + 0.5, state.row * scale + 0.5, scale - 1, scale - 1);
      }
      const here = onMap ? `${Math.round(100 * map[state.row][state.col])}% here` : "";
      card.accText.textContent = live
        ? `this model on the ${M.glyphs.length} noise-free glyphs at each position${here ? ": " + here : ""}`
        : `accuracy by position, N=${state.n}${here ? ": " + here : ""}`;
      card.acc.dataset.source = live ? "live" : "amnesia";
      card.acc.setAttribute("aria-label", `${model.replace("_", " ")} net's ${live ? "accuracy on the noise-free glyphs"
        : "test accuracy"} at every position, N=${state.n}` + (here ? `; ${here}` : ""));
    }

    function drawFeatures(outputs, colors) {
      for (const m of mechanism) {
        const f = outputs[m.kind].features;
        let values, rows, cols, what;
        if (m.kind === "dense") {
          cols = Math.ceil(Math.sqrt(f.data.length)); rows = Math.ceil(f.data.length / cols);
          values = Array.from({length: rows * cols}, (_, i) => (i < f.data.length ? f.data[i] : NaN));
          what = `${f.data.length} hidden units`;
        } else {
          rows = f.h; cols = f.w;
          values = new Float64Array(rows * cols);
          for (let t = 0; t < rows * cols; t++) {
            let best = 0;
            for (let ch = 0; ch < f.c; ch++) best = Math.max(best, f.data[ch * rows * cols + t]);
            values[t] = best;
          }
          what = `feature map (max of ${f.c} channels)`;
        }
        const top = Math.max(1e-9, ...Array.from(values).filter((v) => !Number.isNaN(v)));
        const active = Array.from(values).filter((v) => v > 0).length;
        const scale = sizeCanvas(m.canvas, Math.max(rows, cols), 96 / Math.max(rows, cols));
        const ctx = m.canvas.getContext("2d");
        ctx.fillStyle = colors.bg;
        ctx.fillRect(0, 0, m.canvas.width, m.canvas.height);
        paintCells(ctx, scale, values, rows, cols, (v) => (Number.isNaN(v) ? null : sequential(v / top)));
        if (m.kind !== "dense") outline(ctx, scale, state.col, state.row, state.mask.w, state.mask.h, "#ffffff");
        m.caption.textContent = `${m.kind}: ${what}; max ${top.toFixed(2)}`;
        m.canvas.setAttribute("aria-label", `${m.kind} net: ${what}, ${active} of ${values.length} active`);
        m.canvas.dataset.active = String(active);
      }
    }

    // --- update: run the three models, then redraw ---

    let last = null;
    function compute() {
      const x = input(), outputs = {};
      for (const kind of panelKinds) outputs[kind] = api.forward(modelOf(kind), x, {n: state.n, seed: state.seed});
      return {x, outputs};
    }

    function update() {
      const {x, outputs} = last = compute();
      const where = !ink() ? "nothing on the canvas"
        : state.mask.h === P && state.mask.w === P && state.row < side && state.col < side
          ? (inside(state.row, state.col) ? "inside the trained area" : "outside the trained area")
          : "a drawn glyph";
      const truth = state.glyph === "drawn" ? null : state.glyph;
      const summary = [];
      for (const kind of panelKinds) {
        const probs = outputs[kind].probs, model = modelOf(kind);
        let best = 0;
        probs.forEach((p, k) => { if (p > probs[best]) best = k; });
        cards[kind].rows.forEach(({fill, value, row}, k) => {
          fill.style.width = `${(100 * clamp(probs[k], 0, 1)).toFixed(2)}%`;
          value.textContent = fmt(probs[k]);
          value.dataset.kind = model;
          row.classList.toggle("eqx-prob-row--top", k === best);
          row.classList.toggle("eqx-prob-row--true", k === truth);
        });
        const verdict = cards[kind].verdict;
        verdict.textContent = truth === null ? `says ${classes[best]}`
          : best === truth ? `\u2713 says ${classes[best]}` : `\u2717 says ${classes[best]}`;
        verdict.className = "eqx-verdict" + (truth === null ? "" : best === truth ? " eqx-verdict--right" : " eqx-verdict--wrong");
        cards[kind].readout.textContent = model !== kind ? ", flatten readout" : "";
        summary.push(`${model.replace("_", " ")}: ${classes[best]} ${fmt(probs[best])}`);
        drawAccuracy(kind, colors);
      }
      const glyphName = truth === null ? "your drawing" : classes[truth];
      position.textContent = `${glyphName} at row ${state.row}, column ${state.col} \u00b7 ${where}`;
      status.textContent = `${glyphName} at row ${state.row}, column ${state.col} (top-left pixel), ${where}; ` +
        `models trained on ${state.n} examples, seed ${state.seed}. ${summary.join("; ")}.`;
      help.textContent = compact
        ? `Both nets learned from ${Number(state.n).toLocaleString("en")} examples, all in the shaded corner. ` +
          "Drag the stop sign out of it (or use the arrow keys)."
        : state.mode === "move"
        ? "Drag the glyph, or focus the canvas and use the arrow keys (Shift: 4 pixels; Home, End: corners)."
        : "Click or drag on the grid to draw or erase pixels; with the keyboard, arrows move the cursor and Space toggles a pixel.";
      Object.assign(root.dataset, {row: String(state.row), col: String(state.col), n: state.n, seed: state.seed,
        readout: state.readout,
        glyph: String(state.glyph), mode: state.mode, inside: String(inside(state.row, state.col))});
      glyphSelect.value = String(state.glyph);
      nSelect.value = state.n;
      seedSelect.value = state.seed;
      readoutSelect.value = state.readout;
      modeButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === state.mode)));
      drawBoard(x);
      drawFeatures(outputs, colors);
      scheduleURL();
    }

    function query() {
      const q = new URLSearchParams(window.location.search);
      q.set(PARAMS.glyph, state.glyph === "drawn" ? encodeMask(state.mask) : String(state.glyph));
      q.set(PARAMS.row, String(state.row));
      q.set(PARAMS.col, String(state.col));
      q.set(PARAMS.n, state.n);
      q.set(PARAMS.seed, state.seed);
      q.set(PARAMS.readout, state.readout);
      return `?${q.toString()}${window.location.hash}`;
    }
    let urlTimer = null, interacted = false;    // the address changes only once the reader acts
    function scheduleURL() {                    // at most a few history writes per second
      link.href = query();
      if (more) more.href = `${root.dataset.more}${query().split("#")[0]}`;   // the full explorer, this view
      if (!owner || !interacted || urlTimer) return;
      urlTimer = setTimeout(() => {
        urlTimer = null;
        if (root.isConnected) history.replaceState(history.state, "", query());
      }, 250);
    }

    // --- input ---

    function moveTo(row, col) {
      row = clamp(row, 0, C - state.mask.h);
      col = clamp(col, 0, C - state.mask.w);
      if (row === state.row && col === state.col) return;
      state.row = row; state.col = col;
      update();
    }

    /** The canvas as a full C x C mask, for drawing. */
    function canvasMask() {
      const full = new Uint8Array(C * C), {h: mh, w: mw, cells} = state.mask;
      for (let r = 0; r < mh; r++) for (let c = 0; c < mw; c++) if (cells[r * mw + c]) full[(state.row + r) * C + state.col + c] = 1;
      return full;
    }

    /** Crop a full mask to its bounding box: the drawn glyph, at its top-left corner. */
    function setDrawn(full) {
      let r0 = C, r1 = -1, c0 = C, c1 = -1;
      full.forEach((v, i) => {
        if (!v) return;
        const r = Math.floor(i / C), c = i % C;
        r0 = Math.min(r0, r); r1 = Math.max(r1, r); c0 = Math.min(c0, c); c1 = Math.max(c1, c);
      });
      state.glyph = "drawn";
      if (r1 < 0) { state.mask = {h: 1, w: 1, cells: new Uint8Array(1)}; return; }
      const mh = r1 - r0 + 1, mw = c1 - c0 + 1, cells = new Uint8Array(mh * mw);
      for (let r = 0; r < mh; r++) for (let c = 0; c < mw; c++) cells[r * mw + c] = full[(r0 + r) * C + c0 + c];
      state.mask = {h: mh, w: mw, cells};
      state.row = r0; state.col = c0;
    }

    function setPixel(r, c, value) {
      const full = canvasMask();
      if (full[r * C + c] === value) return;
      full[r * C + c] = value;
      setDrawn(full);
      update();
    }

    function cellOf(event) {
      const rect = board.getBoundingClientRect();
      return [clamp(Math.floor((event.clientY - rect.top) / rect.height * C), 0, C - 1),
              clamp(Math.floor((event.clientX - rect.left) / rect.width * C), 0, C - 1)];
    }

    let dragging = null, paint = 1;
    function pointerAt(event, first) {
      const [r, c] = cellOf(event);
      if (state.mode === "draw") {
        if (first) paint = canvasMask()[r * C + c] ? 0 : 1;   // a stroke that starts on ink erases
        state.cursor = [r, c];
        setPixel(r, c, paint);
      } else {
        moveTo(r - Math.floor(state.mask.h / 2), c - Math.floor(state.mask.w / 2));
      }
    }
    board.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      interacted = true;
      dragging = event.pointerId;
      board.setPointerCapture(event.pointerId);
      board.focus({preventScroll: true});
      pointerAt(event, true);
      event.preventDefault();
    });
    board.addEventListener("pointermove", (event) => { if (event.pointerId === dragging) pointerAt(event, false); });
    const stop = (event) => { if (event.pointerId === dragging) dragging = null; };
    board.addEventListener("pointerup", stop);
    board.addEventListener("pointercancel", stop);
    board.addEventListener("focus", () => drawBoard(last ? last.x : input()));
    board.addEventListener("blur", () => drawBoard(last ? last.x : input()));
    board.addEventListener("keydown", (event) => {
      interacted = true;
      const step = event.shiftKey ? 4 : 1;
      const moves = {ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step]};
      if (state.mode === "draw") {
        if (moves[event.key]) {
          state.cursor = [clamp(state.cursor[0] + moves[event.key][0], 0, C - 1), clamp(state.cursor[1] + moves[event.key][1], 0, C - 1)];
          drawBoard(last.x);
        } else if (event.key === " " || event.key === "Enter") {
          const [r, c] = state.cursor;
          setPixel(r, c, canvasMask()[r * C + c] ? 0 : 1);
        } else return;
      } else if (moves[event.key]) moveTo(state.row + moves[event.key][0], state.col + moves[event.key][1]);
      else if (event.key === "Home") moveTo(0, 0);
      else if (event.key === "End") moveTo(C, C);
      else return;
      event.preventDefault();
    });
    modeButtons.forEach((b) => b.addEventListener("click", () => {
      interacted = true;
      state.mode = b.dataset.mode;
      if (state.mode === "draw") state.cursor = [state.row, state.col];
      update();
    }));
    clearButton.addEventListener("click", () => {
      interacted = true;
      state.mode = "draw";
      state.cursor = [Math.floor(C / 2), Math.floor(C / 2)];
      setDrawn(new Uint8Array(C * C));
      update();
    });
    glyphSelect.addEventListener("change", () => {
      interacted = true;
      if (glyphSelect.value === "drawn") {
        setDrawn(canvasMask());
        state.mode = "draw";
      } else {
        const centre = [state.row + state.mask.h / 2, state.col + state.mask.w / 2];
        state.glyph = Number(glyphSelect.value);
        state.mask = glyphMask(state.glyph);
        state.row = Math.round(centre[0] - P / 2); state.col = Math.round(centre[1] - P / 2);
        clampPosition();
      }
      update();
    });
    nSelect.addEventListener("change", () => { interacted = true; state.n = nSelect.value; setWeightsN(state.n); update(); });
    seedSelect.addEventListener("change", () => { interacted = true; state.seed = seedSelect.value; update(); });
    readoutSelect.addEventListener("change", () => { interacted = true; state.readout = readoutSelect.value; update(); });

    const controller = {
      root, owner, compact,
      input: () => Array.from(input()),
      /** {exported kind: probabilities} of the nets shown, e.g. {conv_flatten: [...], dense: [...]}. */
      probs: () => Object.fromEntries(panelKinds.map((k) => [modelOf(k), last.outputs[k].probs])),
      /** {exported kind: the accuracy map drawn beside it (amnesia's, or computed live), or null}. */
      maps: () => Object.fromEntries(panelKinds.map((k) => {
        const model = modelOf(k), measured = A ? accMap(model, state.n) : null;
        return [model, measured || (A && model !== k ? liveMap(model) : null)];
      })),
      state: () => ({...state, mask: {h: state.mask.h, w: state.mask.w, cells: Array.from(state.mask.cells)}}),
      /** Milliseconds per call, mean over `repeat` calls: the three models alone, and a whole update. */
      time: (repeat = 50) => {
        const t0 = performance.now();
        for (let i = 0; i < repeat; i++) compute();
        const t1 = performance.now();
        for (let i = 0; i < repeat; i++) update();
        const t2 = performance.now();
        return {models_ms: (t1 - t0) / repeat, update_ms: (t2 - t1) / repeat};
      },
    };
    api.explorers.push(controller);
    const redraw = () => { readColors(); update(); drawWeights(); };
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
    const optional = (attr) => (attr ? fetchJSON(url(attr)).catch((error) => { console.warn(error); return null; }) : Promise.resolve(null));
    if (!root.dataset.models) return failed(root, new Error("the div has no data-models attribute"));
    Promise.all([requireBank(url(root.dataset.models)), optional(root.dataset.results), optional(root.dataset.weights)])
      .then(([m, a, w]) => { if (root.isConnected) mount(root, a, w, m); })
      .catch((error) => failed(root, error));
  }

  function setup() {
    for (const item of mounted) if (!item.root.isConnected) mounted.delete(item);
    api.explorers = api.explorers.filter((e) => e.root.isConnected);
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
