// The Web Worker API over node:worker_threads, as far as jax-js's wasm backend uses it: it runs
// kernels on a pool of `new Worker(blobUrl)` sharing one WebAssembly.Memory when `Worker` and
// SharedArrayBuffer exist, and Node has no global `Worker`. Without this shim jax-js runs on one
// thread under Node; with it, it runs as in a browser with cross-origin isolation.
import { resolveObjectURL } from "node:buffer";
import { availableParallelism } from "node:os";
import { Worker as NodeWorker } from "node:worker_threads";

// Runs in the worker: defines `self` and `postMessage`, then evaluates the worker's script (sent
// as a Blob first), replaying what arrived while it loaded. jax-js never shuts its pool down:
// the bench's child process exits when its job is done.
const BOOT = `
const { parentPort } = require("node:worker_threads");
globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m);
const early = [];
let loaded = false;
parentPort.on("message", async (m) => {
  if (!loaded && m && m.__script) {
    (0, eval)(await m.__script.text());
    loaded = true;
    for (const e of early.splice(0)) self.onmessage({ data: e });
  } else if (!loaded) {
    early.push(m);
  } else {
    self.onmessage({ data: m });
  }
});
`;

type Listener = ((e: { data: unknown }) => void) | null;

class WebWorker {
  onmessage: Listener = null;
  onerror: ((e: Error) => void) | null = null;
  readonly #worker: NodeWorker;

  constructor(url: string | URL) {
    const script = resolveObjectURL(String(url));
    if (!script) throw new Error(`web-worker shim: only blob: URLs are supported, got ${String(url)}`);
    this.#worker = new NodeWorker(BOOT, { eval: true });
    this.#worker.on("message", (data: unknown) => this.onmessage?.({ data }));
    this.#worker.on("error", (e: Error) => this.onerror?.(e));
    this.#worker.postMessage({ __script: script });
  }

  postMessage(message: unknown): void {
    this.#worker.postMessage(message);
  }

  terminate(): void {
    void this.#worker.terminate();
  }
}

/** Installs the shim; returns the number of workers jax-js will start. */
export function installWebWorker(): number {
  const threads = availableParallelism();
  Object.assign(globalThis, { Worker: WebWorker });
  // jax-js sizes its pool from navigator.hardwareConcurrency (4 without it); Node 20 has no navigator.
  if (!("navigator" in globalThis)) Object.assign(globalThis, { navigator: { hardwareConcurrency: threads } });
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? threads;
}
