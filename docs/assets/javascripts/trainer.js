/* equidocs: "Train it yourself": a conv net and a dense net trained side by side in the page
 * (plain JavaScript: no library, no CDN, no build step).
 *
 * The task is the site's (equidocs.data.pattern_canvas, as in the amnesia experiment): one of four
 * 5x5 glyphs at a random position of a 12x12 canvas, plus Gaussian pixel noise. The reader picks a
 * training-set size and where the training glyphs sit (a quadrant of the top-left positions, as
 * equidocs.data.region names them, or anywhere), presses Train, and both nets train on the same
 * examples in the same order:
 *   conv:  Conv2d(1 -> 8, 5x5, no padding) -> ReLU -> max over the 8x8 positions -> Linear(8 -> 4)
 *   dense: Linear(144 -> 256) -> ReLU -> Linear(256 -> 4)
 * with mean cross-entropy, manual gradients and Adam (torch's defaults) on Float32Arrays. Held-out
 * accuracy is measured with the glyph inside the training area and outside it.
 *
 * The core below has no DOM: in Node, require() returns it (tests/test_trainer_js.py checks its
 * loss, gradients and Adam step against torch). In the page, every
 * `<div class="equidocs-trainer">` gets the panel; on pages without one the script does nothing.
 * Training runs on the main thread in slices of a few milliseconds, so the page stays responsive.
 * Test hook: window.equidocs.trainer = {core, train(options), forwardBackward(...), panels}, where
 * panels[i] = {root, run(options), result(), state()}; the panel's root carries data-state (idle,
 * training, done, stopped, error) and, when done, data-result (the scores as JSON).
 */
(function () {
  "use strict";

  // --- the task: equidocs.data.glyphs(4, 5) on amnesia's canvas (tests/test_trainer_js.py) ------

  const TASK = {
    canvas: 12,           // side of the canvas (amnesia's task)
    pattern: 5,           // side of a glyph
    noise: 0.1,           // std of the Gaussian pixel noise
    classes: ["stop sign", "cross", "square", "triangle"],   // equidocs.experiments.explorer_models
    masks: ["01110 11111 11111 11111 01110",   // octagon ("stop sign")
            "00100 00100 11111 00100 00100",   // cross
            "11111 10001 10001 10001 11111",   // square
            "00100 00100 01110 01110 11111"],  // triangle
  };
  const REGIONS = ["top-left", "top-right", "bottom-left", "bottom-right", "anywhere"];
  const DEFAULTS = {
    n: 64,                // training examples
    where: "top-left",    // a name of REGIONS
    seed: 0,
    steps: 300,           // Adam steps, the same for both nets
    batch: 32,            // examples per step (all of them when n is smaller)
    lr: {conv: 0.03, dense: 0.03},   // Adam's learning rate, per net
    width: 8,             // conv filters
    kernel: 5,            // conv filter side
    hidden: 256,          // dense hidden units
    nTest: 256,           // held-out examples inside the area and outside it
    points: 20,           // points of the learning curves, denser early (steps * (i / points)^2)
    sliceMs: 16,          // work between two pauses for the page (plus one step or one evaluation)
  };

  /** Glyphs as Float32Arrays (P*P, row-major), each scaled to an ink (pixel sum) of P. */
  function glyphBank(task) {
    return task.masks.map((mask) => {
      const bits = mask.replace(/\s+/g, "").split("").map(Number);
      const ink = bits.reduce((a, b) => a + b, 0);
      return Float32Array.from(bits, (b) => b * (task.pattern / ink));
    });
  }

  // --- seeded randomness ------------------------------------------------------------------------

  /** mulberry32: a 32-bit seeded PRNG, uniform in [0, 1). */
  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** An independent stream for one purpose (data, init, batches) of a seed. */
  function stream(seed, purpose) {
    return mulberry32(Math.imul((seed >>> 0) ^ 0x9E3779B9, 2654435761) + Math.imul(purpose, 40503));
  }

  /** Standard normal draws from a uniform stream (Box-Muller, both halves used). */
  function normals(rand) {
    let spare = null;
    return function () {
      if (spare !== null) { const z = spare; spare = null; return z; }
      const r = Math.sqrt(-2 * Math.log(1 - rand())), t = 2 * Math.PI * rand();
      spare = r * Math.sin(t);
      return r * Math.cos(t);
    };
  }

  function shuffle(a, rand) {   // Fisher-Yates, in place
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1)), t = a[i];
      a[i] = a[j]; a[j] = t;
    }
    return a;
  }

  // --- placements and data sets -----------------------------------------------------------------

  /** equidocs.data.region: the allowed top-left positions {top, left, height, width} of a name. */
  function region(name, canvas, pattern) {
    const side = canvas - pattern + 1, q = Math.floor(side / 2);
    if (name === "anywhere") return {top: 0, left: 0, height: side, width: side};
    const [v, hpos] = name.split("-");
    if (!REGIONS.includes(name)) throw new Error(`region name=${JSON.stringify(name)}: expected one of ${REGIONS.join(", ")}`);
    return {top: v === "top" ? 0 : side - q, left: hpos === "left" ? 0 : side - q, height: q, width: q};
  }

  /** Top-left positions [r0, c0, r1, c1, ...] inside a region (or outside it, with outside=true). */
  function positions(reg, canvas, pattern, outside) {
    const side = canvas - pattern + 1, out = [];
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const inside = r >= reg.top && r < reg.top + reg.height && c >= reg.left && c < reg.left + reg.width;
        if (inside !== Boolean(outside)) out.push(r, c);
      }
    }
    return Int32Array.from(out);
  }

  /** n canvases (classes balanced, then shuffled), each glyph at a position drawn from `where`
   * plus N(0, noise^2) on every pixel: {x (n*C*C), y, pos (2n), n}. */
  function makeSet(task, n, where, rand) {
    const C = task.canvas, P = task.pattern, D = C * C, K = task.masks.length, bank = glyphBank(task);
    const x = new Float32Array(n * D), y = new Int32Array(n), pos = new Int32Array(2 * n);
    const gauss = normals(rand), count = where.length / 2;
    for (let i = 0; i < n; i++) y[i] = i % K;
    shuffle(y, rand);
    for (let i = 0; i < n; i++) {
      const p = Math.floor(rand() * count), r = where[2 * p], c = where[2 * p + 1];
      pos[2 * i] = r; pos[2 * i + 1] = c;
      const base = i * D, g = bank[y[i]];
      for (let t = 0; t < D; t++) x[base + t] = task.noise * gauss();
      for (let u = 0; u < P; u++) {
        for (let v = 0; v < P; v++) x[base + (r + u) * C + c + v] += g[u * P + v];
      }
    }
    return {x, y, pos, n};
  }

  // --- the nets ------------------------------------------------------------------------------------

  function param(name, shape, fanIn, rand) {   // torch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    const size = shape.reduce((a, b) => a * b, 1), bound = 1 / Math.sqrt(fanIn);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = (2 * rand() - 1) * bound;
    return {name, shape, data};
  }

  /** The conv net: torch Conv2d(1, width, kernel) (padding 0) -> ReLU -> amax over positions ->
   * Linear(width, classes). params: conv.weight (width, 1, k, k), conv.bias, fc.weight, fc.bias. */
  function convNet(task, o, rand) {
    const k = o.kernel, W = o.width, K = task.masks.length;
    return {
      kind: "conv", C: task.canvas, k, W, K, S: task.canvas - k + 1,
      params: [param("conv.weight", [W, 1, k, k], k * k, rand), param("conv.bias", [W], k * k, rand),
               param("fc.weight", [K, W], W, rand), param("fc.bias", [K], W, rand)],
      f: new Float64Array(W), at: new Int32Array(W), logits: new Float64Array(K), df: new Float64Array(W),
    };
  }

  /** The dense net: Linear(C*C, hidden) -> ReLU -> Linear(hidden, classes).
   * params: fc1.weight (hidden, C*C), fc1.bias, fc2.weight (classes, hidden), fc2.bias. */
  function denseNet(task, o, rand) {
    const D = task.canvas * task.canvas, H = o.hidden, K = task.masks.length;
    return {
      kind: "dense", D, H, K,
      params: [param("fc1.weight", [H, D], D, rand), param("fc1.bias", [H], D, rand),
               param("fc2.weight", [K, H], H, rand), param("fc2.bias", [K], H, rand)],
      h: new Float64Array(H), logits: new Float64Array(K), dh: new Float64Array(H),
    };
  }

  /** Logits of example `base` (offset into x) in net.logits; keeps what backward needs. */
  function forward(net, x, base) {
    const p = net.params, K = net.K, logits = net.logits;
    if (net.kind === "conv") {
      const w = p[0].data, b = p[1].data, fw = p[2].data, fb = p[3].data;
      const {C, k, W, S, f, at} = net, kk = k * k;
      for (let o = 0; o < W; o++) {
        const wo = o * kk;
        let best = -Infinity, arg = 0;
        for (let i = 0; i < S; i++) {
          for (let j = 0; j < S; j++) {
            const corner = base + i * C + j;
            let s = 0;
            for (let u = 0; u < k; u++) {
              const xr = corner + u * C, wr = wo + u * k;
              for (let v = 0; v < k; v++) s += w[wr + v] * x[xr + v];
            }
            if (s > best) { best = s; arg = corner - base; }
          }
        }
        best += b[o];                    // max over positions of (s + b) = max(s) + b
        f[o] = best > 0 ? best : 0;      // ReLU then max = max then ReLU
        at[o] = arg;
      }
      for (let c = 0; c < K; c++) {
        let s = fb[c];
        for (let o = 0; o < W; o++) s += fw[c * W + o] * f[o];
        logits[c] = s;
      }
    } else {
      const w1 = p[0].data, b1 = p[1].data, w2 = p[2].data, b2 = p[3].data, {D, H, h} = net;
      for (let j = 0; j < H; j++) {
        const row = j * D;
        let s = b1[j];
        for (let i = 0; i < D; i++) s += w1[row + i] * x[base + i];
        h[j] = s > 0 ? s : 0;
      }
      for (let c = 0; c < K; c++) {
        const row = c * H;
        let s = b2[c];
        for (let j = 0; j < H; j++) s += w2[row + j] * h[j];
        logits[c] = s;
      }
    }
    return logits;
  }

  /** Softmax of logits in place (they become probabilities); returns their log-sum-exp. */
  function softmax(logits, K) {
    let top = -Infinity;
    for (let c = 0; c < K; c++) if (logits[c] > top) top = logits[c];
    let total = 0;
    for (let c = 0; c < K; c++) total += Math.exp(logits[c] - top);
    const lse = top + Math.log(total);
    for (let c = 0; c < K; c++) logits[c] = Math.exp(logits[c] - lse);
    return lse;
  }

  /** Gradients of one example into grads, given dlogits (in net.logits). */
  function backward(net, x, base, grads) {
    const p = net.params, K = net.K, dl = net.logits;
    if (net.kind === "conv") {
      const fw = p[2].data, {C, k, W, f, at, df} = net;
      const gw = grads[0], gb = grads[1], gfw = grads[2], gfb = grads[3];
      for (let o = 0; o < W; o++) df[o] = 0;
      for (let c = 0; c < K; c++) {
        const d = dl[c];
        gfb[c] += d;
        for (let o = 0; o < W; o++) { gfw[c * W + o] += d * f[o]; df[o] += fw[c * W + o] * d; }
      }
      for (let o = 0; o < W; o++) {
        if (!(f[o] > 0)) continue;       // ReLU: no gradient where the max was <= 0
        const d = df[o], corner = base + at[o], wo = o * k * k;
        gb[o] += d;
        for (let u = 0; u < k; u++) {
          for (let v = 0; v < k; v++) gw[wo + u * k + v] += d * x[corner + u * C + v];
        }
      }
    } else {
      const w2 = p[2].data, {D, H, h, dh} = net;
      const g1 = grads[0], gb1 = grads[1], g2 = grads[2], gb2 = grads[3];
      for (let j = 0; j < H; j++) dh[j] = 0;
      for (let c = 0; c < K; c++) {
        const d = dl[c], row = c * H;
        gb2[c] += d;
        for (let j = 0; j < H; j++) { g2[row + j] += d * h[j]; dh[j] += w2[row + j] * d; }
      }
      for (let j = 0; j < H; j++) {
        if (!(h[j] > 0)) continue;
        const d = dh[j], row = j * D;
        gb1[j] += d;
        for (let i = 0; i < D; i++) g1[row + i] += d * x[base + i];
      }
    }
  }

  /** Mean cross-entropy over the examples `idx[0..count)` of (x, y), and its gradient into `grads`
   * (one Float32Array per parameter, overwritten). Without idx: every example of y. */
  function forwardBackward(net, x, y, grads, idx, count) {
    const D = net.kind === "conv" ? net.C * net.C : net.D, K = net.K;
    if (count === undefined) count = idx ? idx.length : y.length;
    for (const g of grads) g.fill(0);
    const scale = 1 / count;
    let loss = 0;
    for (let e = 0; e < count; e++) {
      const i = idx ? idx[e] : e, base = i * D;
      const logits = forward(net, x, base), label = y[i], z = logits[label];
      loss += softmax(logits, K) - z;   // -log p(label) = log-sum-exp - z(label)
      for (let c = 0; c < K; c++) logits[c] = (logits[c] - (c === label ? 1 : 0)) * scale;
      backward(net, x, base, grads);
    }
    return loss * scale;
  }

  /** Predicted classes of the n examples of x. */
  function predict(net, x, n) {
    const D = net.kind === "conv" ? net.C * net.C : net.D, out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const logits = forward(net, x, i * D);
      let best = 0;
      for (let c = 1; c < net.K; c++) if (logits[c] > logits[best]) best = c;
      out[i] = best;
    }
    return out;
  }

  function accuracy(net, set) {
    if (!set || !set.n) return null;
    const guess = predict(net, set.x, set.n);
    let right = 0;
    for (let i = 0; i < set.n; i++) right += guess[i] === set.y[i] ? 1 : 0;
    return right / set.n;
  }

  /** Adam with torch.optim.Adam's defaults (betas 0.9, 0.999, eps 1e-8, no weight decay). */
  function adam(params, lr) {
    return {lr, t: 0, b1: 0.9, b2: 0.999, eps: 1e-8,
            m: params.map((q) => new Float64Array(q.data.length)), v: params.map((q) => new Float64Array(q.data.length))};
  }

  function adamStep(params, grads, s) {
    s.t += 1;
    const {b1, b2, eps} = s, step = s.lr / (1 - Math.pow(b1, s.t)), c2 = Math.sqrt(1 - Math.pow(b2, s.t));
    for (let q = 0; q < params.length; q++) {
      const p = params[q].data, g = grads[q], m = s.m[q], v = s.v[q];
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        m[i] += (gi - m[i]) * (1 - b1);
        v[i] = v[i] * b2 + (1 - b2) * gi * gi;
        p[i] -= step * m[i] / (Math.sqrt(v[i]) / c2 + eps);
      }
    }
  }

  const countParams = (net) => net.params.reduce((a, q) => a + q.data.length, 0);
  const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

  /** A pause that lets the page render and handle input between slices of work: a message to
   * itself in the browser (no 4 ms clamp, as setTimeout has), a timer in Node. */
  const pause = (() => {
    if (typeof window === "undefined" || typeof MessageChannel === "undefined") {
      return () => new Promise((resolve) => setTimeout(resolve, 0));
    }
    const channel = new MessageChannel(), waiting = [];
    channel.port1.onmessage = () => waiting.shift()();
    return () => new Promise((resolve) => { waiting.push(resolve); channel.port2.postMessage(null); });
  })();

  /** Train both nets on the same examples, in the same order: a Promise of
   * {options, regions, nets: {conv, dense: {params, curve: {step, loss, inside, outside},
   *  train_acc, inside, outside, ms}}, wall_ms}. onProgress(snapshot) is called after each slice;
   * options.cancelled() -> true stops at the next slice (the Promise rejects with "cancelled"). */
  async function train(options, onProgress) {
    const o = Object.assign({}, DEFAULTS, options || {});
    o.lr = Object.assign({}, DEFAULTS.lr, (options || {}).lr);
    const task = TASK, C = task.canvas, P = task.pattern;
    if (!REGIONS.includes(o.where)) throw new Error(`where=${JSON.stringify(o.where)}: expected one of ${REGIONS.join(", ")}`);
    if (!(Number.isInteger(o.n) && o.n >= 1)) throw new Error(`n=${o.n}: expected an integer >= 1`);
    const reg = region(o.where, C, P), inPos = positions(reg, C, P, false), outPos = positions(reg, C, P, true);
    const start = now();
    const trainSet = makeSet(task, o.n, inPos, stream(o.seed, 1));
    const inside = makeSet(task, o.nTest, inPos, stream(o.seed, 2));
    const outside = outPos.length ? makeSet(task, o.nTest, outPos, stream(o.seed, 3)) : null;
    const nets = {conv: convNet(task, o, stream(o.seed, 4)), dense: denseNet(task, o, stream(o.seed, 5))};
    const order = stream(o.seed, 6), batch = Math.min(o.batch, o.n);
    const perm = Int32Array.from({length: o.n}, (_, i) => i);
    let cursor = o.n;                                   // reshuffle at the start of every epoch
    const idx = new Int32Array(batch);
    const runs = {};
    for (const kind of Object.keys(nets)) {
      const net = nets[kind];
      runs[kind] = {net, grads: net.params.map((q) => new Float32Array(q.data.length)), opt: adam(net.params, o.lr[kind]),
                    curve: {step: [], loss: [], inside: [], outside: []}, sum: 0, count: 0, ms: 0};
    }
    const checkpoints = new Set(Array.from({length: o.points + 1}, (_, i) => Math.round(o.steps * (i / o.points) ** 2)));
    const snapshot = (step, done) => {
      const out = {step, steps: o.steps, done, wall_ms: now() - start, nets: {}};
      for (const [kind, run] of Object.entries(runs)) {
        const c = run.curve, last = c.step.length - 1;
        out.nets[kind] = {params: countParams(run.net), curve: c, ms: run.ms,
                          inside: c.inside[last], outside: c.outside[last]};
      }
      return out;
    };
    let sliceStart = -Infinity, at = 0;           // the first call pauses: the click returns at once
    const breathe = async () => {                 // between two pieces of work: pause once a slice is used up
      if (now() - sliceStart <= o.sliceMs) return;
      if (onProgress) onProgress(snapshot(at, false));
      await pause();
      if (o.cancelled && o.cancelled()) throw new Error("cancelled");
      sliceStart = now();
    };
    const timed = (run, f) => { const t0 = now(), value = f(); run.ms += now() - t0; return value; };
    const record = async (step) => {              // one point of every net's curves
      for (const run of Object.values(runs)) {
        await breathe();
        const inAcc = timed(run, () => accuracy(run.net, inside));
        await breathe();
        const outAcc = timed(run, () => accuracy(run.net, outside)), c = run.curve;
        c.step.push(step); c.loss.push(run.count ? run.sum / run.count : null);
        c.inside.push(inAcc); c.outside.push(outAcc);
        run.sum = 0; run.count = 0;
      }
    };
    await record(0);
    for (let step = 1; step <= o.steps; step++) {
      await breathe();
      at = step;
      if (cursor + batch > o.n) { shuffle(perm, order); cursor = 0; }
      for (let e = 0; e < batch; e++) idx[e] = perm[cursor + e];
      cursor += batch;
      for (const run of Object.values(runs)) {
        timed(run, () => {
          run.sum += forwardBackward(run.net, trainSet.x, trainSet.y, run.grads, idx, batch);
          run.count += 1;
          adamStep(run.net.params, run.grads, run.opt);
        });
      }
      if (checkpoints.has(step) || step === o.steps) await record(step);
    }
    const fit = {};
    for (const [kind, run] of Object.entries(runs)) {
      await breathe();
      fit[kind] = accuracy(run.net, trainSet);
    }
    const result = snapshot(o.steps, true);
    for (const kind of Object.keys(runs)) result.nets[kind].train_acc = fit[kind];
    result.wall_ms = now() - start;
    result.options = {n: o.n, where: o.where, seed: o.seed, steps: o.steps, batch, lr: o.lr,
                      width: o.width, kernel: o.kernel, hidden: o.hidden, nTest: o.nTest};
    result.regions = {inside: reg, positions_inside: inPos.length / 2, positions_outside: outPos.length / 2};
    if (onProgress) onProgress(result);
    return result;
  }

  const core = {TASK, REGIONS, DEFAULTS, glyphBank, mulberry32, stream, normals, region, positions, makeSet,
                convNet, denseNet, forward, forwardBackward, predict, accuracy, adam, adamStep, countParams, train};

  if (typeof module !== "undefined" && module.exports) module.exports = core;
  if (typeof window === "undefined" || typeof document === "undefined") return;

  // --- the panel (browser only) ------------------------------------------------------------------

  const NETS = {                                 // colours: --eq-conv, --eq-dense (explorer.css, the figures')
    conv: {name: "Conv net", what: `shared ${DEFAULTS.kernel}\u00d7${DEFAULTS.kernel} filters, max over positions`},
    dense: {name: "Dense net", what: `one hidden layer of ${DEFAULTS.hidden} units`},
  };
  const PLACES = {"top-left": "the top-left corner", "top-right": "the top-right corner",
                  "bottom-left": "the bottom-left corner", "bottom-right": "the bottom-right corner",
                  "anywhere": "anywhere"};
  const SIZES = [16, 64, 256, 1024];
  const SVG = "http://www.w3.org/2000/svg";
  const api = window.equidocs = window.equidocs || {};      // shared with explorer.js
  const trainer = api.trainer = {core, train, forwardBackward, panels: []};
  let uid = 0;

  function h(tag, attrs, ...children) {
    const el = /^(svg|g|path|rect|line|text|polyline)$/.test(tag) ? document.createElementNS(SVG, tag)
      : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.setAttribute("class", value);
      else if (key === "text") el.textContent = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child);
    return el;
  }

  const pct = (v) => (v === null || v === undefined ? "\u2013" : `${Math.round(100 * v)}%`);
  const secs = (ms) => `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;

  /** A small canvas as SVG squares: ink is the text colour, so both schemes work unchanged. */
  function drawCanvas(svg, x, base, reg) {
    const C = TASK.canvas, P = TASK.pattern;
    svg.replaceChildren(h("rect", {class: "eqt-area", x: reg.left, y: reg.top,
                                   width: reg.width + P - 1, height: reg.height + P - 1}));
    for (let r = 0; r < C; r++) {
      for (let c = 0; c < C; c++) {
        const v = Math.min(1, Math.max(0, x[base + r * C + c] / 0.6));
        if (v > 0.04) svg.append(h("rect", {class: "eqt-ink", x: c, y: r, width: 1, height: 1, "fill-opacity": v.toFixed(2)}));
      }
    }
  }

  /** The learning-curve chart of one net: held-out accuracy inside (solid) and outside (dashed). */
  function chart(kind) {
    const W = 300, H = 150, L = 34, R = 8, T = 8, B = 28;
    const svg = h("svg", {class: "eqt-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "data-kind": kind});
    const X = (step, steps) => L + (W - L - R) * Math.sqrt(step / steps), Y = (v) => T + (H - T - B) * (1 - v);
    const grid = h("g", {class: "eqt-grid"}), labels = h("g", {class: "eqt-labels"});
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      grid.append(h("line", {x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: v === 0.25 ? "eqt-chance" : null}));
      labels.append(h("text", {x: L - 4, y: Y(v) + 3, "text-anchor": "end", text: `${100 * v}%`}));
    }
    const ticks = h("g", {class: "eqt-labels"});
    const xlabel = h("text", {x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", text: "training steps (square-root scale)"});
    const inside = h("path", {class: "eqt-line eqt-line--inside"}), outside = h("path", {class: "eqt-line eqt-line--outside"});
    svg.append(grid, labels, ticks, xlabel, outside, inside);
    const path = (steps, xs, ys) => xs.map((s, i) => (ys[i] === null ? "" : `${i ? "L" : "M"}${X(s, steps).toFixed(1)},${Y(ys[i]).toFixed(1)}`)).join("");
    return {
      svg,
      draw(curve, steps) {
        const marks = [...new Set([0, Math.round(steps / 30), Math.round(steps / 6), Math.round(steps / 2), steps])];
        ticks.replaceChildren(...marks.map((s) => h("text", {x: X(s, steps), y: H - B + 12, "text-anchor": "middle", text: String(s)})));
        inside.setAttribute("d", curve ? path(steps, curve.step, curve.inside) : "");
        outside.setAttribute("d", curve && curve.outside.some((v) => v !== null) ? path(steps, curve.step, curve.outside) : "");
      },
    };
  }

  function mount(root) {
    const id = `eqt-${++uid}`;
    const sizeSelect = h("select", {id: `${id}-n`}, SIZES.map((n) => h("option", {value: n, text: n.toLocaleString("en")})));
    sizeSelect.value = String(DEFAULTS.n);
    const whereSelect = h("select", {id: `${id}-where`}, REGIONS.map((w) => h("option", {value: w, text: PLACES[w]})));
    whereSelect.value = DEFAULTS.where;
    const seedInput = h("input", {id: `${id}-seed`, type: "number", min: 0, max: 9999, step: 1, value: DEFAULTS.seed, inputmode: "numeric"});
    const button = h("button", {type: "submit", class: "eqt-train md-button md-button--primary", text: "Train both nets"});
    const form = h("form", {class: "eqt-controls", "aria-label": "Training settings"},
      h("label", {class: "eqt-control", for: sizeSelect.id}, "Training examples", sizeSelect),
      h("label", {class: "eqt-control", for: whereSelect.id}, "Glyphs placed in", whereSelect),
      h("label", {class: "eqt-control", for: seedInput.id}, "Seed", seedInput),
      button);
    const samples = Array.from({length: TASK.classes.length}, (_, k) => h("svg", {class: "eqt-sample", viewBox: `0 0 ${TASK.canvas} ${TASK.canvas}`,
                                                                               role: "img", "data-class": k}));
    const examples = h("figure", {class: "eqt-examples"}, h("div", {class: "eqt-samples"}, samples),
      h("figcaption", {text: "Four of your training examples, one of each glyph. The shaded square is the part of the " +
                             "canvas that training glyphs can cover."}));
    const progress = h("progress", {class: "eqt-progress", max: DEFAULTS.steps, value: 0, "aria-label": "Training progress"});
    const clock = h("span", {class: "eqt-clock", text: "Not trained yet."});
    const status = h("p", {class: "eqt-status", role: "status", "aria-live": "polite"});
    const cards = {};
    for (const [kind, net] of Object.entries(NETS)) {
      const plot = chart(kind), scores = {};
      const score = (key, label) => h("div", {class: "eqt-score"}, h("dt", {text: label}),
                                      scores[key] = h("dd", {"data-score": key, text: "\u2013"}));
      const params = h("span", {class: "eqt-params"});
      cards[kind] = {plot, scores, params, card: h("section", {class: "eqt-net", "data-kind": kind, "aria-label": net.name},
        h("p", {class: "eqt-net__title"}, h("span", {class: "eqt-swatch", "aria-hidden": "true"}),
          h("strong", {text: net.name}), ` ${net.what}`, params),
        plot.svg,
        h("dl", {class: "eqt-scores"}, score("inside", "inside"), score("outside", "outside"),
          score("train", "training set"), score("time", "time")))};
      plot.draw(null, DEFAULTS.steps);
    }
    const key = (which, text) => h("span", {class: "eqt-legend-item"},
      h("span", {class: `eqt-key eqt-key--${which}`, "aria-hidden": "true"}), text);
    const legend = h("p", {class: "eqt-legend"}, "Accuracy on new glyphs: ", key("inside", "inside the training area"),
      " ", key("outside", "outside it"), " ", key("chance", "chance (one in four)"));
    root.replaceChildren(form, examples, h("div", {class: "eqt-run"}, progress, clock), status,
                         h("div", {class: "eqt-nets"}, Object.values(cards).map((c) => c.card)), legend);

    let running = null, last = null;
    const options = () => ({n: Number(sizeSelect.value), where: whereSelect.value,
                            seed: Math.max(0, Math.min(9999, Math.floor(Number(seedInput.value) || 0)))});

    function preview() {
      const o = options(), reg = region(o.where, TASK.canvas, TASK.pattern);
      const set = makeSet(TASK, o.n, positions(reg, TASK.canvas, TASK.pattern, false), stream(o.seed, 1));
      samples.forEach((svg, k) => {
        const i = set.y.indexOf(k);
        svg.style.visibility = i < 0 ? "hidden" : "";
        if (i >= 0) drawCanvas(svg, set.x, i * TASK.canvas * TASK.canvas, reg);
        svg.setAttribute("aria-label", `A training ${TASK.classes[k]} (top-left pixel at row ${set.pos[2 * i]}, column ${set.pos[2 * i + 1]}) on the ${TASK.canvas} by ${TASK.canvas} canvas`);
      });
    }

    function show(r, o) {
      progress.max = r.steps;
      progress.value = r.step;
      clock.textContent = r.done ? `Trained in ${secs(r.wall_ms)} (step ${r.step} of ${r.steps}).`
        : `Training\u2026 step ${r.step} of ${r.steps}, ${secs(r.wall_ms)}`;
      for (const [kind, c] of Object.entries(cards)) {
        const net = r.nets[kind], far = o.where === "anywhere";
        c.plot.draw(net.curve, r.steps);
        c.params.textContent = ` \u00b7 ${net.params.toLocaleString("en")} weights`;
        c.scores.inside.textContent = pct(net.inside);
        c.scores.outside.textContent = far ? "no outside" : pct(net.outside);
        c.scores.train.textContent = r.done ? pct(net.train_acc) : "\u2026";
        c.scores.time.textContent = secs(net.ms);
        c.plot.svg.setAttribute("aria-label", `${NETS[kind].name}: held-out accuracy ${pct(net.inside)} inside the training area` +
          (far ? "" : ` and ${pct(net.outside)} outside it`) + ` after ${r.step} of ${r.steps} training steps`);
      }
    }

    function finish(r, o) {
      last = r;
      const say = (kind) => `${NETS[kind].name}: ${pct(r.nets[kind].inside)} inside` +
        (o.where === "anywhere" ? "" : `, ${pct(r.nets[kind].outside)} outside`);
      status.textContent = `Done in ${secs(r.wall_ms)}. ${say("conv")}. ${say("dense")}.`;
      root.dataset.result = JSON.stringify({options: r.options, wall_ms: r.wall_ms,
        nets: Object.fromEntries(Object.entries(r.nets).map(([k, v]) => [k, {inside: v.inside, outside: v.outside,
          train_acc: v.train_acc, ms: v.ms, params: v.params}]))});
      root.dataset.state = "done";
    }

    function setRunning(on) {
      button.textContent = on ? "Stop" : "Train both nets";
      for (const el of [sizeSelect, whereSelect, seedInput]) el.disabled = on;
      root.dataset.state = on ? "training" : last ? "done" : "idle";
    }

    function run(extra) {
      if (running) running.cancel = true;
      const o = Object.assign(options(), extra || {}), token = {cancel: false};
      running = token;
      setRunning(true);
      delete root.dataset.result;
      status.textContent = `Training both nets on ${o.n.toLocaleString("en")} examples placed in ${PLACES[o.where]}, seed ${o.seed}\u2026`;
      const cancelled = () => token.cancel || !root.isConnected;
      return train(Object.assign({}, o, {cancelled}), (r) => show(r, o)).then((r) => {
        if (running === token) { running = null; setRunning(false); finish(r, o); }
        return r;
      }, (error) => {
        if (running !== token) throw error;       // a newer run owns the panel
        running = null;
        setRunning(false);
        const stopped = error.message === "cancelled";
        if (!stopped) console.error(error);
        status.textContent = stopped ? "Stopped." : `Training failed: ${error.message}`;
        clock.textContent = stopped ? "Stopped before the end." : "Training failed.";
        root.dataset.state = stopped ? "stopped" : "error";
        throw error;
      });
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (running) { running.cancel = true; return; }
      run().catch(() => {});
    });
    for (const el of [sizeSelect, whereSelect, seedInput]) el.addEventListener("change", preview);
    preview();
    root.dataset.state = "idle";
    trainer.panels.push({root, run, result: () => last, state: () => root.dataset.state});
  }

  function setup() {
    trainer.panels = trainer.panels.filter((p) => p.root.isConnected);
    document.querySelectorAll(".equidocs-trainer").forEach((root) => {
      if (root.dataset.trainer) return;            // once per element (instant navigation re-runs setup)
      root.dataset.trainer = "mounted";
      try {
        mount(root);
      } catch (error) {
        console.error(error);
        root.append(h("p", {class: "eqt-error", text: `The training panel could not start (${error.message}).`}));
      }
    });
  }

  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(setup);          // every page load, instant navigation included
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
