// ImageCDN viewer-request normalizer (cloudfront-js-2.0). L holds the URL API
// definition and S the claim's settings, both generated from Rust; this code is the
// JavaScript twin of urlapi/src/normalize.rs and the shared vectors keep them equal.
var own = Object.prototype.hasOwnProperty;
function dec(s) {
  try { return decodeURIComponent(s); } catch (e) { return null; }
}
function trim(s) { return s.replace(/^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g, ''); }
function lower(s) { return s.replace(/[A-Z]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) + 32); }); }
function int(v, lo, hi) {
  if (!/^[0-9]+$/.test(v)) return null;
  if (v.length > L.maxDigits) return hi;
  var n = parseInt(v, 10);
  if (n === 0) return null;
  return n < lo ? lo : (n > hi ? hi : n);
}
function parse(kind, v) {
  if (kind === 'width') return int(v, 1, S.maxW);
  if (kind === 'height') return int(v, 1, S.maxH);
  if (kind === 'quality') return int(v, S.minQ, S.maxQ);
  if (kind === 'dpr') {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v)) return null;
    var d = parseFloat(v);
    return d < L.dprMin ? L.dprMin : (d > L.dprMax ? L.dprMax : d);
  }
  v = lower(v);
  if (kind === 'fit') return L.fits.indexOf(v) >= 0 ? v : null;
  if (kind === 'format') {
    if (own.call(L.formatAliases, v)) v = L.formatAliases[v];
    return (v === 'auto' || S.formats.indexOf(v) >= 0) ? v : null;
  }
  if (kind === 'preset') return own.call(S.presets, v) ? v : null;
  return null;
}
function accepts(header, mime) {
  var items = header.split(',');
  for (var i = 0; i < items.length; i++) {
    var parts = items[i].split(';');
    if (lower(trim(parts[0])) !== mime) continue;
    var ok = true;
    for (var j = 1; j < parts.length; j++) {
      var eq = parts[j].indexOf('=');
      var name = eq < 0 ? parts[j] : parts[j].slice(0, eq);
      var val = eq < 0 ? '' : trim(parts[j].slice(eq + 1));
      if (lower(trim(name)) === 'q' && !(/^([0-9]+(\.[0-9]+)?|\.[0-9]+)$/.test(val) && parseFloat(val) > 0)) ok = false;
    }
    if (ok) return true;
  }
  return false;
}
function path(uri) {
  var d = dec(uri);
  if (d === null || /[\u0000-\u001f\u007f\\]/.test(d)) return null;
  var segs = d.split('/').filter(function (s) { return s.length > 0; });
  for (var i = 0; i < segs.length; i++) if (segs[i] === '.' || segs[i] === '..') return null;
  var joined = segs.join('/');
  for (var j = 0; j < S.prefixes.length; j++) {
    var p = S.prefixes[j] + '/';
    if (joined.length > p.length && joined.slice(0, p.length) === p) return '/' + segs.map(encodeURIComponent).join('/');
  }
  return null;
}
// The query as received, serialized again: a redirect carries it along unchanged.
function rawQuery(qs) {
  var pairs = [];
  Object.keys(qs).forEach(function (k) {
    var e = qs[k];
    var vals = e.multiValue ? e.multiValue.map(function (m) { return m.value; }) : [e.value];
    for (var i = 0; i < vals.length; i++) pairs.push(k + '=' + (vals[i] === undefined ? '' : vals[i]));
  });
  return pairs.length ? '?' + pairs.join('&') : '';
}
function handler(event) {
  var req = event.request;
  var uri = path(req.uri);
  if (uri === null) return {statusCode: 403, statusDescription: 'Forbidden', headers: {'cache-control': {value: 'public, max-age=60'}}};
  var qs = req.querystring || {};
  // CloudFront chose this behavior from the spelling the viewer sent: never forward a
  // different one; send the viewer to the canonical spelling, matched afresh.
  if (uri !== req.uri) return {statusCode: 301, statusDescription: 'Moved Permanently', headers: {location: {value: uri + rawQuery(qs)}, 'cache-control': {value: 'public, max-age=3600'}}};
  var got = {}, signed = {};
  Object.keys(qs).forEach(function (raw) {
    var entry = qs[raw];
    if (L.signed.indexOf(raw) >= 0) { signed[raw] = entry; return; }
    var n = dec(raw);
    if (n === null) return;
    n = lower(trim(n));
    if (!own.call(L.aliases, n)) return;
    n = L.aliases[n];
    if (got[n] !== undefined) return;
    var vals = entry.multiValue ? entry.multiValue.map(function (m) { return m.value; }) : [entry.value];
    for (var i = 0; i < vals.length; i++) {
      var v = dec(String(vals[i] === undefined ? '' : vals[i]));
      if (v === null) continue;
      v = parse(L.kinds[n], trim(v));
      if (v !== null) { got[n] = v; return; }
    }
  });
  var o = {};
  if (got.p !== undefined) { var pr = S.presets[got.p]; for (var k in pr) if (own.call(pr, k)) o[k] = pr[k]; }
  L.order.forEach(function (k) { if (got[k] !== undefined) o[k] = got[k]; });
  if (o.q !== undefined) o.q = o.q < S.minQ ? S.minQ : (o.q > S.maxQ ? S.maxQ : o.q);
  var dpr = got.dpr === undefined ? 1 : got.dpr;
  if (o.w !== undefined) o.w = Math.min(S.maxW, Math.round(o.w * dpr));
  if (o.h !== undefined) o.h = Math.min(S.maxH, Math.round(o.h * dpr));
  if (o.w !== undefined && S.ladder.length > 0) {
    var step = S.ladder[S.ladder.length - 1];
    for (var i = 0; i < S.ladder.length; i++) if (S.ladder[i] >= o.w) { step = S.ladder[i]; break; }
    o.w = step;
  }
  if (o.fit !== undefined && (o.w === undefined || o.h === undefined || o.fit === L.defaultFit)) delete o.fit;
  if (o.fm === 'auto') {
    var accept = req.headers.accept ? req.headers.accept.value : '';
    delete o.fm;
    for (var a = 0; a < L.negotiate.length; a++) {
      var f = L.negotiate[a];
      if (S.formats.indexOf(f[0]) >= 0 && accepts(accept, f[1])) { o.fm = f[0]; break; }
    }
  }
  if (o.q !== undefined && (o.fm === 'png' || o.q === S.defQ)) delete o.q;
  var out = {};
  L.order.forEach(function (k) { if (o[k] !== undefined) out[k] = {value: String(o[k])}; });
  L.signed.forEach(function (k) { if (signed[k]) out[k] = signed[k]; });
  req.uri = uri;
  req.querystring = out;
  return req;
}
