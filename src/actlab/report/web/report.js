// Draws the report's charts from ACTLAB_DATA with Chart.js. Each canvas gets data-drawn="1"
// once its chart exists, and <body data-charts="N"> counts them, so tests can check the page.
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

  // Mean line per arm, with a shaded band (mean +- std over seeds) when there are several seeds.
  function curveChart(id, metric, yTitle, extraY) {
    const datasets = [];
    D.arms.forEach((arm, i) => {
      const series = arm[metric];
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
               options: { scales: axes("epoch", yTitle, extraY),
                          plugins: { legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].band } } } } });
  }

  function stepChart(id) {
    const datasets = D.arms.map((arm, i) => ({
      label: arm.arm, data: arm.steps.x.map((x, k) => ({ x, y: arm.steps.mean[k] })),
      borderColor: color(i), backgroundColor: color(i), pointRadius: 0, borderWidth: 1.5, fill: false,
    }));
    make(id, { type: "line", data: { datasets }, options: { scales: axes("epoch", "training loss", { type: "logarithmic" }) } });
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

  function barChart(id) {
    const values = D.arms.map((a) => (a.test_acc_mean === null ? null : a.test_acc_mean * 100));
    const finite = values.filter((v) => v !== null);
    const low = finite.length ? Math.max(0, Math.floor((Math.min(...finite) - 5) / 10) * 10) : 0;
    make(id, {
      type: "bar",
      data: { labels: D.arms.map((a) => a.arm),
              datasets: [{ label: "test accuracy (%)", data: values, backgroundColor: D.arms.map((_, i) => color(i, 0.75)) }] },
      options: { scales: { y: { min: low, max: 100, title: { display: true, text: "test accuracy (%)" } } },
                 plugins: { legend: { display: false } } },
      plugins: [whiskers],
    });
  }

  function activationChart(id, key, yTitle) {
    const datasets = D.curves.map((c, i) => ({
      label: c.activation, data: c.x.map((x, k) => ({ x, y: c[key][k] })),
      borderColor: color(i), backgroundColor: color(i), pointRadius: 0, borderWidth: 2, fill: false,
    }));
    make(id, { type: "line", data: { datasets }, options: { scales: axes("x", yTitle) } });
  }

  try {
    stepChart("chart-train-steps");
    curveChart("chart-train-loss", "train_loss", "training loss (epoch mean)", { type: "logarithmic" });
    curveChart("chart-val-loss", D.has_val ? "val_loss" : "test_loss", D.has_val ? "validation loss" : "test loss",
               { type: "logarithmic" });
    curveChart("chart-val-acc", D.has_val ? "val_acc" : "test_acc", D.has_val ? "validation accuracy" : "test accuracy");
    curveChart("chart-test-acc", "test_acc", "test accuracy");
    barChart("chart-test-bars");
    if (D.curves.length) {
      activationChart("chart-act-f", "f", "f(x)");
      activationChart("chart-act-df", "df", "f'(x)");
    }
  } catch (error) {
    document.body.dataset.error = String(error && error.stack ? error.stack : error);
    throw error;
  }
  document.body.dataset.charts = String(drawn);
})();
