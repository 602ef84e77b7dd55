// The playground page: settings on the left, one run (or an A/B pair) on the right, each a
// session on the server streaming its views. The whole state lives in the URL (?state=...).
'use strict';

const COLORS = ['#f59322', '#0877bd', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
// Keys of a config that A and B always share: the data and the seed (so the initial weights too).
const SHARED = ['data', 'samples', 'noise', 'train_ratio', 'classes', 'data_seed', 'features', 'seed'];
const MAX_POINTS = 400;  // per curve; older points are thinned out
const CHART_INTERVAL = 150;  // ms between redraws of the charts (the surface and units redraw every view)

const page = {
  catalog: null,
  state: { a: null, b: null, selected: 'a', playing: false },
  runs: {},          // 'a' / 'b' -> Run
  stats: { views: 0, renders: 0 },  // views received and drawn
};
window.actlabPlayground = page;

function $(id) { return document.getElementById(id); }

function showError(message) { $('error').textContent = message || ''; }

async function api(method, path, body) {
  const response = await fetch(path, {
    method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const type = response.headers.get('Content-Type') || '';
  const data = type.startsWith('application/json') ? await response.json() : await response.text();
  if (!response.ok) throw new Error(data && data.error ? data.error : `HTTP ${response.status}`);
  return data;
}

// ---- the state in the URL ----

function encodeState() {
  const s = page.state;
  const json = JSON.stringify({ a: s.a, b: s.b, selected: s.selected });
  return btoa(unescape(encodeURIComponent(json))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodeState(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(decodeURIComponent(escape(atob(base64))));
}

function saveUrl() {
  history.replaceState(null, '', `${location.pathname}?state=${encodeState()}`);
}

// ---- activation specs: "name" or "name:param=value,..." ----

function activationInfo(name) { return page.catalog.activations.find((a) => a.name === name); }

function parseSpec(spec) {
  const [name, rest] = spec.split(':');
  const values = {};
  if (rest) for (const part of rest.split(',')) {
    const [key, value] = part.split('=');
    if (value !== undefined) values[key.trim()] = Number(value);
  }
  return { name, values };
}

function makeSpec(name, values) {
  const info = activationInfo(name);
  const parts = (info ? info.params : []).filter((p) => values[p.name] !== undefined && values[p.name] !== p.default)
    .map((p) => `${p.name}=${values[p.name]}`);
  return parts.length ? `${name}:${parts.join(',')}` : name;
}

// ---- settings panel ----

function editedConfig() { return page.state[page.state.selected]; }

function fillSelect(select, names) {
  select.innerHTML = '';
  for (const name of names) select.add(new Option(name, name));
}

function buildSettings() {
  const c = page.catalog;
  fillSelect($('data'), [...c.synthetic, ...c.images]);
  fillSelect($('init'), c.inits);
  fillSelect($('norm'), c.norms);
  fillSelect($('optimizer'), c.optimizers);
  const features = $('features');
  for (const name of c.features) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="checkbox" value="${name}"> ${name}`;
    features.append(label);
  }
  const numeric = ['samples', 'classes', 'dropout', 'l1', 'l2', 'lr', 'batch', 'seed', 'noise', 'train_ratio'];
  for (const key of numeric) $(key).addEventListener('change', () => change(key, Number($(key).value)));
  for (const key of ['data', 'init', 'norm', 'optimizer']) $(key).addEventListener('change', () => change(key, $(key).value));
  features.addEventListener('change', () => {
    const chosen = [...features.querySelectorAll('input:checked')].map((i) => i.value);
    change('features', chosen.length ? chosen : ['x1', 'x2']);
  });
  $('regenerate').addEventListener('click', () => change('data_seed', editedConfig().data_seed + 1));
  $('add-layer').addEventListener('click', () => {
    const config = editedConfig();
    if (config.hidden.length >= page.catalog.limits.max_layers) return;
    const last = config.hidden.length ? config.hidden[config.hidden.length - 1] : 4;
    const activation = config.activations.length ? config.activations[config.activations.length - 1] : 'tanh';
    update({ hidden: [...config.hidden, last], activations: [...config.activations, activation] });
  });
  $('remove-layer').addEventListener('click', () => {
    const config = editedConfig();
    if (!config.hidden.length) return;
    update({ hidden: config.hidden.slice(0, -1), activations: config.activations.slice(0, -1) });
  });
}

function showSettings() {
  const config = editedConfig();
  for (const key of ['data', 'samples', 'noise', 'train_ratio', 'classes', 'init', 'norm', 'dropout', 'l1', 'l2',
    'optimizer', 'lr', 'batch', 'seed']) $(key).value = config[key];
  $('noise-value').textContent = config.noise;
  $('ratio-value').textContent = config.train_ratio;
  for (const input of $('features').querySelectorAll('input')) input.checked = config.features.includes(input.value);
  document.body.classList.toggle('images', page.catalog.images.includes(config.data));
  $('editing').textContent = page.state.b ? `(editing ${page.state.selected.toUpperCase()})` : '';
  const layers = $('layers');
  layers.innerHTML = '';
  config.hidden.forEach((units, index) => {
    const row = document.createElement('div');
    row.className = 'layer';
    const spec = parseSpec(config.activations[index]);
    const select = document.createElement('select');
    fillSelect(select, page.catalog.activations.map((a) => a.name));
    select.value = spec.name;
    select.className = 'activation';
    select.addEventListener('change', () => setLayer(index, units, select.value, {}));
    const count = document.createElement('input');
    count.type = 'number';
    count.min = 1;
    count.className = 'units';
    count.value = units;
    count.addEventListener('change', () => setLayer(index, Number(count.value), spec.name, spec.values));
    const head = document.createElement('label');
    head.append(`layer ${index + 1}`, count, select);
    row.append(head);
    const params = document.createElement('div');
    params.className = 'params';
    const info = activationInfo(spec.name);
    for (const p of info ? info.params : []) {
      const input = document.createElement('input');
      input.type = 'number';
      input.step = p.integer ? 1 : 0.01;
      input.title = p.doc;
      input.value = spec.values[p.name] !== undefined ? spec.values[p.name] : p.default;
      input.addEventListener('change', () => setLayer(index, units, spec.name, { ...spec.values, [p.name]: Number(input.value) }));
      const label = document.createElement('label');
      label.append(p.name, input);
      params.append(label);
    }
    row.append(params);
    layers.append(row);
  });
}

function setLayer(index, units, name, values) {
  const config = editedConfig();
  const hidden = [...config.hidden];
  const activations = [...config.activations];
  hidden[index] = units;
  activations[index] = makeSpec(name, values);
  update({ hidden, activations });
}

function change(key, value) { update({ [key]: value }); }

// Applies a change to the edited config (shared keys to both), then restarts the runs.
function update(changes) {
  const s = page.state;
  Object.assign(s[s.selected], changes);
  if (s.b) for (const key of SHARED) if (key in changes) s[s.selected === 'a' ? 'b' : 'a'][key] = changes[key];
  showSettings();
  saveUrl();
  scheduleRestart();
}

let restartTimer = null;
function scheduleRestart() {
  clearTimeout(restartTimer);
  restartTimer = setTimeout(restart, 250);
}

// ---- runs ----

class Run {
  constructor(key) {
    this.key = key;
    this.id = null;
    this.events = null;
    this.view = null;
    this.points = null;
    this.pending = false;
    this.element = document.getElementById('run-template').content.firstElementChild.cloneNode(true);
    this.element.dataset.run = key;
    this.element.querySelector('.select-run').textContent = key.toUpperCase();
    this.element.querySelector('.select-run').addEventListener('click', () => {
      page.state.selected = key;
      showSettings();
      markSelected();
      saveUrl();
    });
    $('runs').append(this.element);
    this.charts = {
      loss: lineChart(this.element.querySelector('.loss-chart'), 'loss', ['train loss', 'test loss'], false),
      acc: lineChart(this.element.querySelector('.acc-chart'), 'accuracy', ['train accuracy', 'test accuracy'], false),
      grad: barChart(this.element.querySelector('.grad-chart'), 'weight gradient norm per layer', true),
      units: barChart(this.element.querySelector('.units-chart'), 'dead / saturated fraction per activation', false, 2),
    };
  }

  async start(config, play) {
    this.stop();
    this.restarts = (this.restarts || 0) + 1;
    this.firstSurface = null;  // the initial weights' decision surface (A/B start from the same)
    // A later start() supersedes this one while it waits for the server.
    const generation = this.generation = (this.generation || 0) + 1;
    const created = await api('POST', '/api/sessions', config);
    if (generation !== this.generation) {
      api('DELETE', `/api/sessions/${created.id}`).catch(() => {});
      return;
    }
    this.id = created.id;
    this.view = null;
    delete this.element.dataset.diagnosticsStep;
    for (const chart of [this.charts.loss, this.charts.acc]) {
      for (const d of chart.data.datasets) d.data = [];
    }
    const points = await api('GET', `/api/sessions/${created.id}/data`);
    if (generation !== this.generation) return;
    this.points = points;
    this.events = new EventSource(`/api/sessions/${created.id}/events`);
    this.events.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.events.onerror = () => { if (this.events && this.events.readyState === EventSource.CLOSED) this.events = null; };
    if (play) await this.control('play');
  }

  stop() {
    if (this.events) this.events.close();
    this.events = null;
    if (this.id) api('DELETE', `/api/sessions/${this.id}`).catch(() => {});
    this.id = null;
  }

  remove() {
    this.stop();
    for (const chart of Object.values(this.charts)) chart.destroy();
    this.element.remove();
  }

  control(action) { return this.id ? api('POST', `/api/sessions/${this.id}/control`, { action }) : Promise.resolve(); }

  receive(view) {
    page.stats.views += 1;
    this.view = view;
    if (view.step === 0 && view.surface && !this.firstSurface) this.firstSurface = view.surface.values;
    const m = view.metrics;
    if (m.test_loss !== null) {
      appendPoint(this.charts.loss, m.step, [m.train_loss, m.test_loss]);
      appendPoint(this.charts.acc, m.step, [m.train_acc, m.test_acc]);
      this.curvesChanged = true;
    }
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.render(); });
    }
  }

  render() {
    const view = this.view;
    if (!view) return;
    page.stats.renders += 1;
    const m = view.metrics;
    const fmt = (v, d = 3) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));
    this.element.querySelector('.summary').textContent =
      `step ${view.step} · epoch ${view.epoch} · train loss ${fmt(m.train_loss)} · test loss ${fmt(m.test_loss)} · ` +
      `test acc ${fmt(m.test_acc)}${view.status === 'diverged' ? ' · diverged' : ''}`;
    this.element.dataset.step = view.step;
    this.element.dataset.testLoss = m.test_loss === null ? '' : m.test_loss;
    const now = performance.now();
    if (this.curvesChanged && (!view.playing || now - (this.curvesDrawn || 0) > CHART_INTERVAL)) {
      this.curvesChanged = false;
      this.curvesDrawn = now;
      this.charts.loss.update('none');
      this.charts.acc.update('none');
    }
    this.renderDiagnostics(view.diagnostics, !view.playing);
    this.renderVerdicts(view.verdicts);
    if (view.surface) {
      drawSurface(this.element.querySelector('.surface'), view.surface, this.points);
      drawNetwork(this.element.querySelector('.network'), view, this.config());
    }
    if (view.confusion) this.renderConfusion(view.confusion);
    if (view.misclassified) this.renderMisclassified(view.misclassified);
  }

  config() { return page.state[this.key]; }

  renderDiagnostics(d, immediately) {
    if (!d || this.element.dataset.diagnosticsStep === String(d.step)) return;
    const now = performance.now();
    if (!immediately && now - (this.diagnosticsDrawn || 0) < CHART_INTERVAL) return;
    this.diagnosticsDrawn = now;
    this.element.dataset.diagnosticsStep = d.step;
    const weighted = d.layers.filter((l) => l.weighted);
    setBars(this.charts.grad, weighted.map((l) => `${l.name} ${l.type.split('(')[0]}`), [weighted.map((l) => l.weight_grad_norm)]);
    const activations = d.layers.filter((l) => l.activation);
    setBars(this.charts.units, activations.map((l) => l.name), [activations.map((l) => l.dead), activations.map((l) => l.saturated)]);
    const box = this.element.querySelector('.histograms');
    while (box.children.length > activations.length) box.lastChild.remove();
    activations.forEach((layer, index) => {
      let figure = box.children[index];
      if (!figure) {
        figure = document.createElement('figure');
        figure.innerHTML = '<canvas width="120" height="50"></canvas><figcaption></figcaption>';
        box.append(figure);
      }
      figure.querySelector('figcaption').textContent = `${layer.name} ${layer.type}`;
      drawHistogram(figure.querySelector('canvas'), layer.histogram);
    });
  }

  renderVerdicts(verdicts) {
    const list = this.element.querySelector('.verdicts');
    const text = JSON.stringify(verdicts);
    if (list.dataset.text === text) return;
    list.dataset.text = text;
    list.innerHTML = '';
    for (const v of verdicts) {
      const item = document.createElement('li');
      item.innerHTML = `<span class="kind"></span> <span class="evidence"></span><br>`;
      item.querySelector('.kind').textContent = v.kind;
      item.querySelector('.evidence').textContent = v.evidence;
      for (const remedy of v.remedies) {
        const changes = remedyChanges(remedy, this.config());
        const button = document.createElement('button');
        button.textContent = remedy.replace(/: actlab compare .*$/, '');
        button.title = remedy;
        button.disabled = !changes;
        button.className = 'remedy';
        button.addEventListener('click', () => {
          page.state.selected = this.key;
          markSelected();
          update(changes);
        });
        item.append(button);
      }
      list.append(item);
    }
  }

  renderConfusion(matrix) {
    const names = this.points ? this.points.classes : matrix.map((_, i) => String(i));
    const largest = Math.max(1, ...matrix.flat());
    let html = '<table><tr><th>true \\ predicted</th>' + names.map((n) => `<th>${String(n).slice(0, 5)}</th>`).join('') + '</tr>';
    matrix.forEach((row, i) => {
      html += `<tr><th>${String(names[i]).slice(0, 8)}</th>` + row.map((count, j) => {
        const alpha = (count / largest).toFixed(2);
        const color = i === j ? `rgba(8,119,189,${alpha})` : `rgba(214,39,40,${alpha})`;
        return `<td style="background:${color}">${count}</td>`;
      }).join('') + '</tr>';
    });
    this.element.querySelector('.confusion').innerHTML = html + '</table>';
  }

  // Misclassified test images, each captioned "true -> predicted".
  renderMisclassified(samples) {
    const box = this.element.querySelector('.misclassified');
    const names = this.points ? this.points.classes : [];
    box.innerHTML = '';
    for (const sample of samples) {
      const [channels, height, width] = sample.shape;
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext('2d');
      const image = ctx.createImageData(width, height);
      for (let p = 0; p < width * height; p++) {
        const rgb = [0, 1, 2].map((c) => sample.pixels[Math.min(c, channels - 1) * width * height + p]);
        image.data.set([...rgb, 255], 4 * p);
      }
      ctx.putImageData(image, 0, 0);
      const figure = document.createElement('figure');
      const caption = document.createElement('figcaption');
      caption.textContent = `${names[sample.label] ?? sample.label} → ${names[sample.predicted] ?? sample.predicted}`;
      figure.append(canvas, caption);
      box.append(figure);
    }
  }
}

// A remedy's "what: actlab compare --key value ..." as config changes, or null when the page has no such setting.
function remedyChanges(remedy, config) {
  const found = remedy.match(/: actlab compare (--.*)$/);
  if (!found) return null;
  const tokens = found[1].split(/\s+/);
  const changes = {};
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const key = tokens[i].replace(/^--/, '').replace(/-/g, '_');
    const value = tokens[i + 1].replace(/^'|'$/g, '');
    if (key === 'activations') changes.activations = config.activations.map(() => value);
    else if (key === 'init' || key === 'norm' || key === 'optimizer') changes[key] = value;
    else if (key === 'lr' || key === 'dropout') changes[key] = Number(value);
    else if (key === 'weight_decay') changes.l2 = Number(value);
    else return null;
  }
  return changes;
}

// ---- charts ----

function lineChart(canvas, title, labels, logarithmic) {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: labels.map((label, i) => ({ label, data: [], borderColor: COLORS[i + 1], pointRadius: 0, borderWidth: 1.5 })) },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      plugins: { title: { display: true, text: title }, legend: { labels: { boxWidth: 10 } } },
      scales: { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { type: logarithmic ? 'logarithmic' : 'linear' } },
    },
  });
}

function barChart(canvas, title, logarithmic, series = 1) {
  const names = series === 2 ? ['dead', 'saturated'] : ['norm'];
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: [], datasets: names.map((label, i) => ({ label, data: [], backgroundColor: COLORS[i + 1] })) },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { title: { display: true, text: title }, legend: { display: series === 2, labels: { boxWidth: 10 } } },
      scales: { y: logarithmic ? { type: 'logarithmic' } : { min: 0, max: 1 } },
    },
  });
}

function appendPoint(chart, step, values) {
  chart.data.datasets.forEach((dataset, i) => {
    const data = dataset.data;
    if (data.length && data[data.length - 1].x >= step) {
      if (data[data.length - 1].x === step) data[data.length - 1].y = values[i];
      return;
    }
    if (values[i] !== null && values[i] !== undefined) data.push({ x: step, y: values[i] });
    if (data.length > MAX_POINTS) dataset.data = data.filter((_, j) => j % 2 === 0 || j === data.length - 1);
  });
}

function setBars(chart, labels, series) {
  chart.data.labels = labels;
  series.forEach((values, i) => { chart.data.datasets[i].data = values.map((v) => (v === null ? 0 : v)); });
  chart.update('none');
}

// ---- drawings ----

function hexToRgb(hex) { return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)); }
const RGB = COLORS.map(hexToRgb);

function surfaceColor(value, classes) {
  const best = Math.floor(value / 100);
  const p = (value % 100 || (value >= 100 ? 100 : 0)) / 100;
  if (classes === 2) {
    const p1 = best === 1 ? p : 1 - p;
    return RGB[0].map((c, i) => c + (RGB[1][i] - c) * p1).map((c) => 255 - (255 - c) * 0.7);
  }
  const strength = Math.max(0, (p - 1 / classes) / (1 - 1 / classes));
  return RGB[best % RGB.length].map((c) => 255 - (255 - c) * (0.25 + 0.6 * strength));
}

// A small offscreen canvas of `size` x `size` pixels, reused per key.
const scratch = {};
function pixels(key, size) {
  let entry = scratch[key];
  if (!entry || entry.canvas.width !== size) {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    entry = scratch[key] = { canvas, context: canvas.getContext('2d'), image: null };
    entry.image = entry.context.createImageData(size, size);
  }
  return entry;
}

function drawSurface(canvas, surface, points) {
  const ctx = canvas.getContext('2d');
  const n = surface.size;
  const grid = pixels('surface', n);
  const data = grid.image.data;
  for (let i = 0; i < n * n; i++) {
    const [red, green, blue] = surfaceColor(surface.values[i], surface.classes);
    data.set([red, green, blue, 255], 4 * i);
  }
  grid.context.putImageData(grid.image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(grid.canvas, 0, 0, canvas.width, canvas.height);
  if (!points || !points.train) return;
  if (points.layer?.width !== canvas.width) points.layer = pointLayer(canvas.width, surface.extent, points);
  ctx.drawImage(points.layer, 0, 0);
}

// The data points drawn once onto a transparent canvas (train: white rim, test: black rim).
function pointLayer(width, extent, points) {
  const layer = document.createElement('canvas');
  layer.width = layer.height = width;
  const ctx = layer.getContext('2d');
  const scale = width / (2 * extent);
  const draw = (list, test) => {
    for (const [x, y, label] of list) {
      ctx.beginPath();
      ctx.arc((x + extent) * scale, (extent - y) * scale, 2.6, 0, 2 * Math.PI);
      ctx.fillStyle = COLORS[label % COLORS.length];
      ctx.fill();
      ctx.strokeStyle = test ? '#000' : '#fff';
      ctx.lineWidth = 0.8;
      ctx.stroke();
    }
  };
  draw(points.train, false);
  draw(points.test, true);
  return layer;
}

function drawThumbnail(ctx, values, size, x, y, pixelSize) {
  const grid = pixels('unit', size);
  const data = grid.image.data;
  for (let i = 0; i < size * size; i++) {
    const v = values[i] / 100;
    const [red, green, blue] = v >= 0 ? RGB[1] : RGB[0];
    const a = Math.min(1, Math.abs(v));
    data.set([255 - (255 - red) * a, 255 - (255 - green) * a, 255 - (255 - blue) * a, 255], 4 * i);
  }
  grid.context.putImageData(grid.image, 0, 0);
  ctx.drawImage(grid.canvas, x, y, pixelSize, pixelSize);
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 0.5;
  ctx.strokeRect(x, y, pixelSize, pixelSize);
}

// Inputs, each hidden unit's output over the plane, the output; links coloured by the weight's
// sign, as thick as its magnitude.
function drawNetwork(canvas, view, config) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const columns = [config.features.length, ...view.units.layers.map((l) => l.length), view.surface.classes];
  const spacing = canvas.width / columns.length;
  const position = (col, row) => {
    const count = columns[col];
    const pixels = Math.min(28, (canvas.height - 10) / count - 4);
    const gap = canvas.height / count;
    return { x: col * spacing + spacing / 2 - pixels / 2, y: row * gap + gap / 2 - pixels / 2, pixels };
  };
  // One path per sign and width (in 0.5 px steps), so a frame strokes a few paths, not every link.
  const paths = new Map();
  view.weights.forEach((w, layer) => {
    for (let o = 0; o < w.rows; o++) for (let i = 0; i < w.cols; i++) {
      const weight = w.values[o * w.cols + i];
      const key = `${weight >= 0 ? 1 : 0}:${Math.round(Math.min(4, Math.abs(weight) * 1.5) * 2) / 2}`;
      if (!paths.has(key)) paths.set(key, new Path2D());
      const from = position(layer, i);
      const to = position(layer + 1, o);
      paths.get(key).moveTo(from.x + from.pixels, from.y + from.pixels / 2);
      paths.get(key).lineTo(to.x, to.y + to.pixels / 2);
    }
  });
  ctx.globalAlpha = Math.min(0.6, 6 / Math.max(...columns));  // many links: each fainter
  for (const [key, path] of paths) {
    const [sign, width] = key.split(':').map(Number);
    ctx.strokeStyle = COLORS[sign];
    ctx.lineWidth = width + 0.1;
    ctx.stroke(path);
  }
  ctx.globalAlpha = 1;
  ctx.fillStyle = '#333';
  ctx.font = '10px sans-serif';
  config.features.forEach((name, row) => {
    const p = position(0, row);
    ctx.fillText(name, p.x, p.y + p.pixels / 2 + 3);
  });
  view.units.layers.forEach((units, layer) => units.forEach((values, row) => {
    const p = position(layer + 1, row);
    drawThumbnail(ctx, values, view.units.size, p.x, p.y, p.pixels);
  }));
  for (let k = 0; k < view.surface.classes; k++) {
    const p = position(columns.length - 1, k);
    ctx.fillStyle = COLORS[k % COLORS.length];
    ctx.fillRect(p.x, p.y, p.pixels, p.pixels);
  }
}

function drawHistogram(canvas, histogram) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const largest = Math.max(1, ...histogram);
  const width = canvas.width / histogram.length;
  ctx.fillStyle = COLORS[1];
  histogram.forEach((count, i) => {
    const h = (count / largest) * (canvas.height - 2);
    ctx.fillRect(i * width, canvas.height - h, width - 0.5, h);
  });
}

// ---- page controls ----

function markSelected() {
  for (const [key, run] of Object.entries(page.runs)) run.element.classList.toggle('selected', !!page.state.b && key === page.state.selected);
}

async function restart() {
  showError('');
  const s = page.state;
  const keys = s.b ? ['a', 'b'] : ['a'];
  for (const key of Object.keys(page.runs)) if (!keys.includes(key)) { page.runs[key].remove(); delete page.runs[key]; }
  for (const key of keys) if (!page.runs[key]) page.runs[key] = new Run(key);
  markSelected();
  try {
    await Promise.all(keys.map((key) => page.runs[key].start(s[key], s.playing)));
  } catch (error) {
    showError(error.message);
  }
}

async function controlAll(action) {
  try {
    await Promise.all(Object.values(page.runs).map((run) => run.control(action)));
  } catch (error) {
    showError(error.message);
  }
}

function setPlaying(playing) {
  page.state.playing = playing;
  $('play').textContent = playing ? 'pause' : 'play';
  return controlAll(playing ? 'play' : 'pause');
}

function download(path, name) {
  const link = document.createElement('a');
  link.href = path;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}

function wireControls() {
  $('play').addEventListener('click', () => setPlaying(!page.state.playing));
  $('step').addEventListener('click', () => { setPlaying(false).then(() => controlAll('step')); });
  $('reset').addEventListener('click', () => controlAll('reset').then(() => page.state.playing && controlAll('play')));
  $('ab').addEventListener('change', () => {
    const s = page.state;
    s.b = $('ab').checked ? JSON.parse(JSON.stringify(s.a)) : null;
    s.selected = s.b ? 'b' : 'a';
    showSettings();
    saveUrl();
    restart();
  });
  $('export-toml').addEventListener('click', () => {
    const run = page.runs[page.state.selected];
    if (run && run.id) download(`/api/sessions/${run.id}/config.toml`, 'playground.toml');
  });
  $('export-model').addEventListener('click', () => {
    const run = page.runs[page.state.selected];
    if (run && run.id) download(`/api/sessions/${run.id}/model.safetensors`, 'playground.safetensors');
  });
  let counted = { renders: 0, t: performance.now() };  // views drawn per second, over the last second
  setInterval(() => {
    const now = performance.now();
    const rate = (page.stats.renders - counted.renders) / ((now - counted.t) / 1000);
    counted = { renders: page.stats.renders, t: now };
    $('status').textContent = `${rate.toFixed(0)} views/s`;
  }, 1000);
  window.addEventListener('beforeunload', () => { for (const run of Object.values(page.runs)) run.stop(); });
}

async function main() {
  page.catalog = await api('GET', '/api/catalog');
  const saved = new URLSearchParams(location.search).get('state');
  page.state.a = { ...page.catalog.defaults };
  if (saved) {
    try {
      const restored = decodeState(saved);
      page.state.a = { ...page.catalog.defaults, ...restored.a };
      page.state.b = restored.b ? { ...page.catalog.defaults, ...restored.b } : null;
      page.state.selected = page.state.b && restored.selected === 'b' ? 'b' : 'a';
    } catch (error) {
      showError(`the link's state could not be read (${error.message}); starting from the defaults`);
    }
  }
  $('ab').checked = !!page.state.b;
  buildSettings();
  wireControls();
  showSettings();
  saveUrl();
  await restart();
}

main().catch((error) => showError(error.message));
