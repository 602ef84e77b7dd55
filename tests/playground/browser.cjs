// Drives the playground page in headless Chromium (puppeteer-core); run by browser_test.cpp:
//   node browser.cjs DRIVER_DIR URL OUT_DIR
// Trains spirals until the test loss is below a threshold, checks the gradient-flow view, applies a
// verdict's remedy by a click, runs an A/B pair, reloads the link, exports the config to
// OUT_DIR/playground.toml and screenshots to OUT_DIR/playground*.png. Prints one JSON line of
// measurements; exits non-zero on any failure.
'use strict';
const path = require('path');
const fs = require('fs');
const [driver, url, out] = process.argv.slice(2);
const puppeteer = require(path.resolve(driver, 'node_modules', 'puppeteer-core'));

const TEST_LOSS = 0.35;
const config = {
  data: 'spirals', samples: 600, noise: 0.05, train_ratio: 0.5, features: ['x1', 'x2', 'sin x1', 'sin x2'],
  hidden: [16, 16], activations: ['tanh', 'tanh'], optimizer: 'adam', lr: 0.01, batch: 10, seed: 1,
};

function state(a, b) {
  return Buffer.from(JSON.stringify({ a, b, selected: 'a' })).toString('base64url');
}

async function until(page, what, predicate, seconds, ...args) {
  try {
    await page.waitForFunction(predicate, { timeout: seconds * 1000, polling: 100 }, ...args);
  } catch (error) {
    const status = await page.evaluate(() => document.querySelector('#error').textContent +
      [...document.querySelectorAll('.run .summary')].map((s) => s.textContent).join(' | '));
    throw new Error(`${what} did not happen within ${seconds} s (page: ${status})`);
  }
}

const stepOf = (key) => Number(document.querySelector(`.run[data-run=${key}]`)?.dataset.step || 0);

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const errors = [];
  const watch = (page) => {
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('response', (response) => { if (response.status() >= 400) errors.push(`HTTP ${response.status()} ${response.url()}`); });
  };
  const result = {};
  try {
    const page = await browser.newPage();
    watch(page);
    await page.setViewport({ width: 1500, height: 1000 });
    await page.goto(`${url}/?state=${state(config, null)}`, { waitUntil: 'load' });
    await until(page, 'the first view', () => document.querySelector('.run[data-run=a]')?.dataset.step === '0', 20);

    // Train spirals; count the views drawn per second while it trains.
    await page.click('#play');
    await until(page, 'training', (f) => eval(f)('a') > 20, 20, stepOf.toString());
    const before = await page.evaluate(() => ({ renders: actlabPlayground.stats.renders, t: performance.now(),
      diag: Number(document.querySelector('.run[data-run=a]').dataset.diagnosticsStep) }));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const after = await page.evaluate(() => ({ renders: actlabPlayground.stats.renders, t: performance.now(),
      diag: Number(document.querySelector('.run[data-run=a]').dataset.diagnosticsStep),
      norms: actlabPlayground.runs.a.charts.grad.data.datasets[0].data }));
    result.views_per_second = (after.renders - before.renders) / ((after.t - before.t) / 1000);
    if (!(after.diag > before.diag)) throw new Error(`the gradient-flow view did not update (${before.diag} -> ${after.diag})`);
    if (!(after.norms.length >= 3 && after.norms.every((n) => n > 0))) throw new Error(`gradient norms missing: ${after.norms}`);
    await until(page, `test loss below ${TEST_LOSS}`, (t) => {
      const loss = document.querySelector('.run[data-run=a]').dataset.testLoss;
      return loss !== '' && Number(loss) < t;
    }, 90, TEST_LOSS);
    result.test_loss = Number(await page.evaluate(() => document.querySelector('.run[data-run=a]').dataset.testLoss));
    result.steps = await page.evaluate((f) => eval(f)('a'), stepOf.toString());
    await page.click('#play');  // pause
    if (out) await page.screenshot({ path: path.join(out, 'playground.png') });

    // A verdict's remedy applies its change with a click (and restarts the run).
    const remedy = await page.$('.run[data-run=a] .remedy:not([disabled])');
    if (remedy) {
      const before = await page.evaluate(() => JSON.stringify(actlabPlayground.state.a));
      await remedy.click();
      await until(page, 'the remedy applied', (b) => JSON.stringify(actlabPlayground.state.a) !== b, 10, before);
      result.remedy = await remedy.evaluate((button) => button.textContent);
      await until(page, 'the run restarted', () => document.querySelector('.run[data-run=a]').dataset.step === '0', 20);
    }

    // Export the config (what the "export config" button downloads).
    const toml = await page.evaluate(async () =>
      (await fetch(`/api/sessions/${actlabPlayground.runs.a.id}/config.toml`)).text());
    if (out) fs.writeFileSync(path.join(out, 'playground.toml'), toml);

    // A/B: B differs in its learning rate; both start from the same weights and train.
    await page.click('#ab');
    await until(page, 'the A/B pair', () => document.querySelectorAll('.run').length === 2, 10);
    await page.$eval('#lr', (input) => { input.value = '0.003'; input.dispatchEvent(new Event('change')); });
    await until(page, 'B restarted with lr 0.003', () => actlabPlayground.runs.b?.firstSurface && actlabPlayground.state.b.lr === 0.003 &&
      actlabPlayground.runs.b.restarts > 1, 20);
    await page.click('#play');
    await until(page, 'both runs training', (f) => eval(f)('a') > 30 && eval(f)('b') > 30, 30, stepOf.toString());
    await page.click('#play');
    const pair = await page.evaluate(() => ({
      same: JSON.stringify(actlabPlayground.runs.a.firstSurface) === JSON.stringify(actlabPlayground.runs.b.firstSurface),
      lrA: actlabPlayground.state.a.lr, lrB: actlabPlayground.state.b.lr, state: JSON.stringify(actlabPlayground.state),
    }));
    if (!pair.same) throw new Error('A and B did not start from the same decision surface (initial weights)');
    if (pair.lrA === pair.lrB) throw new Error('A and B have the same learning rate');
    if (out) await page.screenshot({ path: path.join(out, 'playground-ab.png') });

    // The link reproduces the state.
    const link = page.url();
    const reloaded = await browser.newPage();
    watch(reloaded);
    await reloaded.goto(link, { waitUntil: 'load' });
    await until(reloaded, 'the reloaded pair', () => document.querySelectorAll('.run[data-step]').length === 2, 20);
    const again = await reloaded.evaluate(() => ({ state: JSON.stringify(actlabPlayground.state), lr: document.querySelector('#lr').value }));
    const strip = (s) => { const o = JSON.parse(s); delete o.playing; return JSON.stringify(o); };
    if (strip(again.state) !== strip(pair.state)) throw new Error(`the reloaded state differs:\n${again.state}\n${pair.state}`);
    if (Number(again.lr) !== pair.lrB) throw new Error(`the reloaded page shows lr ${again.lr}, not ${pair.lrB}`);
    await reloaded.close();
    await page.close();
  } finally {
    await browser.close();
  }
  if (errors.length) throw new Error(`console errors:\n${errors.join('\n')}`);
  console.log(JSON.stringify(result));
}

main().catch((error) => { console.error(error.message); process.exit(1); });
