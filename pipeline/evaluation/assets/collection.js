// trafficlens collection report. Every piece of text from the data is put on the page
// with textContent or as an attribute value, never parsed as markup; handlers are
// attached here, on containers, and read only numeric data-* attributes.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const PAGE = 50;
  // labels are [set, label] pairs; a Map, not an object, so that no name (even
  // "constructor" or "__proto__") can meet a property every object has
  const SET = D.labels.map((x) => x[0]);
  const NAME = D.labels.map((x) => x[1]);
  const L = D.labels.map((x) => x[0] + ":" + x[1]);   // shown to the reader
  const S = D.sents, DOCS = D.docs;
  const nS = S.text.length, nD = DOCS.id.length;
  const STAGES = D.matrix.rows, TECHS = D.matrix.cols;
  const labelIndex = new Map();
  D.labels.forEach(([set, lab], i) => { labelIndex.set(set + "\u0000" + lab, i); });
  const idx = (set, lab) => labelIndex.get(set + "\u0000" + lab);

  // per sentence: label index -> score; per label: its sentences; per document: its sentences
  const sentScores = S.labels.map((pairs) => {
    const m = new Map();
    for (const [l, sc] of pairs) m.set(l, sc);
    return m;
  });
  const byLabel = L.map(() => []);
  const docSents = DOCS.id.map(() => []);
  const labelled = [];
  for (let i = 0; i < nS; i++) {
    for (const [l] of S.labels[i]) byLabel[l].push(i);
    docSents[S.doc[i]].push(i);
    if (S.labels[i].length) labelled.push(i);
  }
  let lowerText = null;                     // built on the first search
  const state = { a: -1, b: -1, min: 0, max: 1, source: "", query: "", page: 0,
                  doc: -1, focus: -1, dpage: 0, dquery: "", donly: false, epage: 0 };

  const $ = (id) => document.getElementById(id);
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") e.className = v;
        else if (k === "text") e.textContent = v;
        else e.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  const fmt = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(2));
  const chip = (l, score) => el("span", { class: "chip " + (SET[l] === "stage" ? "stage"
    : SET[l] === "technology" ? "technology" : "other"), title: L[l],
    text: NAME[l] + (score === undefined ? "" : " " + fmt(score)) });

  // ---- header and summary ----
  $("title").textContent = D.title;
  document.title = D.title;
  $("provenance").textContent = "From " + D.inputs.join(", ") + " · generated " + D.generated +
    " by trafficlens " + D.version;
  $("masked-note").hidden = !D.masked;
  const sm = D.summary;
  const cards = [["documents", sm.documents], ["sentences", sm.sentences],
    ["could not be read", sm.errors], ["with document labels", sm.with_labels],
    ["with every sentence", sm.complete]];
  for (const [k, v] of cards) $("summary").append(el("div", null, el("dt", { text: k }),
    el("dd", { text: String(v) })));

  // ---- matrix ----
  function pairScore(i) {
    if (state.a < 0 && state.b < 0) {
      let best = 0;
      for (const v of sentScores[i].values()) best = Math.max(best, v);
      return best;
    }
    let s = 1;
    if (state.a >= 0) s = Math.min(s, sentScores[i].get(state.a));
    if (state.b >= 0) s = Math.min(s, sentScores[i].get(state.b));
    return s;
  }
  function buildMatrix() {
    const table = $("matrix");
    const counts = D.matrix.counts;
    let max = 0;
    for (const row of counts) for (const v of row) max = Math.max(max, v);
    const head = el("tr", null, el("th", { text: "stage \\ technology" }));
    TECHS.forEach((t) => head.append(el("th", { scope: "col" },
      el("button", { type: "button", class: "labelbtn", "data-label": idx("technology", t),
                     text: t }))));
    table.append(el("thead", null, head));
    const body = el("tbody");
    STAGES.forEach((st, a) => {
      const tr = el("tr", null, el("th", { scope: "row" }, el("button", { type: "button",
        class: "labelbtn", "data-label": idx("stage", st), text: st })));
      TECHS.forEach((te, b) => {
        const n = counts[a][b];
        const share = max ? n / max : 0;
        const btn = el("button", { type: "button", class: "cell" + (n ? "" : " zero") +
          (share > 0.55 ? " dark" : ""), "data-a": idx("stage", st),
          "data-b": idx("technology", te), "aria-label": st + " and " + te + ": " + n,
          text: String(n) });
        if (n) btn.style.backgroundColor = "rgba(155, 28, 49, " + (0.08 + 0.82 * share).toFixed(3) + ")";
        else btn.disabled = true;
        tr.append(el("td", null, btn));
      });
      body.append(tr);
    });
    table.append(body);
    $("matrix-note").textContent = "Each cell counts the sentences labelled with both the " +
      "row's stage and the column's technology. Click a cell to list them." +
      (sm.complete < sm.documents - sm.errors ? " Documents given only as document records " +
        "are counted from their same-sentence tables, but only their quoted evidence can be " +
        "listed; give report the --level sentence output too to list every sentence." : "");
  }
  function markSelected() {
    for (const btn of document.querySelectorAll("#matrix button.cell")) {
      btn.classList.toggle("selected", Number(btn.dataset.a) === state.a &&
        Number(btn.dataset.b) === state.b);
    }
  }

  // ---- label tables ----
  function buildLabels() {
    const docCount = L.map(() => 0);
    DOCS.labels.forEach((labs) => { if (labs) for (const l of labs) docCount[l]++; });
    for (const [set, labs] of D.sets) {
      const t = el("table", { class: "list" }, el("caption", { text: set }),
        el("tr", null, el("th", { text: "label" }), el("th", { class: "num", text: "documents" }),
          el("th", { class: "num", text: "sentences" })));
      for (const lab of labs) {
        const l = idx(set, lab);
        t.append(el("tr", null, el("td", null, el("button", { type: "button", class: "labelbtn",
          "data-label": l, text: lab })), el("td", { class: "num", text: String(docCount[l]) }),
          el("td", { class: "num", text: String(byLabel[l].length) })));
      }
      $("label-tables").append(t);
    }
  }

  // ---- evidence list ----
  function fillSelects() {
    for (const id of ["f-label", "f-label2"]) {
      const sel = $(id);
      sel.append(el("option", { value: "-1", text: id === "f-label" ? "any label" : "—" }));
      for (const [set, labs] of D.sets) {
        const group = el("optgroup", { label: set });
        for (const lab of labs) group.append(el("option", { value: idx(set, lab),
          text: lab }));
        sel.append(group);
      }
    }
  }
  function evidence() {
    let pool;
    if (state.a >= 0 || state.b >= 0) {
      const ls = [state.a, state.b].filter((x) => x >= 0);
      ls.sort((x, y) => byLabel[x].length - byLabel[y].length);
      pool = byLabel[ls[0]].filter((i) => ls.every((l) => sentScores[i].has(l)));
    } else {
      pool = labelled;
    }
    const src = state.source.toLowerCase(), q = state.query.toLowerCase();
    if (q && !lowerText) lowerText = S.text.map((t) => t.toLowerCase());
    const rows = [];
    for (const i of pool) {
      const sc = pairScore(i);
      if (sc < state.min || sc > state.max) continue;
      if (src && !DOCS.source[S.doc[i]].toLowerCase().includes(src)) continue;
      if (q && !lowerText[i].includes(q)) continue;
      rows.push([sc, i]);
    }
    rows.sort((x, y) => y[0] - x[0] || S.doc[x[1]] - S.doc[y[1]] || S.start[x[1]] - S.start[y[1]]);
    return rows;
  }
  function selectionName() {
    const ls = [state.a, state.b].filter((x) => x >= 0);
    return ls.length ? ls.map((l) => L[l]).join(" and ") : "any label";
  }
  function renderEvidence() {
    const rows = evidence();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    let cellNote = "";
    if (state.a >= 0 && state.b >= 0 && SET[state.a] === "stage" && SET[state.b] === "technology") {
      const n = D.matrix.counts[STAGES.indexOf(NAME[state.a])][TECHS.indexOf(NAME[state.b])];
      const held = byLabel[state.a].filter((i) => sentScores[i].has(state.b)).length;
      if (held !== n) cellNote = " (" + n + " in the collection; " + held + " are quoted in " +
        "these predictions)";
    }
    $("evidence-h").textContent = "Evidence sentences: " + selectionName();
    $("evidence-count").textContent = rows.length + " sentence" + (rows.length === 1 ? "" : "s") +
      cellNote + (rows.length > PAGE ? " · page " + (state.page + 1) + " of " + pages : "");
    const list = $("evidence-list");
    list.replaceChildren();
    for (const [sc, i] of rows.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
      const d = S.doc[i];
      const chips = el("span", { class: "chips" });
      for (const [l, v] of S.labels[i]) chips.append(chip(l, v));
      list.append(el("li", { "data-s": i },
        el("div", { class: "where" }, el("span", { class: "score", text: fmt(sc) }),
          el("button", { type: "button", class: "doclink", "data-doc": d, "data-s": i,
                         text: DOCS.id[d] }),
          el("span", { class: "pos", text: S.pos[i] === null ? "quoted, characters " + S.start[i] +
            "–" + S.end[i] : "sentence " + S.pos[i] }), chips),
        el("p", { class: "text", text: S.text[i] })));
    }
    pager($("evidence-pager"), state.page, pages, (p) => { state.page = p; renderEvidence(); });
    $("f-label").value = String(state.a);
    $("f-label2").value = String(state.b);
    markSelected();
  }
  function pager(nav, page, pages, go) {
    nav.replaceChildren();
    if (pages <= 1) return;
    const prev = el("button", { type: "button", text: "‹ previous", disabled: page === 0 });
    const next = el("button", { type: "button", text: "next ›", disabled: page >= pages - 1 });
    prev.addEventListener("click", () => go(page - 1));
    next.addEventListener("click", () => go(page + 1));
    nav.append(prev, el("span", { text: "page " + (page + 1) + " of " + pages }), next);
  }
  function select(a, b) {
    state.a = a; state.b = b; state.page = 0;
    renderEvidence();
    if (state.doc >= 0) renderDocument();
    $("evidence-section").scrollIntoView({ block: "start" });
  }

  // ---- document view ----
  function openDocument(d, focus) {
    state.doc = d; state.focus = focus === undefined ? -1 : focus;
    renderDocument();
    $("workspace").classList.add("open");
    if (!window.matchMedia("(min-width: 1100px)").matches) {
      $("document-section").scrollIntoView({ block: "start" });
    }
    const f = document.querySelector("#doc-text .focus");
    if (f) f.scrollIntoView({ block: "center" });
  }
  function renderDocument() {
    const d = state.doc;
    const sec = $("document-section");
    sec.hidden = false;
    $("doc-h").textContent = "Document: " + DOCS.id[d];
    const meta = $("doc-meta");
    meta.replaceChildren(
      el("span", { text: "source: " + (DOCS.source[d] || "–") }),
      el("span", { text: "sentences: " + (DOCS.n[d] === null ? "–" : DOCS.n[d]) }));
    if (DOCS.error[d] !== null) meta.append(el("span", { class: "reason",
      text: "could not be read: " + DOCS.error[d] }));
    const labs = el("div", { class: "labels" });
    if (DOCS.labels[d] === null) {
      labs.append(el("span", { text: "Document labels: not in these predictions (give report " +
        "the document-level output of predict too)." }));
    } else {
      const score = new Map(DOCS.scores[d]);
      labs.append(el("span", { text: DOCS.labels[d].length ? "Document labels: " :
        "Document labels: none" }));
      for (const l of DOCS.labels[d]) labs.append(chip(l, score.get(l)));
    }
    meta.append(labs);
    const note = $("doc-note");
    note.textContent = DOCS.complete[d] ? "Highlighted: sentences with a label; in deeper " +
      "yellow, those carrying " + selectionName() + "." : "Only the quoted evidence of this " +
      "document is in these predictions (document records quote the best sentences per " +
      "label); give report the --level sentence output too to read it in full.";
    const box = $("doc-text");
    box.replaceChildren();
    const ids = docSents[d].slice().sort((x, y) => S.start[x] - S.start[y]);
    let prevEnd = null;
    for (const i of ids) {
      // the text between sentences is not in the predictions: a gap of two or more
      // characters is shown as a paragraph break (it mostly is one), else as a space
      if (!DOCS.complete[d] && prevEnd !== null) box.append(el("span", { class: "gap", text: " … " }));
      else if (prevEnd !== null) box.append(S.start[i] - prevEnd >= 2 ? el("span", { class: "para" }) : " ");
      const has = S.labels[i].length > 0;
      const hit = has && (state.a >= 0 || state.b >= 0) &&
        (state.a < 0 || sentScores[i].has(state.a)) && (state.b < 0 || sentScores[i].has(state.b));
      const span = el("span", { class: "sent" + (has ? " ev" : "") + (hit ? " hit" : "") +
        (i === state.focus ? " focus" : ""), "data-s": i, text: S.text[i] });
      if (has) span.title = S.labels[i].map(([l, v]) => NAME[l] + " " + fmt(v)).join(", ");
      box.append(span);
      if (has) {
        const sup = el("sup");
        for (const [l, v] of S.labels[i]) sup.append(chip(l, v));
        box.append(sup);
      }
      prevEnd = S.end[i];
    }
    if (!ids.length) box.append(el("span", { class: "gap", text: "No sentence of this document " +
      "is in these predictions." }));
  }

  // ---- documents table ----
  function renderDocuments() {
    const q = state.dquery.toLowerCase();
    const rows = [];
    for (let d = 0; d < nD; d++) {
      if (q && !DOCS.id[d].toLowerCase().includes(q) && !DOCS.source[d].toLowerCase().includes(q)) continue;
      if (state.donly && !((DOCS.labels[d] && DOCS.labels[d].length) ||
        docSents[d].some((i) => S.labels[i].length))) continue;
      rows.push(d);
    }
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.dpage = Math.min(state.dpage, pages - 1);
    $("documents-count").textContent = rows.length + " of " + nD + " documents";
    const t = $("documents");
    t.replaceChildren(el("tr", null, el("th", { text: "document" }), el("th", { text: "source" }),
      el("th", { class: "num", text: "sentences" }), el("th", { text: "stage" }),
      el("th", { text: "technology" }), el("th", { text: "error" })));
    for (const d of rows.slice(state.dpage * PAGE, (state.dpage + 1) * PAGE)) {
      const bySet = new Map([["stage", el("td")], ["technology", el("td")]]);
      const shown = DOCS.labels[d] === null ? [...new Set(docSents[d].flatMap((i) =>
        S.labels[i].map(([l]) => l)))] : DOCS.labels[d];
      for (const l of shown) if (bySet.has(SET[l])) bySet.get(SET[l]).append(chip(l));
      t.append(el("tr", null, el("td", null, el("button", { type: "button", class: "doclink",
        "data-doc": d, text: DOCS.id[d] })), el("td", { text: DOCS.source[d] }),
        el("td", { class: "num", text: DOCS.n[d] === null ? "–" : String(DOCS.n[d]) }),
        bySet.get("stage"), bySet.get("technology"), el("td", { class: "reason", text: DOCS.error[d] || "" })));
    }
    pager($("documents-pager"), state.dpage, pages, (p) => { state.dpage = p; renderDocuments(); });
  }
  function renderErrors() {
    const bad = [];
    for (let d = 0; d < nD; d++) if (DOCS.error[d] !== null) bad.push(d);
    $("errors-count").textContent = bad.length ? bad.length + " document" +
      (bad.length === 1 ? "" : "s") : "None: every document was read.";
    const pages = Math.max(1, Math.ceil(bad.length / PAGE));
    state.epage = Math.min(state.epage, pages - 1);
    const ul = $("errors");
    ul.replaceChildren();
    for (const d of bad.slice(state.epage * PAGE, (state.epage + 1) * PAGE)) {
      ul.append(el("li", null, el("button", { type: "button", class: "doclink", "data-doc": d,
        text: DOCS.id[d] }), ": ", el("span", { class: "reason", text: DOCS.error[d] })));
    }
    pager($("errors-pager"), state.epage, pages, (p) => { state.epage = p; renderErrors(); });
  }

  // ---- events: delegated, reading numeric data attributes only ----
  document.addEventListener("click", (ev) => {
    const t = ev.target.closest("button");
    if (!t) return;
    if (t.classList.contains("cell") && !t.disabled) select(Number(t.dataset.a), Number(t.dataset.b));
    else if (t.classList.contains("labelbtn")) select(Number(t.dataset.label), -1);
    else if (t.classList.contains("doclink")) openDocument(Number(t.dataset.doc),
      t.dataset.s === undefined ? -1 : Number(t.dataset.s));
  });
  $("f-label").addEventListener("change", (e) => { state.a = Number(e.target.value); state.page = 0; renderEvidence(); });
  $("f-label2").addEventListener("change", (e) => { state.b = Number(e.target.value); state.page = 0; renderEvidence(); });
  const number = (v, dflt) => (v === "" || Number.isNaN(Number(v)) ? dflt : Number(v));
  $("f-min").addEventListener("input", (e) => { state.min = number(e.target.value, 0); state.page = 0; renderEvidence(); });
  $("f-max").addEventListener("input", (e) => { state.max = number(e.target.value, 1); state.page = 0; renderEvidence(); });
  let timer = 0;
  const later = (f) => { clearTimeout(timer); timer = setTimeout(f, 150); };
  $("f-source").addEventListener("input", (e) => { state.source = e.target.value; state.page = 0; later(renderEvidence); });
  $("f-query").addEventListener("input", (e) => { state.query = e.target.value; state.page = 0; later(renderEvidence); });
  $("f-clear").addEventListener("click", () => {
    Object.assign(state, { a: -1, b: -1, min: 0, max: 1, source: "", query: "", page: 0 });
    for (const [id, v] of [["f-min", "0"], ["f-max", "1"], ["f-source", ""], ["f-query", ""]]) $(id).value = v;
    renderEvidence();
  });
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("d-query").addEventListener("input", (e) => { state.dquery = e.target.value; state.dpage = 0; later(renderDocuments); });
  $("d-labelled").addEventListener("change", (e) => { state.donly = e.target.checked; state.dpage = 0; renderDocuments(); });

  buildMatrix();
  buildLabels();
  fillSelects();
  renderEvidence();
  renderDocuments();
  renderErrors();
  document.body.dataset.ready = "1";
})();
