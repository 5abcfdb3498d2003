'use strict';
/**
 * The transform core (Rust, compiled to wasm32-wasip1) behind a small JS API.
 *
 * Why this shape:
 * - The compiled WebAssembly.Module is cached for the container's life; compiling the
 *   ~4 MB module is the expensive part, instantiating it is ~10 ms.
 * - The module is compiled (and instantiated) by `warm()` during the container's init,
 *   outside any request's time.
 * - A trap (a panic or an out-of-memory inside wasm) loses its message and may leave
 *   the instance's heap inconsistent, so the instance is dropped and the next call gets
 *   a fresh one. The caller sees status 500. A `RangeError` thrown out of wasm code (V8's
 *   "Maximum call stack size exceeded" on deep recursion) is treated the same way.
 * - libjpeg-turbo (C) reports a damaged JPEG by calling an error handler that must not
 *   return; wasm32 has neither unwinding nor setjmp here, so the handler calls our
 *   `imagecdn.transform_failed(status, ptr, len)` import, which throws `TransformFailed`.
 *   The exception leaves the wasm frames mid-call, so the instance is abandoned like after
 *   a trap, but the caller gets the core's own status and message (422 "cannot decode the
 *   image: JPEG: ..."), the same reply the native build gives.
 * - Linear memory never shrinks: after a large image the instance is replaced once its
 *   memory passes `maxMemoryBytes`, so one big request does not pin the container's RSS.
 * - WASI without capabilities: the module is a WASI build only so that libwebp (C) links
 *   against wasi-libc. Its few WASI imports are answered here, not by node:wasi: no
 *   preopened directories, no environment, no files; stdout/stderr go to the log;
 *   randomness comes from node:crypto. So the transform cannot touch the filesystem or the
 *   network whatever its input. Any other import is a stub that throws if ever called.
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const DEFAULT_WASM = path.join(__dirname, 'edge_transform.wasm');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const cachedModules = new Map();

// WASI preview1 errno values.
const ERRNO_SUCCESS = 0;
const ERRNO_BADF = 8;

/** Thrown by proc_exit: wasm code asked to end the process (it never should). */
class WasiExit extends Error {
  constructor(code) {
    super(`wasm called proc_exit(${code})`);
    this.code = code;
  }
}

/** Thrown by the `imagecdn.transform_failed` import: the core's typed error, ending the call. */
class TransformFailed extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The core's own imports (see `lambda/core/src/libjpeg.rs`). */
function coreImports(memory) {
  return {
    transform_failed(status, ptr, len) {
      throw new TransformFailed(status, decoder.decode(new Uint8Array(memory().buffer, ptr, len)));
    },
  };
}

/**
 * The WASI preview1 calls the module imports, with no capabilities (see above).
 * `memory()` returns the instance's memory (it exists only after instantiation).
 */
function wasiImports(memory) {
  const view = () => new DataView(memory().buffer);
  const bytes = (ptr, len) => new Uint8Array(memory().buffer, ptr, len);
  return {
    random_get(ptr, len) {
      crypto.randomFillSync(bytes(ptr, len));
      return ERRNO_SUCCESS;
    },
    environ_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, 0, true);
      view().setUint32(sizePtr, 0, true);
      return ERRNO_SUCCESS;
    },
    environ_get: () => ERRNO_SUCCESS,
    args_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, 0, true);
      view().setUint32(sizePtr, 0, true);
      return ERRNO_SUCCESS;
    },
    args_get: () => ERRNO_SUCCESS,
    // No preopened directories: fd 3 is already "bad", so libc finds none.
    fd_prestat_get: () => ERRNO_BADF,
    fd_prestat_dir_name: () => ERRNO_BADF,
    fd_close: () => ERRNO_BADF,
    fd_seek: () => ERRNO_BADF,
    fd_fdstat_get: () => ERRNO_BADF,
    fd_write(fd, iovs, iovsLen, writtenPtr) {
      if (fd !== 1 && fd !== 2) return ERRNO_BADF;
      const v = view();
      const parts = [];
      let written = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = v.getUint32(iovs + i * 8, true);
        const len = v.getUint32(iovs + i * 8 + 4, true);
        parts.push(Buffer.from(bytes(ptr, len)));
        written += len;
      }
      const text = Buffer.concat(parts).toString('utf8').trimEnd();
      if (text) console.error(`edge_transform.wasm: ${text}`);
      view().setUint32(writtenPtr, written, true);
      return ERRNO_SUCCESS;
    },
    proc_exit(code) {
      throw new WasiExit(code);
    },
    sched_yield: () => ERRNO_SUCCESS,
  };
}

/**
 * The import object: WASI from `wasiImports`, the core's from `coreImports`, and for
 * anything else (none expected) a stub that throws when called, so an unexpected import
 * fails loudly instead of at link time.
 */
function moduleImports(module, memory) {
  const provided = { wasi_snapshot_preview1: wasiImports(memory), imagecdn: coreImports(memory) };
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') throw new Error(`unexpected wasm import ${imp.module}.${imp.name} (${imp.kind})`);
    imports[imp.module] = imports[imp.module] || {};
    const known = Object.hasOwn(provided, imp.module) && Object.hasOwn(provided[imp.module], imp.name) && provided[imp.module][imp.name];
    imports[imp.module][imp.name] =
      known ||
      (() => {
        throw new Error(`wasm import ${imp.module}.${imp.name} is not available`);
      });
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
    /** What loading cost (ms): reading and compiling the module (once per file and process), the last instantiation. */
    this.loadTimings = { readMs: 0, compileMs: 0, instantiateMs: 0 };
  }

  module() {
    let m = cachedModules.get(this.wasmPath);
    if (!m) {
      const t0 = performance.now();
      const bytes = fs.readFileSync(this.wasmPath);
      const t1 = performance.now();
      m = new WebAssembly.Module(bytes);
      this.loadTimings.readMs = t1 - t0;
      this.loadTimings.compileMs = performance.now() - t1;
      cachedModules.set(this.wasmPath, m);
    }
    return m;
  }

  exports() {
    if (!this.instance) {
      const m = this.module();
      const t0 = performance.now();
      let instance = null;
      instance = new WebAssembly.Instance(m, moduleImports(m, () => instance.exports.memory));
      // A reactor-style WASI module initialises its runtime once, before the first call.
      if (typeof instance.exports._initialize === 'function') instance.exports._initialize();
      this.instance = instance;
      this.instances += 1;
      this.loadTimings.instantiateMs = performance.now() - t0;
    }
    return this.instance.exports;
  }

  /** Compiles and instantiates the module now (the container's init), not on a request. */
  warm() {
    this.exports();
    return this;
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
      // Either way the call left wasm mid-flight: the instance (and what it owned) is dropped.
      const interrupted =
        e instanceof TransformFailed
          ? { status: e.status, error: e.message }
          : e instanceof WebAssembly.RuntimeError || e instanceof RangeError || e instanceof WasiExit
            ? { status: 500, error: `transform trapped (${e.message}); module re-instantiated` }
            : null;
      if (!interrupted) throw e;
      this.instance = null;
      owned = [];
      return { status: interrupted.status, meta: { error: interrupted.error }, body: Buffer.alloc(0) };
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
      return x.edge_transform(i, il, q, ql, limits.maxSourcePixels, limits.maxSourceBytes, limits.maxWidth || 0, limits.maxHeight || 0, limits.defaultQuality);
    });
    return { status: r.status, body: r.body, ...r.meta };
  }

  /**
   * Decodes `input` as the transform does before resizing (JPEG scaled in the IDCT to at
   * least minWidth x minHeight; 0 x 0: full size): `{status: 200, body (pixels), width,
   * height, channels, alpha, orientation, iccBytes}` or `{status, error}`. Not used by the
   * handler: the native-vs-wasm equality test compares it with the native build.
   */
  decode(input, minWidth = 0, minHeight = 0) {
    const r = this.call((x, put) => {
      const [i, il] = put(input);
      return x.edge_decode(i, il, minWidth, minHeight);
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
