'use strict';
/**
 * CloudFront Functions (cloudfront-js-2.0) as CloudFront runs them, for ImageCDN's local CDN
 * (imagecdn-dev) and the URL-API vectors (tests/node/run_vectors.js): the viewer-request
 * event shape built from a raw request, a sandbox holding only the language built-ins, and
 * the returned request's query string serialized back.
 *
 * Node 20, CommonJS, no dependencies.
 */
const vm = require('vm');

const HANDLER_TIMEOUT_MS = 2000;

// ---------------------------------------------------------------------------------------------
// The event shape (shared rule, see tests/vectors/README.md): split the raw query on '&', skip empty
// pieces, split each piece at the first '=' (no '=' means value ''), keep names and values raw, group
// by exact name in order of first appearance; one value -> {value}, several ->
// {value: first, multiValue: [{value}, ...]}.
function querystringEvent(raw) {
  const groups = new Map();
  for (const piece of String(raw).split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const name = eq < 0 ? piece : piece.slice(0, eq);
    const value = eq < 0 ? '' : piece.slice(eq + 1);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(value);
  }
  const qs = {};
  for (const [name, values] of groups) {
    const entry = values.length === 1
      ? {value: values[0]}
      : {value: values[0], multiValue: values.map((value) => ({value}))};
    // defineProperty, so that a name like "__proto__" becomes an own key like any other.
    Object.defineProperty(qs, name, {value: entry, enumerable: true, writable: true, configurable: true});
  }
  return qs;
}

// `request` is {uri, query, headers, method?, ip?}; `context` overrides the distribution's fields.
function buildEvent(request, index, context) {
  const headers = {};
  for (const name of Object.keys(request.headers || {})) {
    Object.defineProperty(headers, name, {
      value: {value: String(request.headers[name])}, enumerable: true, writable: true, configurable: true,
    });
  }
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'vectors-' + String(index).padStart(6, '0') + '-4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==',
      ...(context || {}),
    },
    viewer: {ip: request.ip || '198.51.100.7'},
    request: {
      method: request.method || 'GET',
      uri: request.uri,
      querystring: querystringEvent(request.query || ''),
      headers,
      cookies: {},
    },
  };
}

// Rule 4: name=value pairs in the object's own key order, joined by '&'; an entry with a multiValue
// array contributes one pair per element. Returns {ok, text} or {ok: false, error}.
function serializeQuerystring(qs) {
  if (qs === null || typeof qs !== 'object') return {ok: false, error: 'querystring is ' + describe(qs)};
  const pairs = [];
  for (const name of Object.keys(qs)) {
    const entry = qs[name];
    if (entry === null || typeof entry !== 'object') {
      return {ok: false, error: 'querystring.' + name + ' is ' + describe(entry) + ', not an object'};
    }
    if (entry.multiValue !== undefined) {
      if (!Array.isArray(entry.multiValue) || entry.multiValue.length === 0) {
        return {ok: false, error: 'querystring.' + name + '.multiValue is not a non-empty array'};
      }
      for (const mv of entry.multiValue) {
        if (mv === null || typeof mv !== 'object' || typeof mv.value !== 'string') {
          return {ok: false, error: 'querystring.' + name + '.multiValue has an element without a string value'};
        }
        pairs.push(name + '=' + mv.value);
      }
    } else {
      if (typeof entry.value !== 'string') {
        return {ok: false, error: 'querystring.' + name + '.value is ' + describe(entry.value) + ', not a string'};
      }
      pairs.push(name + '=' + entry.value);
    }
  }
  return {ok: true, text: pairs.join('&')};
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') {
    try { return JSON.stringify(v); } catch (e) { return '[object]'; }
  }
  return typeof v + ' ' + String(v);
}

// ---------------------------------------------------------------------------------------------
// Sandboxes

const scriptCache = new Map(); // code string -> vm.Script
function compiled(code) {
  let script = scriptCache.get(code);
  if (!script) {
    script = new vm.Script(code, {filename: 'cloudfront-function-' + scriptCache.size + '.js'});
    scriptCache.set(code, script);
  }
  return script;
}

// A fresh context with nothing but the language built-ins (no require, process, Buffer, timers; eval and new Function disabled, as CloudFront Functions has no dynamic code evaluation);
// runs the function source in it and checks that it defined handler.
function sandbox(code) {
  const script = compiled(code);
  const ctx = vm.createContext(Object.create(null), {
    name: 'cloudfront-js-2.0',
    codeGeneration: {strings: false, wasm: false},
  });
  // Node's createContext puts nothing of its own (require, process, timers) on the global object;
  // assert it so that a future Node change cannot silently hand the function more. (V8's own
  // `console` is there and prints nothing, which is harmless: CloudFront has console.log too.)
  for (const name of ['require', 'process', 'setTimeout', 'setInterval', 'setImmediate',
    'queueMicrotask', 'Buffer', 'global', 'module', 'exports', 'fetch']) {
    const t = vm.runInContext('typeof ' + name, ctx);
    if (t !== 'undefined') throw new Error('sandbox unexpectedly provides ' + name);
  }
  script.runInContext(ctx, {timeout: HANDLER_TIMEOUT_MS});
  const kind = vm.runInContext('typeof handler', ctx);
  if (kind !== 'function') throw new Error('code does not define function handler(event) (typeof handler: ' + kind + ')');
  // Defined by us in the context, so parsed events belong to the function's realm.
  const parse = vm.runInContext('(function (json) { return JSON.parse(json); })', ctx);
  return {ctx, parse, handler: vm.runInContext('handler', ctx)};
}

function invokeWithTimeout(box, eventJson) {
  // vm's timeout only covers code started by runInContext, so start the call from there; the event
  // travels as a string literal in the source, which puts nothing extra on the function's global.
  return vm.runInContext('handler(JSON.parse(' + JSON.stringify(eventJson) + '));', box.ctx,
    {timeout: HANDLER_TIMEOUT_MS});
}

module.exports = {HANDLER_TIMEOUT_MS, querystringEvent, buildEvent, serializeQuerystring, describe, sandbox, invokeWithTimeout};
