'use strict';
/**
 * Fills the generated Backstage template's form in Debian's Chromium (playwright-core),
 * as a person would: types names and numbers, chooses from dropdowns, ticks
 * checkboxes, presses "Add" for each tenant, key and preset. For each case it submits,
 * then reports what the form did (submitted data or the errors shown next to fields) and,
 * when it submitted, the ImageCDN file the template's skeleton becomes, rendered with
 * nunjucks under Backstage's `${{ }}` syntax.
 *
 *   node drive.js PAGE_DIR CASES_JSON SHOTS_DIR    (prints one JSON array)
 *
 * NODE_PATH must hold playwright-core and nunjucks.
 */
const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');
const nunjucks = require('nunjucks');

const [pageDir, casesFile, shots] = process.argv.slice(2);
const { step, skeleton, cases } = JSON.parse(fs.readFileSync(casesFile, 'utf8'));

function serve(dir) {
  const server = http.createServer((req, res) => {
    const file = path.join(dir, req.url === '/' ? 'index.html' : path.basename(req.url));
    fs.readFile(file, (err, body) => {
      if (err) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const id = (p) => 'root_' + p.join('_');

/** The schema node at a form path (properties and array items). */
function schemaAt(root, p) {
  let node = root;
  for (const part of p) node = typeof part === 'number' ? node.items : node.properties[part];
  return node;
}

async function fill(page, schema, p, value) {
  const node = schemaAt(schema, p);
  if (Array.isArray(value)) {
    if (node['ui:widget'] === 'checkboxes') {
      for (const [i, option] of node.items.enum.entries()) {
        if (value.includes(option)) await page.check(`#${id(p)}-${i}`);
        else await page.uncheck(`#${id(p)}-${i}`);
      }
      return;
    }
    // rjsf shows minItems empty items from the start; "Add" (the array's own button, not a
    // nested array's) for the rest.
    const items = page.locator(`#${id(p)} > .array-item-list > .array-item`);
    for (let i = 0; i < value.length; i++) {
      if ((await items.count()) <= i) {
        await page.locator(`#${id(p)} > .row > .array-item-add > button`).click();
      }
      await fill(page, schema, [...p, i], value[i]);
    }
    // A list that starts with its default: remove what the person does not want.
    while ((await items.count()) > value.length) {
      await items.last().locator('.array-item-remove').click();
    }
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) await fill(page, schema, [...p, k], v);
    return;
  }
  const sel = `#${id(p)}`;
  if (node.enum) {
    // rjsf's options carry the enum index as their value (the empty option shows the
    // default as its label).
    await page.selectOption(sel, { value: String(node.enum.indexOf(value)) });
  } else if (node.type === 'boolean') {
    await page.check(sel);
    if (value === false) await page.uncheck(sel);
  } else {
    await page.locator(sel).fill(String(value));
  }
}

(async () => {
  const server = await serve(pageDir);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const results = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const env = new nunjucks.Environment(null, {
      autoescape: false,
      tags: { variableStart: '${{', variableEnd: '}}' },
    });
    for (const c of cases) {
      await page.goto(url);
      await page.evaluate((s) => window.renderStep(s), step);
      await page.waitForSelector('#root_name');
      await fill(page, step, ['name'], c.claim.metadata.name);
      await fill(page, step, ['namespace'], c.claim.metadata.namespace);
      await fill(page, step, ['spec'], c.claim.spec);
      await page.click('button[type=submit]');
      await page.waitForFunction(() => document.body.dataset.state !== 'editing', null, { timeout: 10000 });
      const out = await page.evaluate(() => ({
        state: document.body.dataset.state,
        submitted: window.submitted,
        errors: window.errors,
        fieldErrors: Object.fromEntries(
          [...document.querySelectorAll('[id$="__error"]')]
            .filter((e) => e.textContent.trim())
            .map((e) => [e.id.replace(/__error$/, ''), e.textContent.trim()]),
        ),
      }));
      if (out.submitted) {
        out.file = env.renderString(skeleton, {
          values: { name: out.submitted.name, namespace: out.submitted.namespace, spec: out.submitted.spec },
        });
      }
      if (c.screenshot) {
        out.screenshot = path.join(shots, `${c.name}.png`);
        await page.screenshot({ path: out.screenshot, fullPage: true });
      }
      results.push({ name: c.name, pageErrors: consoleErrors.splice(0), ...out });
    }
  } finally {
    await browser.close();
    server.close();
  }
  console.log(JSON.stringify(results));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
