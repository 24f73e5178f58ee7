/* autobp explorer: step through a graph's forward pass and backward sweep.
   Plain DOM, no framework, no network. Every text from the graph goes in with textContent, never as HTML.
   The data (JSON, written by autobp/explorer.py): names, operands, values, the sweep's rows (node, child,
   operand position, statement, gradient after the step), edge tooltips, explain() texts, overview boxes. */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("autobp-data").textContent);
  const $ = (id) => document.getElementById(id);
  const n = D.names.length, S = D.steps, N = S.node.length, OUT = D.output;
  const overview = D.view === "overview";
  const svg = document.querySelector("#graph svg");
  const graph = $("graph"), slider = $("slider"), panel = $("panel"), tip = $("tip");

  // ---- the diagram's parts: per Value (detail view) or per box (overview) ----
  const valueEl = [], opEl = [], dataEl = [], gradEl = [];     // per Value
  const boxEl = [], boxGrad = [];                                // per overview box
  const byId = new Map(), edgeEl = new Map(), outEdge = [];
  for (const g of svg.querySelectorAll("g.node")) {
    byId.set(g.id, g);
    if (g.classList.contains("box")) {
      boxEl[+g.dataset.b] = g;
      boxGrad[+g.dataset.b] = g.querySelector("text.grad");
    } else if (g.classList.contains("value")) {
      const i = +g.dataset.i;
      valueEl[i] = g;
      dataEl[i] = g.querySelector("text.data");
      gradEl[i] = g.querySelector("text.grad");
    } else if (g.classList.contains("op")) {
      opEl[+g.dataset.i] = g;
    }
  }
  for (const g of svg.querySelectorAll("g.edge")) {
    const from = g.dataset.from || "", to = g.dataset.to || "";
    if (g.dataset.k !== undefined) edgeEl.set(g.dataset.n + ":" + g.dataset.k, g);
    else if (overview) edgeEl.set(from + ">" + to, g);
    else if (/^v\d+_op$/.test(from)) outEdge[+to.slice(1)] = g;
    const path = g.querySelector("path");
    if (path) {                                  // a wide invisible copy, so a thin edge is easy to hover
      const hit = path.cloneNode(false);
      hit.setAttribute("class", "hit");
      g.appendChild(hit);
    }
  }

  // ---- the graph and the sweep ----
  const parents = Array.from({ length: n }, () => []);
  D.operands.forEach((ops, i) => { for (const c of ops) if (c >= 0) parents[c].push(i); });
  const prevRow = new Int32Array(N), cur = new Int32Array(n).fill(-1);    // cur[i]: the last row that reached i
  const lastRow = new Int32Array(n).fill(-1);
  for (let r = 0; r < N; r++) { prevRow[r] = lastRow[S.child[r]]; lastRow[S.child[r]] = r; }
  const boxes = D.boxes, boxOf = D.boxOf;
  const single = boxes.map(() => -1), count = new Int32Array(boxes.length);   // count: reached / computed members
  if (overview) {             // a box of one Value shows that Value's data and grad fields
    for (let i = 0; i < n; i++) if (boxes[boxOf[i]].size === 1) single[boxOf[i]] = i;
    single.forEach((i, b) => {
      if (i < 0) return;
      valueEl[i] = boxEl[b];
      dataEl[i] = boxEl[b].querySelector("text.data");
      gradEl[i] = boxGrad[b];
    });
  }

  let mode = "backward", k = 0;
  const total = () => (mode === "backward" ? N : n);
  const shown = (i) => (mode === "backward" ? cur[i] >= 0 || i === OUT : i < k);   // grad reached / value computed
  function gradText(i) {
    if (mode !== "backward") return "";
    return cur[i] >= 0 ? S.gradText[cur[i]] : i === OUT ? D.seedText : "";
  }
  function gradValue(i) {
    return cur[i] >= 0 ? S.grad[cur[i]] : i === OUT ? 1 : null;
  }
  const fmtCount = (x) => x.toLocaleString("en-US");

  // Graphviz sized each field for its final text; a longer text is squeezed into that width, not spilled.
  const room = new Map();
  for (const t of [...dataEl, ...gradEl, ...boxGrad]) {
    if (t) room.set(t, [t.textContent.length, t.getComputedTextLength()]);
  }
  function setText(t, text) {
    if (!t) return;
    t.textContent = text;
    const [chars, width] = room.get(t) || [Infinity, 0];
    if (text.length > chars) {
      t.setAttribute("textLength", String(width));
      t.setAttribute("lengthAdjust", "spacingAndGlyphs");
    } else {
      t.removeAttribute("textLength");
    }
  }

  function drawValue(i) {
    const t = gradText(i);
    setText(dataEl[i], mode === "backward" || i < k ? "data " + D.dataText[i] : "data");
    setText(gradEl[i], t ? "grad " + t : "grad");
    const el = valueEl[i];
    if (el) { if (mode === "backward" && t) el.dataset.grad = String(gradValue(i)); else delete el.dataset.grad; }
  }
  function drawBox(b) {
    if (single[b] >= 0) { drawValue(single[b]); return; }
    const what = mode === "backward" ? "grad reached: " : "computed: ";
    setText(boxGrad[b], what + fmtCount(count[b]) + " of " + fmtCount(boxes[b].size));
  }
  function redrawAll() {
    if (!overview) { for (let i = 0; i < n; i++) drawValue(i); return; }
    count.fill(0);
    for (let i = 0; i < n; i++) if (shown(i)) count[boxOf[i]]++;
    for (let b = 0; b < boxes.length; b++) drawBox(b);
  }

  // ---- stepping ----
  function goTo(m) {
    m = Math.max(0, Math.min(total(), m | 0));
    const touched = new Set();
    const reach = (c, row) => {             // the gradient of c now comes from `row` (-1: not reached)
      const was = shown(c);
      cur[c] = row;
      if (overview && was !== shown(c)) count[boxOf[c]] += was ? -1 : 1;
      touched.add(c);
    };
    if (mode === "backward") {
      for (; k < m; k++) reach(S.child[k], k);
      for (; k > m; k--) reach(S.child[k - 1], prevRow[k - 1]);
    } else {
      for (; k < m; k++) { if (overview) count[boxOf[k]]++; touched.add(k); }
      for (; k > m; k--) { if (overview) count[boxOf[k - 1]]--; touched.add(k - 1); }
    }
    if (overview) { const bs = new Set(); for (const i of touched) bs.add(boxOf[i]); for (const b of bs) drawBox(b); }
    else for (const i of touched) drawValue(i);
    slider.value = String(k);
    describe();
    highlight();
  }
  function setMode(m) {
    mode = m;
    k = 0;
    cur.fill(-1);
    slider.max = String(total());
    $("mode-forward").classList.toggle("on", m === "forward");
    $("mode-backward").classList.toggle("on", m === "backward");
    redrawAll();
    goTo(0);
  }
  function describe() {
    $("counter").textContent = "step " + k + " of " + total();
    const L = D.names[OUT];
    let where, text;
    if (mode === "backward") {
      if (k === 0) {
        where = "Backward sweep, step 0 of " + N + ": the seed \u2202" + L + "/\u2202" + L + " = 1.";
        text = N ? "Press \u2192 (or Next) to take the first step." : L + " is a leaf: there is nothing to sweep.";
      } else {
        const r = k - 1;
        where = "Backward sweep, step " + k + " of " + N + ": node " + D.names[S.node[r]] +
          " \u2192 child " + D.names[S.child[r]];
        text = S.text[r];
      }
    } else {
      where = "Forward pass, step " + k + " of " + n + ": values appear in creation order.";
      text = k ? D.forward[k - 1] : "Press \u2192 (or Next) to compute the first value.";
    }
    $("where").textContent = where;
    $("statement").textContent = text;
  }

  // ---- highlighting: the current step, and the selected Value's paths ----
  let lit = [];
  const holder = new Map();       // element -> the collapsed cluster that hides it
  function visible(el) {
    while (el && holder.has(el) && el.classList.contains("hidden")) el = holder.get(el);
    return el;
  }
  function light(el, cls, list) {
    el = visible(el);
    if (el && !el.classList.contains(cls)) { el.classList.add(cls); list.push([el, cls]); }
  }
  const unlight = (list) => { for (const [el, cls] of list) el.classList.remove(cls); list.length = 0; };
  function highlight() {
    unlight(lit);
    if (k === 0) {                  // before the first step: the backward sweep starts at the output, centre it
      const start = visible(mode === "backward" ? (overview ? boxEl[boxOf[OUT]] : valueEl[OUT]) : null);
      if (start) start.scrollIntoView({ block: "center", inline: "center" });
      return;
    }
    let focus;
    if (mode === "backward") {
      const r = k - 1, node = S.node[r], child = S.child[r];
      if (overview) {
        light(boxEl[boxOf[node]], "current", lit);
        light(boxEl[boxOf[child]], "child", lit);
        light(edgeEl.get("g" + boxOf[child] + ">g" + boxOf[node]), "current", lit);
        focus = boxEl[boxOf[child]];
      } else {
        light(valueEl[node], "current", lit);
        light(opEl[node], "current", lit);
        light(valueEl[child], "child", lit);
        light(edgeEl.get(node + ":" + S.pos[r]), "current", lit);
        focus = valueEl[child];
      }
    } else {
      const i = k - 1;
      if (overview) light(focus = boxEl[boxOf[i]], "current", lit);
      else {
        light(focus = valueEl[i], "current", lit);
        light(opEl[i], "current", lit);
        light(outEdge[i], "current", lit);
        D.operands[i].forEach((c, pos) => light(edgeEl.get(i + ":" + pos), "current", lit));
      }
    }
    focus = visible(focus);
    if (focus) focus.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  let pathLit = [];
  const HINT = "Click a Value: its paths to the output light up and its explain() text appears here.";
  function clearSelection() {
    unlight(pathLit);
    panel.replaceChildren(el("p", HINT, "hint"));
  }
  function select(i) {
    unlight(pathLit);
    const on = new Uint8Array(n), stack = [i];
    on[i] = 1;
    while (stack.length) for (const p of parents[stack.pop()]) if (!on[p]) { on[p] = 1; stack.push(p); }
    for (let v = 0; v < n; v++) {
      if (!on[v]) continue;
      if (overview) {
        light(boxEl[boxOf[v]], "path", pathLit);
        for (const c of D.operands[v]) {
          if (c >= 0 && on[c]) light(edgeEl.get("g" + boxOf[c] + ">g" + boxOf[v]), "path", pathLit);
        }
        continue;
      }
      light(valueEl[v], "path", pathLit);
      if (v !== i) {                       // the op that made v is on the path, unless v is where it starts
        light(opEl[v], "path", pathLit);
        light(outEdge[v], "path", pathLit);
      }
      D.operands[v].forEach((c, pos) => { if (c >= 0 && on[c]) light(edgeEl.get(v + ":" + pos), "path", pathLit); });
    }
    light(overview ? boxEl[boxOf[i]] : valueEl[i], "selected", pathLit);
    showValue(i);
  }

  // ---- the side panel ----
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function showValue(i) {
    const L = D.names[OUT], name = D.names[i], last = lastRow[i];
    const dl = el("dl");
    const add = (term, value) => { dl.append(el("dt", term), el("dd", value)); };
    const exact = (text, x) => (String(x) === text ? text : text + "   (exactly " + String(x) + ")");
    add("computed as", D.forward[i]);
    add("data", exact(D.dataText[i], D.data[i]));
    add("\u2202" + L + "/\u2202" + name + " so far",
        mode === "backward" && gradText(i) ? exact(gradText(i), gradValue(i)) : "(not reached yet)");
    add("\u2202" + L + "/\u2202" + name + " after the sweep", i === OUT ? "1 (the seed)"
        : last >= 0 ? exact(S.gradText[last], S.grad[last]) : "0: the sweep never reaches it");
    const parts = [el("h2", name), dl, el("h3", "explain(" + L + ", " + name + ")")];
    const text = D.explain[String(i)];
    if (i === OUT) parts.push(el("p", "\u2202" + L + "/\u2202" + L + " = 1: the output itself.", "note"));
    else if (text !== undefined) parts.push(el("pre", text));
    else parts.push(el("p", "Not included in this page. " + (D.explainNote || ""), "note"));
    panel.replaceChildren(...parts);
  }
  function showBox(b) {
    const members = [];
    for (let i = 0; i < n && members.length < 200; i++) if (boxOf[i] === b) members.push(i);
    const list = el("ul");
    for (const i of members) {
      const li = el("li"), button = el("button", D.names[i]);
      button.type = "button";
      button.addEventListener("click", () => select(i));
      const g = gradText(i);
      li.append(button, document.createTextNode("  data " + D.dataText[i] + (g ? "  grad " + g : "")));
      list.append(li);
    }
    const more = boxes[b].size > members.length ? " (the first " + members.length + ")" : "";
    panel.replaceChildren(el("h2", boxes[b].name), el("p", fmtCount(boxes[b].size) + " Values" + more + ":"), list);
  }

  // ---- collapsing clusters (the layout stays; the inside is hidden) ----
  function inside(box, r) {
    const x = r.x + r.width / 2, y = r.y + r.height / 2;
    return x >= box.x && x <= box.x + box.width && y >= box.y && y <= box.y + box.height;
  }
  function toggleCluster(cl) {
    const label = cl.querySelector("text");
    const hide = !cl.classList.contains("collapsed");
    const box = cl.getBBox();
    const members = [];
    for (const g of svg.querySelectorAll("g.node, g.cluster")) {
      if (g !== cl && inside(box, g.getBBox())) members.push(g);
    }
    const set = new Set(members);
    for (const g of svg.querySelectorAll("g.edge")) {
      if (set.has(byId.get(g.dataset.from)) && set.has(byId.get(g.dataset.to))) members.push(g);
    }
    let values = 0;
    for (const g of members) {
      if (g.classList.contains("value")) values += 1;
      else if (g.classList.contains("box")) values += boxes[+g.dataset.b].size;
      if (hide) { if (!holder.has(g)) holder.set(g, cl); g.classList.add("hidden"); }
      else if (holder.get(g) === cl) { holder.delete(g); g.classList.remove("hidden"); }
    }
    cl.classList.toggle("collapsed", hide);
    if (label) {
      if (hide) label.dataset.name = label.textContent;
      label.textContent = hide ? "\u25B8 " + label.dataset.name + " (" + fmtCount(values) + " Values hidden)"
                               : label.dataset.name;
    }
    highlight();
  }

  // ---- tooltips on edges ----
  function edgeTip(g) {
    const from = g.dataset.from || "", to = g.dataset.to || "";
    if (g.dataset.k !== undefined) return (D.tips[+g.dataset.n] || [])[+g.dataset.k];
    if (overview) {
      const a = boxes[+from.slice(1)], b = boxes[+to.slice(1)];
      return a && b ? a.name + " \u2192 " + b.name : null;
    }
    if (/_op_c\d+$/.test(from)) return "a constant: no gradient flows back into it";
    if (/^v\d+_op$/.test(from)) return D.forward[+to.slice(1)];
    return null;
  }
  svg.addEventListener("mouseover", (e) => {
    const g = e.target.closest("g.edge"), text = g && edgeTip(g);
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(e.clientX + 12, window.innerWidth - 320) + "px";
    tip.style.top = e.clientY + 14 + "px";
  });
  svg.addEventListener("mouseleave", () => { tip.hidden = true; });

  // ---- clicks, buttons, keys, zoom ----
  svg.addEventListener("click", (e) => {
    const node = e.target.closest("g.node"), cluster = e.target.closest("g.cluster");
    if (node && node.classList.contains("box")) {
      const b = +node.dataset.b;
      if (single[b] >= 0) select(single[b]);
      else { unlight(pathLit); showBox(b); }
    } else if (node && !node.classList.contains("const")) select(+node.dataset.i);
    else if (cluster) toggleCluster(cluster);
    else if (!node) clearSelection();
  });
  const baseW = svg.width.baseVal.value, baseH = svg.height.baseVal.value;
  let zoom = 1;
  function setZoom(z) {           // about the middle of the view: what is there stays there
    const x = (graph.scrollLeft + graph.clientWidth / 2) / zoom, y = (graph.scrollTop + graph.clientHeight / 2) / zoom;
    zoom = Math.max(0.1, Math.min(4, z));
    svg.setAttribute("width", String(baseW * zoom));
    svg.setAttribute("height", String(baseH * zoom));
    graph.scrollLeft = x * zoom - graph.clientWidth / 2;
    graph.scrollTop = y * zoom - graph.clientHeight / 2;
  }
  const fit = () => Math.min(1.5, (graph.clientWidth - 8) / baseW, (graph.clientHeight - 8) / baseH);
  // the zoom at which a box's text is READABLE_PX CSS pixels high (measured now, at zoom 1; not in a hidden frame)
  const READABLE_PX = 11, label = svg.querySelector("g.node.value text, g.node.box text");
  const ctm = label && label.getScreenCTM();
  const readable = ctm ? READABLE_PX / (parseFloat(getComputedStyle(label).fontSize) * ctm.a) : 1;
  $("zoom-in").addEventListener("click", () => setZoom(zoom * 1.25));
  $("zoom-out").addEventListener("click", () => setZoom(zoom / 1.25));
  $("zoom-fit").addEventListener("click", () => setZoom(fit()));
  $("first").addEventListener("click", () => goTo(0));
  $("prev").addEventListener("click", () => goTo(k - 1));
  $("next").addEventListener("click", () => goTo(k + 1));
  $("last").addEventListener("click", () => goTo(total()));
  $("mode-forward").addEventListener("click", () => setMode("forward"));
  $("mode-backward").addEventListener("click", () => setMode("backward"));
  slider.addEventListener("input", () => goTo(+slider.value));
  const sliderKeys = ["ArrowRight", "ArrowLeft", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"];
  document.addEventListener("keydown", (e) => {
    // the slider moves itself on its own keys; F, B, Esc and zoom work wherever the focus is
    if ((e.target === slider && sliderKeys.includes(e.key)) || e.altKey || e.ctrlKey || e.metaKey) return;
    const keys = {
      ArrowRight: () => goTo(k + 1), ArrowLeft: () => goTo(k - 1), Home: () => goTo(0), End: () => goTo(total()),
      f: () => setMode("forward"), b: () => setMode("backward"), Escape: clearSelection,
      "+": () => setZoom(zoom * 1.25), "=": () => setZoom(zoom * 1.25), "-": () => setZoom(zoom / 1.25),
    };
    const action = keys[e.key.length === 1 ? e.key.toLowerCase() : e.key];
    if (!action) return;
    e.preventDefault();
    action();
  });

  if (D.message) { $("message").textContent = D.message; $("message").hidden = false; }
  setZoom(Math.max(fit(), readable));       // the whole graph if it can be read so, else readable text around
  setMode("backward");                      // the output, where step 0 centres the view
})();
