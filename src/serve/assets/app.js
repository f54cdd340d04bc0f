// famsim designer: holds the family as a design (the JSON the server turns
// into a scenario file) and asks the server to render after every change.
// One render is in flight at a time; changes made meanwhile are merged into
// the next one, so dragging a slider never piles up requests.
"use strict";

const state = {
  info: null,
  design: null,
  result: null,     // the newest render's reply
  rendered: null,   // the design that reply drew (what a refused change goes back to)
  photos: {},       // person id → what their photo's upload said (prediction, warnings)
  selected: null,   // selected person id
  inFlight: false,
  dirty: false,
  mode: "designer",
};

const $ = (id) => document.getElementById(id);
const PIN_CYCLE = [undefined, "Father", "Mother", "Pool", "Blend"];

async function api(method, url, body, type) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.body = typeof body === "string" ? body : JSON.stringify(body);
    opts.headers["Content-Type"] = type || "application/json";
  }
  const r = await fetch(url, opts);
  const data = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) {
    const e = new Error(data.error || r.statusText);
    e.status = r.status;
    e.kind = data.kind;
    throw e;
  }
  return data;
}

function setStatus(text) { $("status").textContent = text; }
function showError(text) {
  const box = $("errors");
  box.hidden = !text;
  box.textContent = text || "";
}

function person(id) { return state.design.people.find((p) => p.id === id); }
function isFounder(p) { return !p.father && !p.mother; }
function childrenOf(id) { return state.design.people.filter((p) => p.father === id || p.mother === id); }

function freshId(base) {
  let i = 1;
  while (person(`${base}${i}`)) i++;
  return `${base}${i}`;
}

function generations() {
  const gen = {};
  const of = (p) => {
    if (gen[p.id] !== undefined) return gen[p.id];
    gen[p.id] = 0; // guards against cycles while computing
    let g = 0;
    for (const parent of [p.father, p.mother]) {
      const q = parent && person(parent);
      if (q) g = Math.max(g, of(q) + 1);
    }
    gen[p.id] = g;
    return g;
  };
  const rows = [];
  for (const p of state.design.people) {
    const g = of(p);
    (rows[g] = rows[g] || []).push(p);
  }
  return rows.filter(Boolean);
}

// Everyone `id`'s face is made from: their parents, theirs, and so on.
function ancestorsOf(id) {
  const out = new Set();
  const walk = (pid) => {
    const q = person(pid);
    if (!q) return;
    for (const parent of [q.father, q.mother]) {
      if (parent && !out.has(parent)) { out.add(parent); walk(parent); }
    }
  };
  walk(id);
  return out;
}

// The locked people whose faces `p`'s face is part of (p is their ancestor).
function heldBy(p) {
  return state.design.people.filter((q) => q.locked && ancestorsOf(q.id).has(p.id)).map((q) => q.id);
}

// A locked face keeps the seeds it is drawn from: its own and its
// ancestors' (their genes are its genes), written into the scenario.
function pinSeeds(p) {
  for (const q of [p, ...[...ancestorsOf(p.id)].map(person).filter(Boolean)]) {
    const named = isFounder(q) && q.genes && (q.genes.Seed !== undefined || q.genes.Photo || q.genes.AlignedPhoto);
    if (!named && q.seed === undefined) q.seed = state.design.seed;
  }
}

function portraitOf(id) {
  const r = state.result && state.result.people.find((p) => p.id === id);
  return r || null;
}

function origins(id) {
  const m = state.result && state.result.manifest.people.find((p) => p.id === id);
  const out = {};
  if (m) for (const r of m.regions) out[r.region] = r.source === "blend"
    ? (r.father >= r.mother && r.father >= r.pool ? "father" : r.mother >= r.pool ? "mother" : "pool")
    : r.source;
  return out;
}

// ---------------------------------------------------------------- rendering

function changed() {
  state.dirty = true;
  drawTree();
  pump();
}

async function pump() {
  if (state.inFlight || !state.dirty) return;
  state.inFlight = true;
  state.dirty = false;
  setStatus("drawing…");
  const sent = JSON.parse(JSON.stringify(state.design));
  try {
    const reply = await api("POST", "/api/render", sent);
    state.result = reply;
    state.rendered = sent;
    Object.assign(state.photos, reply.photos || {});
    showError(reply.warnings && reply.warnings.length ? "warnings:\n" + reply.warnings.join("\n") : "");
    setStatus(`ready: ${reply.people.length} people, ${reply.changed.length} drawn again (job ${reply.job})`);
  } catch (e) {
    if (e.kind === "locked" && state.rendered) {
      // The server keeps locked faces: the change is undone on the page too.
      state.design = JSON.parse(JSON.stringify(state.rendered));
      state.dirty = false;
      if (state.selected && !person(state.selected)) state.selected = null;
      showError(e.message);
      setStatus("change undone: it would redraw a locked face");
      drawEditor();
    } else if (e.kind !== "superseded" && e.kind !== "cancelled") {
      showError(e.message);
      setStatus("error");
    }
  }
  state.inFlight = false;
  drawTree();
  drawDemo();
  if (state.dirty) pump();
}

function drawTree() {
  const tree = $("tree");
  tree.textContent = "";
  for (const row of generations()) {
    const div = document.createElement("div");
    div.className = "generation";
    for (const p of row) {
      const card = document.createElement("div");
      card.className = "person" + (p.id === state.selected ? " selected" : "") + (p.locked ? " locked" : heldBy(p).length ? " held" : "");
      card.dataset.id = p.id;
      const img = document.createElement("img");
      const r = portraitOf(p.id);
      if (r) { img.src = r.image; img.dataset.sha = r.sha256; }
      img.alt = p.id;
      const name = document.createElement("div");
      name.className = "name";
      name.textContent = p.name || p.id;
      card.append(img, name);
      if (!isFounder(p)) {
        const par = document.createElement("div");
        par.className = "parents";
        par.textContent = `${p.father} + ${p.mother}`;
        card.append(par);
      }
      card.addEventListener("click", () => { state.selected = p.id; drawTree(); drawEditor(); });
      div.append(card);
    }
    tree.append(div);
  }
}

// ---------------------------------------------------------------- editing

function field(label, input) {
  const l = document.createElement("label");
  l.append(label + " ", input);
  return l;
}

function select(options, value, onChange) {
  const s = document.createElement("select");
  for (const o of options) {
    const opt = document.createElement("option");
    opt.value = opt.textContent = o;
    s.append(opt);
  }
  s.value = value;
  s.addEventListener("change", () => onChange(s.value));
  return s;
}

function slider(id, value, min, max, onInput) {
  const s = document.createElement("input");
  Object.assign(s, { type: "range", min, max, step: 0.01, id });
  s.value = value;
  const out = document.createElement("span");
  out.textContent = Number(value).toFixed(2);
  // "input" fires while dragging: procedural faces follow the slider.
  s.addEventListener("input", () => { out.textContent = Number(s.value).toFixed(2); onInput(Number(s.value)); });
  const wrap = document.createElement("span");
  wrap.append(s, out);
  return wrap;
}

function button(id, text, onClick) {
  const b = document.createElement("button");
  b.id = id;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function partnerOf(p) {
  const kid = childrenOf(p.id)[0];
  if (kid) return kid.father === p.id ? kid.mother : kid.father;
  const spare = state.design.people.find((q) => q.partnerOf === p.id);
  return spare ? spare.id : null;
}

function addPartner(p) {
  const sex = p.sex === "Male" ? "Female" : "Male";
  const id = freshId(sex === "Male" ? "husband" : "wife");
  state.design.people.push({ id, sex, age: p.age, ancestry: p.ancestry || "White" });
  return id;
}

function addChild(p) {
  let other = partnerOf(p);
  if (!other) other = addPartner(p);
  const q = person(other);
  const [father, mother] = p.sex === "Male" ? [p.id, q.id] : [q.id, p.id];
  const id = freshId("child");
  state.design.people.push({ id, sex: "Female", age: "3-9", father, mother });
  state.selected = id;
  changed();
  drawEditor();
}

function addParents(p) {
  const father = freshId("father");
  state.design.people.push({ id: father, sex: "Male", age: "60-69", ancestry: p.ancestry || "White" });
  const mother = freshId("mother");
  state.design.people.push({ id: mother, sex: "Female", age: "60-69", ancestry: p.ancestry || "White" });
  p.father = father;
  p.mother = mother;
  delete p.ancestry;
  delete p.genes;
  changed();
  drawEditor();
}

function removePerson(p) {
  if (childrenOf(p.id).length) { showError(`${p.id} has children; remove them first`); return; }
  state.design.people = state.design.people.filter((q) => q !== p);
  state.selected = null;
  changed();
  drawEditor();
}

function reroll(p) {
  if (p.locked || heldBy(p).length) return;
  if (p.genes && p.genes.Seed !== undefined) p.genes = { Seed: Math.floor(Math.random() * 1e9) };
  else p.seed = Math.floor(Math.random() * 1e9);
  changed();
}

function pinPanel(p) {
  const wrap = document.createElement("div");
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.innerHTML = '<span class="pin src-father">father</span><span class="pin src-mother">mother</span><span class="pin src-pool">pool</span> click a region to pin it: father → mother → pool → blend → unpinned';
  wrap.append(legend);
  const from = origins(p.id);
  const pins = document.createElement("div");
  pins.className = "pins";
  for (const g of state.info.region_groups) {
    const chip = document.createElement("span");
    const src = from[g.regions[0]];
    const pinned = p.regions && p.regions[g.name];
    chip.className = "pin" + (src ? " src-" + src : "") + (pinned ? " pinned" : "");
    chip.dataset.region = g.name;
    chip.textContent = g.name + (pinned ? `: ${pinned}` : "");
    chip.title = g.regions.join(", ");
    chip.addEventListener("click", () => {
      p.regions = p.regions || {};
      const next = PIN_CYCLE[(PIN_CYCLE.indexOf(p.regions[g.name]) + 1) % PIN_CYCLE.length];
      if (next) p.regions[g.name] = next; else delete p.regions[g.name];
      changed();
      drawEditor();
    });
    pins.append(chip);
  }
  wrap.append(pins);
  return wrap;
}

function drawEditor() {
  const ed = $("editor");
  ed.textContent = "";
  const p = state.selected && person(state.selected);
  const d = state.design;
  const fam = document.createElement("div");
  const nameIn = document.createElement("input");
  nameIn.type = "text"; nameIn.value = d.name; nameIn.id = "family-name";
  nameIn.addEventListener("change", () => { d.name = nameIn.value; changed(); });
  fam.append(field("Family", nameIn));
  fam.append(field("Size", select(["128", "256", "512"].filter((s) => Number(s) <= state.info.limits.max_image_size), String(d.image_size), (v) => { d.image_size = Number(v); changed(); })));
  if (state.info.neural) {
    const box = document.createElement("input");
    box.type = "checkbox"; box.checked = d.neural;
    box.addEventListener("change", () => { d.neural = box.checked; changed(); });
    fam.append(field("Neural model", box));
  }
  fam.append(button("reroll-family", "Re-roll everyone unlocked", () => { lockSeeds(); d.seed = Math.floor(Math.random() * 1e9); changed(); }));
  ed.append(fam, document.createElement("hr"));
  if (!p) {
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "Click a person to edit them.";
    ed.append(hint);
    return;
  }
  const h = document.createElement("h3");
  h.textContent = p.id;
  ed.append(h);
  const nm = document.createElement("input");
  nm.type = "text"; nm.value = p.name || ""; nm.id = "person-name";
  nm.addEventListener("change", () => { if (nm.value.trim()) p.name = nm.value; else delete p.name; changed(); });
  ed.append(field("Name", nm));
  ed.append(field("Sex", select(["Male", "Female"], p.sex, (v) => { p.sex = v; changed(); })));
  ed.append(field("Age", select(state.info.ages, p.age, (v) => { p.age = v; changed(); })));
  if (isFounder(p)) {
    ed.append(field("Ancestry", select(state.info.ancestries, p.ancestry || "White", (v) => { p.ancestry = v; changed(); })));
    const kind = p.genes && p.genes.Seed !== undefined ? "seed" : p.genes && (p.genes.Photo || p.genes.AlignedPhoto) ? "photo" : "pool";
    ed.append(field("Genes", select(["pool", "seed", "photo"], kind, (v) => {
      if (v === "pool") delete p.genes;
      if (v === "seed") p.genes = { Seed: Math.floor(Math.random() * 1e9) };
      if (v === "photo") {
        if (!state.info.neural) { showError("Photo founders need the neural model: start famsim serve with --weights DIR (see weights/README.md)."); drawEditor(); return; }
        uploadPhoto(p);
        return;
      }
      changed();
      drawEditor();
    })));
    const note = kind === "photo" && state.photos[p.id];
    if (note) ed.append(predictionBox(note));
  } else {
    ed.append(field("gamma", slider("gamma", p.gamma ?? d.gamma, 0, 1, (v) => { p.gamma = v; changed(); })));
    ed.append(field("eta", slider("eta", p.eta ?? d.eta, 0, 1, (v) => { p.eta = v; changed(); })));
    ed.append(field("resembles mother ↔ father", slider("lean", p.lean ?? 0, -1, 1, (v) => { p.lean = v; changed(); })));
    ed.append(pinPanel(p));
  }
  const row = document.createElement("div");
  row.className = "row";
  const rr = button("reroll", "Re-roll", () => reroll(p));
  const held = heldBy(p);
  rr.disabled = !!p.locked || held.length > 0;
  if (held.length) rr.title = `held: ${held.join(", ")} ${held.length > 1 ? "are" : "is"} locked and made from this face`;
  const lock = button("lock", p.locked ? "Unlock" : "Lock", () => {
    p.locked = !p.locked;
    // Pinning the seeds changes no face, but the scenario now names them.
    if (p.locked) { pinSeeds(p); changed(); }
    drawTree(); drawEditor();
  });
  row.append(rr, lock,
    button("add-child", "Add child", () => addChild(p)),
    button("add-partner", "Add partner", () => { addPartner(p); changed(); }));
  if (isFounder(p)) row.append(button("add-parents", "Add parents", () => addParents(p)));
  row.append(button("remove", "Remove", () => removePerson(p)));
  ed.append(row);
}

// Locked faces (and the ancestors they are made from) keep their seeds
// when the family's seed changes.
function lockSeeds() {
  for (const p of state.design.people) if (p.locked) pinSeeds(p);
}

function uploadPhoto(p) {
  const input = document.createElement("input");
  input.type = "file";
  input.accept = "image/png,image/jpeg";
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    setStatus(`aligning ${file.name}…`);
    try {
      const r = await fetch("/api/photo?name=" + encodeURIComponent(file.name), { method: "POST", headers: { "Content-Type": file.type }, body: file });
      const data = await r.json();
      if (!r.ok) throw new Error(data.error);
      p.genes = data.genes;
      // What FairFace sees in the photo; the user may still change it.
      const guess = data.prediction;
      if (guess) { p.sex = guess.sex; p.age = guess.age; p.ancestry = guess.ancestry; }
      state.photos[p.id] = data;
      showError(data.warnings.length ? "warnings:\n" + data.warnings.join("\n") : "");
      changed();
    } catch (e) { showError(e.message); setStatus("the photo was not used"); }
    drawEditor();
  });
  input.click();
}

// FairFace's prediction for a photo founder, with its probabilities.
function predictionBox(note) {
  const box = document.createElement("div");
  box.className = "prediction";
  box.id = "prediction";
  const title = document.createElement("div");
  title.textContent = `${note.upload} (${note.width}×${note.height})` + (note.prediction ? ": FairFace predicts" : ": no FairFace in the weights");
  box.append(title);
  if (note.prediction) {
    for (const head of ["sex", "age", "ancestry"]) {
      const probs = Object.entries(note.prediction.probabilities[head])
        .filter(([, v]) => v >= 0.005).sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
      const line = document.createElement("div");
      line.dataset.head = head;
      line.textContent = `${head}: ${probs}`;
      box.append(line);
    }
  }
  return box;
}

// ---------------------------------------------------------------- demo mode

function demoDesign() {
  return {
    name: "Demo: two parents, one child", seed: 1, image_size: 256, neural: state.info.neural && state.design.neural,
    gamma: 0.47, eta: 0.4,
    people: [
      { id: "father", sex: "Male", age: "30-39", ancestry: "White" },
      { id: "mother", sex: "Female", age: "30-39", ancestry: "EastAsian" },
      { id: "child", sex: "Female", age: "3-9", father: "father", mother: "mother", gamma: 0.47, eta: 0.4 },
    ],
  };
}

function drawDemo() {
  if (state.mode !== "demo") return;
  for (const id of ["father", "mother", "child"]) {
    const r = portraitOf(id);
    if (r) { $("demo-" + id).src = r.image; $("demo-" + id).dataset.sha = r.sha256; }
  }
}

function setupDemo() {
  const age = $("demo-age");
  for (const a of state.info.ages) { const o = document.createElement("option"); o.textContent = a; age.append(o); }
  const kid = () => person("child");
  age.addEventListener("change", () => { kid().age = age.value; changed(); });
  $("demo-sex").addEventListener("change", () => { kid().sex = $("demo-sex").value; changed(); });
  $("demo-gamma").addEventListener("input", () => { kid().gamma = Number($("demo-gamma").value); changed(); });
  $("demo-eta").addEventListener("input", () => { kid().eta = Number($("demo-eta").value); changed(); });
  $("demo-reroll").addEventListener("click", () => reroll(kid()));
  $("mode-toggle").addEventListener("click", () => {
    state.mode = state.mode === "demo" ? "designer" : "demo";
    $("demo").hidden = state.mode !== "demo";
    $("designer").hidden = state.mode === "demo";
    $("mode-toggle").textContent = state.mode === "demo" ? "Designer" : "Demo mode";
    if (state.mode === "demo") {
      load(demoDesign());
      const k = kid();
      age.value = k.age; $("demo-sex").value = k.sex; $("demo-gamma").value = k.gamma; $("demo-eta").value = k.eta;
    }
  });
}

// ---------------------------------------------------------------- start

function load(design) {
  state.design = design;
  state.selected = null;
  state.result = null;
  state.rendered = null;
  showError("");
  drawEditor();
  changed();
}

async function start() {
  state.info = await api("GET", "/api/info");
  const sel = $("start-select");
  for (const name of ["blank", ...state.info.scenarios]) {
    const o = document.createElement("option");
    o.value = name;
    o.textContent = name === "blank" ? "a blank couple" : name;
    sel.append(o);
  }
  $("start-load").addEventListener("click", async () => {
    try { load(await api("GET", "/api/scenarios/" + encodeURIComponent(sel.value))); }
    catch (e) { showError(e.message); }
  });
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    try {
      const r = await api("POST", "/api/import", await file.text(), "text/plain");
      load(r.design);
    } catch (e) { showError(e.message); setStatus("the file was not loaded"); }
    $("upload").value = "";
  });
  setupDemo();
  const events = new EventSource("/api/events");
  events.onmessage = (m) => {
    const e = JSON.parse(m.data);
    const stages = { starting: "reading the scenario, loading the model", photos: "aligning and encoding photos", founders: "drawing founders", genes: "decoding genes", genomes: "reading genes from faces", faces: "painting faces" };
    if (e.type === "progress") setStatus(`drawing… ${stages[e.stage] || e.stage}: ${e.done}/${e.total} people done`);
    if (e.type === "queued" && !state.result) setStatus("queued…");
  };
  load(await api("GET", "/api/design"));
}

start().catch((e) => { showError(e.message); setStatus("error"); });
