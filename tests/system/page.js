'use strict';
/**
 * Drives the local CDN's page (/_imagecdn/) in Debian's Chromium with playwright-core, as
 * a person would: picks an original, types a width, chooses a format and a preset, and
 * reads what the page shows. Prints one JSON object; writes screenshots.
 *
 *   node tests/system/page.js BASE_URL SCREENSHOT_DIR
 *
 * NODE_PATH must hold playwright-core (tests/run.sh: .peers/npm-browser/node_modules).
 */
const path = require('path');
const { chromium } = require('playwright-core');

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node page.js BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}

async function settled(page, before) {
  // Each change starts a request generation (body[data-generation], set synchronously by
  // the input event); body[data-ready] names the last one whose answer is shown.
  await page.waitForFunction(
    (b) => Number(document.body.dataset.ready || 0) > b && document.body.dataset.ready === document.body.dataset.generation,
    before,
    { timeout: 30000 },
  );
  return Number(await page.evaluate(() => document.body.dataset.ready));
}

async function readout(page) {
  return page.evaluate(() => ({
    url: document.querySelector('#url a') && document.querySelector('#url a').getAttribute('href'),
    cache: document.getElementById('cache').textContent,
    key: document.getElementById('key').textContent,
    layer: document.getElementById('layer').textContent,
    status: document.getElementById('status').textContent,
    type: document.getElementById('type').textContent,
    timing: document.getElementById('timing').textContent,
    error: document.getElementById('error').textContent,
    width: document.getElementById('preview').naturalWidth,
    height: document.getElementById('preview').naturalHeight,
  }));
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.IMAGECDN_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const out = {};
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/_imagecdn/`);
    let gen = await settled(page, 0);
    out.originals = await page.$$eval('#originals li', (lis) => lis.map((li) => ({ key: li.dataset.key, signed: li.classList.contains('signed') })));
    out.presets = await page.$$eval('#p option', (os) => os.map((o) => o.value).filter(Boolean));

    await page.click('#originals li[data-key="shop/hopper.jpg"]');
    gen = await settled(page, gen);
    await page.fill('#w', '');
    await page.type('#w', '480');
    await page.selectOption('#fm', 'webp');
    gen = await settled(page, gen);
    out.first = await readout(page);
    await page.screenshot({ path: path.join(shots, 'imagecdn-dev-page.png') });

    // The same variant again: served from the edge cache now.
    await page.selectOption('#fm', '');
    gen = await settled(page, gen);
    await page.selectOption('#fm', 'webp');
    gen = await settled(page, gen);
    out.again = await readout(page);

    await page.fill('#w', '');
    await page.selectOption('#fm', '');
    await page.selectOption('#p', 'thumb');
    gen = await settled(page, gen);
    out.preset = await readout(page);
    out.errors = errors;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
