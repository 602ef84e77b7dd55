// Draws the report's charts from ACTLAB_DATA with Chart.js; ACTLAB_DATA.atlas marks the activation
// atlas and ACTLAB_DATA.lesson a lesson page, each with charts of its own. The report declares its charts
// (ACTLAB_DATA.charts, .activation_charts, and .arm_charts once per arm with diagnostics: id,
// title, kind, series, y_title, scale, layers); each is drawn by the drawer of its kind. Each
// canvas gets data-drawn="1" once its chart exists, and <body data-charts="N"> counts them, so
// tests can check the page.
(function () {
  "use strict";
  const D = window.ACTLAB_DATA;
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                   "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39"];
  const color = (i, alpha) => {
    const hex = palette[i % palette.length];
    if (alpha === undefined) return hex;
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  };
  let drawn = 0;

  function make(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options);
    new Chart(canvas, config);
    canvas.dataset.drawn = "1";
    drawn += 1;
  }

  function axes(xTitle, yTitle, extraY) {
    return {
      x: { type: "linear", title: { display: true, text: xTitle } },
      y: Object.assign({ title: { display: true, text: yTitle } }, extraY || {}),
    };
  }
  const valueAxis = (chart) => (chart.scale === "log" ? { type: "logarithmic" } : {});

  // Mean line per arm, with a shaded band (mean +- std over seeds) when there are several seeds.
  function curveChart(id, chart) {
    const datasets = [];
    D.arms.forEach((arm, i) => {
      const series = arm[chart.series];
      if (!series || series.mean.every((v) => v === null)) return;
      const points = (values) => arm.epochs.map((e, k) => ({ x: e, y: values[k] }));
      if (D.seeds > 1) {
        datasets.push({ label: arm.arm + " (band)", data: points(series.hi), borderWidth: 0, pointRadius: 0,
                        backgroundColor: color(i, 0.15), fill: "+1", band: true });
        datasets.push({ label: arm.arm + " (band low)", data: points(series.lo), borderWidth: 0, pointRadius: 0,
                        backgroundColor: color(i, 0.15), fill: false, band: true });
      }
      datasets.push({ label: arm.arm, data: points(series.mean), borderColor: color(i), backgroundColor: color(i),
                      pointRadius: 3, borderWidth: 2, fill: false });
    });
    make(id, { type: "line", data: { datasets },
               options: { scales: axes("epoch", chart.y_title, valueAxis(chart)),
                          plugins: { legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].band } } } } });
  }

  function stepChart(id, chart) {
    const datasets = D.arms.map((arm, i) => ({
      label: arm.arm, data: arm[chart.series].x.map((x, k) => ({ x, y: arm[chart.series].mean[k] })),
      borderColor: color(i), backgroundColor: color(i), pointRadius: 0, borderWidth: 1.5, fill: false,
    }));
    make(id, { type: "line", data: { datasets }, options: { scales: axes("epoch", chart.y_title, valueAxis(chart)) } });
  }

  // Test accuracy per arm with 95% confidence intervals drawn as whiskers.
  const whiskers = {
    id: "whiskers",
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      const meta = chart.getDatasetMeta(0);
      const y = chart.scales.y;
      ctx.save();
      ctx.strokeStyle = "#222";
      ctx.lineWidth = 1.5;
      D.arms.forEach((arm, i) => {
        if (!arm.ci || D.seeds < 2) return;
        const x = meta.data[i].x;
        const top = y.getPixelForValue(arm.ci[1] * 100), bottom = y.getPixelForValue(arm.ci[0] * 100);
        ctx.beginPath();
        ctx.moveTo(x, top); ctx.lineTo(x, bottom);
        ctx.moveTo(x - 6, top); ctx.lineTo(x + 6, top);
        ctx.moveTo(x - 6, bottom); ctx.lineTo(x + 6, bottom);
        ctx.stroke();
      });
      ctx.restore();
    },
  };

  function barChart(id, chart) {
    const values = D.arms.map((a) => (a[chart.series] === null ? null : a[chart.series] * 100));
    const finite = values.filter((v) => v !== null);
    const low = finite.length ? Math.max(0, Math.floor((Math.min(...finite) - 5) / 10) * 10) : 0;
    make(id, {
      type: "bar",
      data: { labels: D.arms.map((a) => a.arm),
              datasets: [{ label: chart.y_title, data: values, backgroundColor: D.arms.map((_, i) => color(i, 0.75)) }] },
      options: { scales: { y: { min: low, max: 100, title: { display: true, text: chart.y_title } } },
                 plugins: { legend: { display: false } } },
      plugins: [whiskers],
    });
  }

  function activationChart(id, chart) {
    const datasets = D.curves.map((c, i) => ({
      label: c.activation, data: c.x.map((x, k) => ({ x, y: c[chart.series][k] })),
      borderColor: color(i), backgroundColor: color(i), pointRadius: 0, borderWidth: 2, fill: false,
    }));
    make(id, { type: "line", data: { datasets }, options: { scales: axes("x", chart.y_title, valueAxis(chart)) } });
  }


  // ---- gradient flow (per-layer diagnostics) ----

  // Viridis-like colour for t in [0, 1].
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function viridis(t) {
    const x = Math.min(Math.max(t, 0), 1) * (stops.length - 1);
    const k = Math.min(Math.floor(x), stops.length - 2), f = x - k;
    const c = stops[k].map((v, j) => Math.round(v + f * (stops[k + 1][j] - v)));
    return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  }

  // Layers (rows, input at the top) x snapshots (columns), drawn on the canvas directly.
  function heatmap(id, diag, rows, value, legend) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const box = canvas.parentElement, ratio = window.devicePixelRatio || 1;
    const width = box.clientWidth || 480, height = box.clientHeight || 320;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    const left = 90, right = 60, top = 6, bottom = 34;
    const cols = diag.snapshots.length, cellW = (width - left - right) / cols, cellH = (height - top - bottom) / rows.length;
    const grid = rows.map((r) => diag.snapshots.map((s) => value(s.layers[r])));
    const finite = grid.flat().filter((v) => v !== null && Number.isFinite(v));
    const lo = finite.length ? Math.min(...finite) : 0, hi = finite.length ? Math.max(...finite) : 1;
    const span = hi > lo ? hi - lo : 1;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    grid.forEach((row, r) => {
      ctx.fillStyle = "#333";
      ctx.textAlign = "right";
      if (cellH >= 9 || r % Math.ceil(9 / cellH) === 0) ctx.fillText(diag.layers[rows[r]].name, left - 4, top + (r + 0.5) * cellH);
      row.forEach((v, c) => {
        ctx.fillStyle = v === null || !Number.isFinite(v) ? "#ddd" : viridis((v - lo) / span);
        ctx.fillRect(left + c * cellW, top + r * cellH, Math.ceil(cellW), Math.ceil(cellH));
      });
    });
    ctx.fillStyle = "#333";
    ctx.textAlign = "center";
    const every = Math.ceil(cols / Math.max(1, Math.floor((width - left - right) / 50)));
    diag.snapshots.forEach((s, c) => {
      if (c % every === 0 || c === cols - 1) ctx.fillText(String(s.step), left + (c + 0.5) * cellW, height - bottom + 10);
    });
    ctx.fillText("step", left + (width - left - right) / 2, height - 8);
    for (let k = 0; k < 50; ++k) {
      ctx.fillStyle = viridis(1 - k / 49);
      ctx.fillRect(width - right + 12, top + k * (height - top - bottom) / 50, 12, Math.ceil((height - top - bottom) / 50));
    }
    ctx.fillStyle = "#333";
    ctx.textAlign = "left";
    ctx.fillText(legend(hi), width - right + 26, top + 6);
    ctx.fillText(legend(lo), width - right + 26, height - bottom - 6);
    canvas.dataset.drawn = "1";
    drawn += 1;
  }

  const indices = (diag, keep) => diag.layers.map((l, i) => i).filter((i) => keep(diag.layers[i]));
  // The layers a chart shows: those flagged by its `layers` ("weighted", "activation"), or all.
  const chartLayers = (diag, chart) => indices(diag, (l) => !chart.layers || l[chart.layers]);
  const log10 = (v) => (v !== null && v > 0 ? Math.log10(v) : null);
  const heatmapScales = {
    log10: { value: log10, legend: (v) => "1e" + v.toFixed(1) },
    percent: { value: (v) => v, legend: (v) => (v * 100).toFixed(0) + "%" },
  };

  function layerHeatmap(id, diag, chart) {
    const scale = heatmapScales[chart.scale];
    if (!scale) throw new Error("report.js: heatmap chart " + chart.id + " has an unknown scale " + chart.scale);
    heatmap(id, diag, chartLayers(diag, chart), (l) => scale.value(l[chart.series]), scale.legend);
  }

  function gradientFlow(id, diag, chart) {
    const rows = chartLayers(diag, chart);
    const first = diag.snapshots[0], last = diag.snapshots[diag.snapshots.length - 1];
    const norms = (s) => rows.map((r) => (s.layers[r][chart.series] > 0 ? s.layers[r][chart.series] : null));
    make(id, { type: "bar",
               data: { labels: rows.map((r) => diag.layers[r].name),
                       datasets: [{ label: "at init (step " + first.step + ")", data: norms(first), backgroundColor: color(0, 0.7) },
                                  { label: "at the end (step " + last.step + ")", data: norms(last), backgroundColor: color(1, 0.7) }] },
               options: { scales: { x: { title: { display: true, text: "layer (input → output)" } },
                                    y: Object.assign({ title: { display: true, text: chart.y_title } }, valueAxis(chart)) } } });
  }

  // Histograms of a chosen layer's output at up to six snapshots spread over training.
  function histograms(id, diag, chart) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const bins = diag.histogram.bins, range = diag.histogram.range, width = (2 * range) / bins;
    const centres = Array.from({ length: bins }, (_, k) => -range + (k + 0.5) * width);
    const n = Math.min(6, diag.snapshots.length), last = diag.snapshots.length - 1;
    const picks = [...new Set(Array.from({ length: n }, (_, k) => Math.round((k * last) / Math.max(1, n - 1))))];
    const datasets = (layer) => picks.map((p, k) => {
      const h = diag.snapshots[p].layers[layer][chart.series], total = h.reduce((a, b) => a + b, 0) || 1;
      const shade = viridis(picks.length > 1 ? k / (picks.length - 1) : 0);
      return { label: "step " + diag.snapshots[p].step, data: centres.map((x, j) => ({ x, y: h[j] / total })),
               borderColor: shade, backgroundColor: shade, pointRadius: 0, borderWidth: 1.5, fill: false };
    });
    const choices = chartLayers(diag, chart);
    const layers = choices.length ? choices : indices(diag, () => true);
    const select = document.createElement("select");
    layers.forEach((i) => select.add(new Option(diag.layers[i].name + " " + diag.layers[i].type, String(i))));
    canvas.parentElement.appendChild(select);
    make(id, { type: "line", data: { datasets: datasets(layers[0]) },
               options: { scales: axes("output value", chart.y_title) } });
    const drawnChart = Chart.getChart(canvas);
    select.addEventListener("change", () => {
      drawnChart.data.datasets = datasets(Number(select.value));
      drawnChart.update();
    });
  }

  // ---- through time (sequence models: diag.through_time, one snapshot per record) ----

  // ||dL/dh_t|| against t at initialization and at the end.
  function timeGradient(id, diag, chart) {
    const tt = diag.through_time;
    if (!tt || !tt.length) return;
    const picks = [...new Set([0, tt.length - 1])];
    const datasets = picks.map((p, k) => ({
      label: (p === 0 ? "at init" : "at the end") + " (step " + tt[p].step + ")",
      data: tt[p][chart.series].map((y, t) => ({ x: t, y: y > 0 ? y : null })),
      borderColor: color(k), backgroundColor: color(k), pointRadius: 0, borderWidth: 2, fill: false,
    }));
    make(id, { type: "line", data: { datasets }, options: { scales: axes("time step t", chart.y_title, valueAxis(chart)) } });
  }

  // One line per recurrent layer over the training steps.
  function timeSeries(id, diag, chart) {
    const tt = diag.through_time;
    if (!tt || !tt.length) return;
    const datasets = tt[0][chart.series].map((_, l) => ({
      label: "layer " + l, data: tt.map((s) => ({ x: s.step, y: s[chart.series][l] })),
      borderColor: color(l), backgroundColor: color(l), pointRadius: 2, borderWidth: 2, fill: false,
    }));
    make(id, { type: "line", data: { datasets }, options: { scales: axes("step", chart.y_title, valueAxis(chart)) } });
  }

  // Gates (rows) x snapshots (columns).
  function timeGates(id, diag, chart) {
    const tt = diag.through_time;
    if (!tt || !tt.length) return;
    const gates = Object.keys(tt[0][chart.series]);
    if (!gates.length) return;
    const grid = { layers: gates.map((name) => ({ name: name + " gate" })),
                   snapshots: tt.map((s) => ({ step: s.step, layers: gates.map((g) => s[chart.series][g]) })) };
    const scale = heatmapScales[chart.scale];
    heatmap(id, grid, gates.map((g, i) => i), scale.value, scale.legend);
  }

  const drawers = { steps: stepChart, curve: curveChart, bars: barChart, activation: activationChart };
  const armDrawers = { flow: gradientFlow, heatmap: layerHeatmap, histograms, time_gradient: timeGradient,
                       time_series: timeSeries, time_gates: timeGates };
  const drawerOf = (table, chart) => {
    if (!table[chart.kind]) throw new Error("report.js has no drawer for chart kind " + chart.kind + " (" + chart.id + ")");
    return table[chart.kind];
  };

  // The activation atlas page: one chart per activation, f solid and f' dashed.
  function atlasCharts() {
    D.atlas.forEach((c, i) => {
      const line = (key, label, dash) => ({ label, data: c.x.map((x, k) => ({ x, y: c[key][k] })), borderColor: color(i),
                                            backgroundColor: color(i), borderDash: dash, pointRadius: 0, borderWidth: 2, fill: false });
      const scales = axes("x", "");
      Object.assign(scales.x, { min: c.x[0], max: c.x[c.x.length - 1] });
      make(c.canvas, { type: "line", data: { datasets: [line("f", "f(x)", []), line("df", "f'(x)", [6, 4])] },
                       options: { scales } });
    });
  }

  // A lesson page: each chart lists its own series (lines: y over x; bars: one y per category).
  function lessonCharts() {
    D.lesson.charts.forEach((chart) => {
      const scaleY = Object.assign({ title: { display: true, text: chart.y_title } },
                                   chart.log_scale ? { type: "logarithmic" } : {});
      if (chart.kind === "bars") {
        make(chart.canvas, { type: "bar",
                             data: { labels: chart.categories,
                                     datasets: chart.series.map((s, i) => ({ label: s.label, data: s.y, backgroundColor: color(i, 0.75) })) },
                             options: { scales: { x: { title: { display: true, text: chart.x_title } }, y: scaleY } } });
        return;
      }
      const datasets = chart.series.map((s, i) => ({
        label: s.label, data: s.x.map((x, k) => ({ x, y: s.y[k] })), borderColor: color(i), backgroundColor: color(i),
        pointRadius: s.x.length > 40 ? 0 : 3, borderWidth: 2, fill: false,
      }));
      make(chart.canvas, { type: "line", data: { datasets }, options: { scales: { x: { type: "linear", title: { display: true, text: chart.x_title } }, y: scaleY } } });
    });
  }

  function reportCharts() {
    D.charts.concat(D.activation_charts).forEach((chart) => drawerOf(drawers, chart)(chart.id, chart));
    D.arms.forEach((arm, i) => {
      const diag = arm.diagnostics;
      if (!diag || !diag.snapshots || !diag.snapshots.length) return;
      D.arm_charts.forEach((chart) => drawerOf(armDrawers, chart)(chart.id + "-" + i, diag, chart));
    });
  }

  try {
    if (D.atlas) atlasCharts();
    else if (D.lesson) lessonCharts();
    else reportCharts();
  } catch (error) {
    document.body.dataset.error = String(error && error.stack ? error.stack : error);
    throw error;
  }
  document.body.dataset.charts = String(drawn);
})();
