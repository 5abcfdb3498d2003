#!/usr/bin/env node
// Runs the URL-API test vectors through a generated CloudFront Function (cloudfront-js-2.0).
//
//   node tests/node/run_vectors.js BUNDLE.json
//   node tests/node/run_vectors.js --bench BUNDLE.json
//   node tests/node/run_vectors.js --outcomes BUNDLE.json
//
// BUNDLE is {"cases": [{"name", "code", "request", "expect"}]}: `code` is the function source for that
// case's settings (a script defining `function handler(event)`), `request` is {uri, query, headers} and
// `expect` is {uri, query} or {status}. See tests/vectors/README.md for the full format.
// --outcomes checks nothing: it prints one JSON line per case with what the function answered
// ({status, location} for a response, {uri, query} for a forwarded request, {error} if it threw),
// for tests that judge the answers themselves (cases need no `expect`).
//
// Node 20, CommonJS, no dependencies. Each case runs in a fresh `vm` context that holds only the
// ECMAScript built-ins: no require, process, Buffer, timers, and no eval/new Function.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

// One copy of CloudFront's function runtime, shared with the local CDN (imagecdn-dev).
const {HANDLER_TIMEOUT_MS, querystringEvent, buildEvent, serializeQuerystring, describe, sandbox, invokeWithTimeout} =
  require(path.join(__dirname, '../../imagecdn-dev/js/cloudfront_function.js'));

function usage(msg) {
  if (msg) process.stderr.write(msg + '\n');
  process.stderr.write('usage: node tests/node/run_vectors.js [--bench | --outcomes] BUNDLE.json\n');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Checking

function loadBundle(file) {
  let bundle;
  try {
    bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    usage('cannot read bundle ' + file + ': ' + e.message);
  }
  if (!bundle || !Array.isArray(bundle.cases)) usage('bundle ' + file + ' has no "cases" array');
  return bundle.cases;
}

function checkCase(c, index) {
  const problems = [];
  if (typeof c.code !== 'string') return {problems: ['case has no code string'], got: null};
  if (!c.request || typeof c.request.uri !== 'string') return {problems: ['case has no request.uri'], got: null};
  const expect = c.expect || {};
  const event = buildEvent(c.request, index);
  const eventJson = JSON.stringify(event);
  const headersBefore = JSON.stringify(event.request.headers);

  let result;
  try {
    const box = sandbox(c.code);
    // The handler must not leave state behind that the next request could see, but one request per
    // fresh context cannot show that; run it twice in the same context and require the same answer.
    result = invokeWithTimeout(box, eventJson);
    const again = invokeWithTimeout(box, eventJson);
    if (summary(again) !== summary(result)) problems.push('second call in the same context answered differently: ' + summary(again));
  } catch (e) {
    return {problems: ['handler threw: ' + errorText(e)], got: null};
  }
  if (result === null || typeof result !== 'object') {
    return {problems: ['handler returned ' + describe(result)], got: result};
  }

  if (result.statusCode !== undefined) {
    if (expect.status === undefined) problems.push('returned a response (statusCode ' + describe(result.statusCode) + ') but a request was expected');
    else if (result.statusCode !== expect.status) problems.push('statusCode ' + describe(result.statusCode) + ' != ' + expect.status);
    const location = result.headers && result.headers.location && result.headers.location.value;
    if ((expect.location === undefined) !== (location === undefined)) problems.push('location ' + describe(location) + ' != ' + describe(expect.location));
    else if (location !== undefined && location !== expect.location) problems.push('location ' + JSON.stringify(location) + ' != ' + JSON.stringify(expect.location));
    return {problems, got: result};
  }
  if (expect.status !== undefined) {
    problems.push('expected a ' + expect.status + ' response, got a request');
    return {problems, got: result};
  }
  if (result.uri !== expect.uri) problems.push('uri ' + describe(result.uri) + ' != ' + JSON.stringify(expect.uri));
  const qs = serializeQuerystring(result.querystring);
  if (!qs.ok) problems.push(qs.error);
  else if (qs.text !== expect.query) problems.push('query ' + JSON.stringify(qs.text) + ' != ' + JSON.stringify(expect.query));
  if (result.method !== 'GET') problems.push('method changed to ' + describe(result.method));
  let headersAfter;
  try { headersAfter = JSON.stringify(result.headers); } catch (e) { headersAfter = '<unserializable>'; }
  if (headersAfter !== headersBefore) problems.push('headers changed: ' + headersAfter + ' (were ' + headersBefore + ')');
  return {problems, got: result};
}

// Errors thrown inside the context come from its own realm: read name/message/stack, not instanceof.
function errorText(e) {
  if (e === null || typeof e !== 'object') return describe(e);
  const head = String(e.name || 'Error') + ': ' + String(e.message);
  const frame = String(e.stack || '').split('\n').find((l) => /^\s+at /.test(l));
  return frame ? head + ' (' + frame.trim() + ')' : head;
}

function summary(r) {
  if (r === null || typeof r !== 'object') return describe(r);
  if (r.statusCode !== undefined) {
    const loc = r.headers && r.headers.location ? ' location ' + describe(r.headers.location.value) : '';
    return 'status ' + describe(r.statusCode) + loc;
  }
  const qs = serializeQuerystring(r.querystring);
  return 'uri ' + describe(r.uri) + ' query ' + (qs.ok ? JSON.stringify(qs.text) : '<' + qs.error + '>');
}

function runChecks(cases) {
  let passed = 0;
  let failed = 0;
  cases.forEach((c, i) => {
    const {problems, got} = checkCase(c, i);
    if (problems.length === 0) {
      passed++;
      return;
    }
    failed++;
    const lines = [
      'FAIL ' + (c.name || '(case ' + i + ')'),
      '  request:  ' + JSON.stringify(c.request),
      '  expected: ' + JSON.stringify(c.expect),
      '  got:      ' + (got === null ? '-' : summary(got)),
    ];
    for (const p of problems) lines.push('  problem:  ' + p);
    process.stdout.write(lines.join('\n') + '\n');
  });
  if (cases.length === 0) process.stdout.write('bundle has no cases\n');
  process.stdout.write(passed + ' passed, ' + failed + ' failed\n');
  process.exit(failed > 0 || cases.length === 0 ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Bench: one context per distinct code (reused, as a warm CloudFront worker would), events parsed
// inside that context ahead of each timed batch (the handler mutates its event, so every call needs a
// fresh one); only the handler calls are timed.
//
// Every global lookup in a vm context goes through Node's contextified-global interceptor, which costs
// several times what the function itself does and says nothing about CloudFront. So for timing, the
// source is run inside a function whose parameters are the context's own built-ins (same objects,
// same realm, still no require/process/timers); the function's own top-level names become locals of
// that wrapper. Before timing, every case is run through both the plain and the wrapped handler and
// must answer the same, so the timed code is the checked code.

function fastHandler(box, code) {
  const names = vm.runInContext('Object.getOwnPropertyNames(globalThis)', box.ctx)
    .filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'eval' && n !== 'arguments' && n !== 'globalThis');
  const params = names.join(', ');
  const src = '(function (' + params + ') {\n' + code + '\n;return handler;\n})(' + params + ')';
  try {
    const h = new vm.Script(src, {filename: 'cloudfront-function-bench.js'}).runInContext(box.ctx, {timeout: HANDLER_TIMEOUT_MS});
    if (typeof h === 'function') return h;
  } catch (e) {
    // Source that cannot sit in a function body: time the plain handler instead.
  }
  process.stdout.write('note: timing the plain handler (global lookups through the vm interceptor)\n');
  return box.handler;
}

function bench(cases) {
  if (cases.length === 0) {
    process.stdout.write('bundle has no cases\n');
    process.exit(1);
  }
  const boxes = new Map();
  const items = cases.map((c, i) => {
    let box = boxes.get(c.code);
    if (!box) {
      box = sandbox(c.code);
      box.fast = fastHandler(box, c.code);
      boxes.set(c.code, box);
    }
    return {box, json: JSON.stringify(buildEvent(c.request, i)), name: c.name};
  });
  for (const it of items) {
    const plain = summary(it.box.handler(it.box.parse(it.json)));
    const fast = summary(it.box.fast(it.box.parse(it.json)));
    if (plain !== fast) {
      process.stdout.write('bench wrapper changes the answer for ' + it.name + ': ' + plain + ' vs ' + fast + '\n');
      process.exit(1);
    }
  }

  function batch() {
    const events = new Array(items.length);
    for (let i = 0; i < items.length; i++) events[i] = items[i].box.parse(items[i].json);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < items.length; i++) items[i].box.fast(events[i]);
    return process.hrtime.bigint() - t0;
  }

  const TOTAL_MIN = 200000;
  const RUNS = 5;
  const perRun = Math.ceil(TOTAL_MIN / RUNS);
  const batchesPerRun = Math.max(1, Math.ceil(perRun / items.length));

  try {
    // Warm-up: let the JIT settle.
    const warm = Math.max(1, Math.ceil(20000 / items.length));
    for (let b = 0; b < warm; b++) batch();

    const results = [];
    for (let r = 0; r < RUNS; r++) {
      let ns = 0n;
      for (let b = 0; b < batchesPerRun; b++) ns += batch();
      results.push(Number(ns) / (batchesPerRun * items.length));
    }
    results.sort((a, b) => a - b);
    const median = results[Math.floor(RUNS / 2)];
    process.stdout.write(RUNS * batchesPerRun * items.length + ' calls over ' + items.length + ' cases, ' +
      boxes.size + ' distinct function(s); runs (ns/request): ' + results.map((x) => x.toFixed(1)).join(' ') + '\n');
    process.stdout.write('node per-request: ' + median.toFixed(1) + ' ns (median of ' + RUNS + ' runs)\n');
  } catch (e) {
    process.stdout.write('handler threw during bench: ' + errorText(e) + '\n');
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------------------------

// One JSON line per case: what the function answered. A sandbox per distinct code, reused (the
// vectors run proves the function keeps no state between requests).
function outcomes(cases) {
  const boxes = new Map();
  const lines = cases.map((c, i) => {
    try {
      let box = boxes.get(c.code);
      if (!box) {
        box = sandbox(c.code);
        boxes.set(c.code, box);
      }
      const r = invokeWithTimeout(box, JSON.stringify(buildEvent(c.request, i)));
      if (r && r.statusCode !== undefined) {
        const location = r.headers && r.headers.location ? r.headers.location.value : undefined;
        return JSON.stringify({status: r.statusCode, location});
      }
      const qs = serializeQuerystring(r.querystring);
      return JSON.stringify({uri: r.uri, query: qs.ok ? qs.text : null});
    } catch (e) {
      return JSON.stringify({error: errorText(e)});
    }
  });
  process.stdout.write(lines.join('\n') + '\n');
}

function main(argv) {
  let benchMode = false;
  let outcomesMode = false;
  const files = [];
  for (const a of argv) {
    if (a === '--bench') benchMode = true;
    else if (a === '--outcomes') outcomesMode = true;
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage('unknown option ' + a);
    else files.push(a);
  }
  if (files.length !== 1) usage('expected exactly one BUNDLE.json');
  const cases = loadBundle(files[0]);
  if (benchMode) bench(cases);
  else if (outcomesMode) outcomes(cases);
  else runChecks(cases);
}

if (require.main === module) main(process.argv.slice(2));

module.exports = {querystringEvent, buildEvent, serializeQuerystring};
