'use strict';
/**
 * Checks the form's quality rules exhaustively, with the ajv 8 that @rjsf/validator-ajv8
 * uses: for every combination of minQuality, defaultQuality and maxQuality (each left
 * empty or set around the bounds and defaults), the form accepts the transform exactly
 * when the XRD's rule holds (minQuality <= defaultQuality <= maxQuality, an empty field
 * counting as its default), and a refusal lands on a quality field.
 *
 *   node quality_rules.js STEP_JSON DEFAULTS    (DEFAULTS: the XRD's defaults of the three
 *                                               fields as JSON; prints one JSON object:
 *                                               checked, wrong[])
 *
 * NODE_PATH must hold ajv.
 */
const fs = require('fs');
const Ajv = require('ajv');

const step = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// The form's `ui:*` keys are for rjsf's uiSchema, not for validation.
const strip = (n) =>
  Array.isArray(n) ? n.map(strip)
    : n && typeof n === 'object'
      ? Object.fromEntries(Object.entries(n).filter(([k]) => !k.startsWith('ui:')).map(([k, v]) => [k, strip(v)]))
      : n;
const schema = strip(step);
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const defaults = JSON.parse(process.argv[3]);
const values = [undefined, 1, 100];
for (const d of Object.values(defaults)) values.push(d - 1, d, d + 1);

let checked = 0;
const wrong = [];
for (const min of values) for (const def of values) for (const max of values) {
  const transform = {};
  if (min !== undefined) transform.minQuality = min;
  if (def !== undefined) transform.defaultQuality = def;
  if (max !== undefined) transform.maxQuality = max;
  const [lo, mid, hi] = [min ?? defaults.minQuality, def ?? defaults.defaultQuality, max ?? defaults.maxQuality];
  const expected = lo <= mid && mid <= hi;
  validate({ spec: { transform } });
  const errors = (validate.errors || []).filter((e) => e.instancePath.startsWith('/spec/transform'));
  const placed = errors.some((e) => /^\/spec\/transform\/(min|default|max)Quality$/.test(e.instancePath));
  checked += 1;
  if (expected !== (errors.length === 0) || (!expected && !placed)) {
    wrong.push({ transform, expected, errors: errors.map((e) => `${e.instancePath} ${e.message}`) });
  }
}
console.log(JSON.stringify({ checked, wrong }));
