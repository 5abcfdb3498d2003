'use strict';
/**
 * The transform core (Rust, compiled to wasm32-unknown-unknown) behind a small JS API.
 *
 * Why this shape:
 * - The compiled WebAssembly.Module is cached for the container's life; compiling the
 *   ~4 MB module is the expensive part, instantiating it is ~10 ms.
 * - A trap (a panic or an out-of-memory inside wasm) loses its message and may leave
 *   the instance's heap inconsistent, so the instance is dropped and the next call gets
 *   a fresh one. The caller sees status 500.
 * - Linear memory never shrinks: after a large image the instance is replaced once its
 *   memory passes `maxMemoryBytes`, so one big request does not pin the container's RSS.
 * - The module has no real imports. `ravif` pulls `v_frame`, which references
 *   wasm-bindgen's placeholder imports on wasm32; they are never called, so they are
 *   satisfied with stubs that trap if they ever were.
 */
const fs = require('fs');
const path = require('path');

const DEFAULT_WASM = path.join(__dirname, 'edge_transform.wasm');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const cachedModules = new Map();

/** Stub every import the module declares (see above): calling one is a bug, so it throws. */
function stubImports(module) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') throw new Error(`unexpected wasm import ${imp.module}.${imp.name} (${imp.kind})`);
    imports[imp.module] = imports[imp.module] || {};
    imports[imp.module][imp.name] = () => {
      throw new Error(`wasm import ${imp.module}.${imp.name} is not available`);
    };
  }
  return imports;
}

class Engine {
  /**
   * @param {object} [opts]
   * @param {string} [opts.wasmPath] the .wasm file (default: next to this file)
   * @param {number} [opts.maxMemoryBytes] re-instantiate after a call leaves memory above this
   */
  constructor(opts = {}) {
    this.wasmPath = opts.wasmPath || DEFAULT_WASM;
    this.maxMemoryBytes = opts.maxMemoryBytes || 512 * 1024 * 1024;
    this.instance = null;
    this.instances = 0;
  }

  module() {
    let m = cachedModules.get(this.wasmPath);
    if (!m) {
      m = new WebAssembly.Module(fs.readFileSync(this.wasmPath));
      cachedModules.set(this.wasmPath, m);
    }
    return m;
  }

  exports() {
    if (!this.instance) {
      const m = this.module();
      this.instance = new WebAssembly.Instance(m, stubImports(m));
      this.instances += 1;
    }
    return this.instance.exports;
  }

  /** Bytes of linear memory the current instance holds (0 when none). */
  memoryBytes() {
    return this.instance ? this.instance.exports.memory.buffer.byteLength : 0;
  }

  /** Copies `bytes` into wasm memory; returns [ptr, len]. ptr 0 means no memory. */
  put(x, bytes) {
    if (bytes.length === 0) return [0, 0];
    const ptr = x.edge_alloc(bytes.length);
    if (ptr === 0) return [0, bytes.length];
    new Uint8Array(x.memory.buffer, ptr, bytes.length).set(bytes);
    return [ptr, bytes.length];
  }

  /**
   * Runs `fn(exports, put)` and reads the reply handle it returns:
   * `{status, meta, body}` (body a Buffer copied out of wasm memory).
   */
  call(fn) {
    let owned = [];
    let x;
    try {
      x = this.exports();
      const put = (bytes) => {
        const [ptr, len] = this.put(x, bytes);
        if (ptr === 0 && len !== 0) throw new OutOfMemory(len);
        owned.push([ptr, len]);
        return [ptr, len];
      };
      const handle = fn(x, put);
      const status = x.reply_status(handle);
      const mem = x.memory.buffer;
      const meta = JSON.parse(decoder.decode(new Uint8Array(mem, x.reply_meta_ptr(handle), x.reply_meta_len(handle))));
      const body = Buffer.from(new Uint8Array(mem, x.reply_body_ptr(handle), x.reply_body_len(handle)));
      x.reply_free(handle);
      return { status, meta, body };
    } catch (e) {
      if (e instanceof OutOfMemory) {
        return { status: 413, meta: { error: `cannot allocate ${e.len} bytes for the input` }, body: Buffer.alloc(0) };
      }
      if (e instanceof WebAssembly.RuntimeError) {
        this.instance = null;
        owned = [];
        return { status: 500, meta: { error: `transform trapped (${e.message}); module re-instantiated` }, body: Buffer.alloc(0) };
      }
      throw e;
    } finally {
      if (this.instance) {
        for (const [ptr, len] of owned) if (ptr) x.edge_free(ptr, len);
        if (this.memoryBytes() > this.maxMemoryBytes) this.instance = null;
      }
    }
  }

  /**
   * Validates a request: `{status: 200, key, query, variantKey}` or `{status: 400|403, error}`.
   */
  parse(uri, query, prefixes) {
    const r = this.call((x, put) => {
      const [u, ul] = put(encoder.encode(uri));
      const [q, ql] = put(encoder.encode(query));
      const [p, pl] = put(encoder.encode(prefixes));
      return x.edge_parse(u, ul, q, ql, p, pl);
    });
    return { status: r.status, ...r.meta };
  }

  /**
   * Transforms `input` (a Buffer/Uint8Array) as the canonical `query` asks:
   * `{status: 200, body, contentType, format, width, height}` or `{status, error}`.
   */
  transform(input, query, limits) {
    const r = this.call((x, put) => {
      const [i, il] = put(input);
      const [q, ql] = put(encoder.encode(query));
      return x.edge_transform(i, il, q, ql, limits.maxSourcePixels, limits.maxSourceBytes, limits.defaultQuality);
    });
    return { status: r.status, body: r.body, ...r.meta };
  }
}

class OutOfMemory extends Error {
  constructor(len) {
    super(`cannot allocate ${len} bytes in wasm memory`);
    this.len = len;
  }
}

module.exports = { Engine, DEFAULT_WASM };
