// Layers: Linear, Dropout and Sequential, as in MLX (weights `[out, in]`, uniform initialization,
// inverted dropout, modules training by default).
import { publicOp } from "../frontend/context.js";
import * as sm from "../index.js";
import { Module } from "./module.js";

export interface LinearOptions {
  /** Whether the layer adds a bias (default true). */
  readonly bias?: boolean;
}

/**
 * `y = x @ weight.T + bias`, with `weight: [outDims, inDims]` and `bias: [outDims]` drawn from
 * `uniform(-1/sqrt(inDims), 1/sqrt(inDims))` (the global random key: `sm.random.seed` fixes them).
 */
export class Linear extends Module {
  weight: sm.Array;
  bias?: sm.Array;

  constructor(inDims: number, outDims: number, opts: LinearOptions = {}) {
    super();
    const k = 1 / Math.sqrt(inDims);
    this.weight = publicOp("nn.Linear", () => {
      for (const [what, n] of [
        ["inDims", inDims],
        ["outDims", outDims],
      ] as const) {
        if (!Number.isInteger(n) || n < 1) throw new sm.ShapeError(`${what} must be a positive integer, got ${n}`);
      }
      return sm.random.uniform([outDims, inDims], { low: -k, high: k });
    });
    if (opts.bias ?? true) this.bias = sm.random.uniform([outDims], { low: -k, high: k });
    // Without a bias the property must not exist at all (not even as undefined), as the tree
    // walk and `update` go by own properties.
    else delete this.bias;
  }

  override forward(x: sm.Array): sm.Array {
    return publicOp("nn.Linear", () => {
      const y = sm.matmul(x, this.weight.T);
      return this.bias ? y.add(this.bias) : y;
    });
  }
}

export interface DropoutOptions {
  /** The random key of the mask; without one, the global key (fixed when a compiled function is traced). */
  readonly key?: sm.Array;
}

/**
 * Inverted dropout: in training mode each element is zeroed with probability `p` and the others
 * are scaled by `1 / (1 - p)`, so the expected output is the input; in evaluation mode (or with
 * `p = 0`) the input is returned as it is.
 */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = publicOp("nn.Dropout", () => {
      if (!(p >= 0 && p < 1)) throw new sm.SmeltError(`p must be in [0, 1), got ${p}`);
      return p;
    });
  }

  override forward(x: sm.Array, opts: DropoutOptions = {}): sm.Array {
    if (!this.training || this.p === 0) return x;
    return publicOp("nn.Dropout", () => {
      const keep = sm.random.bernoulli(1 - this.p, x.shape, opts.key ? { key: opts.key } : {});
      return sm.where(keep, x.mul(1 / (1 - this.p)), 0);
    });
  }
}

/** A layer of a Sequential: a module with a one-argument forward, or a function (as `nn.relu`). */
export type Layer = (Module & { forward(x: sm.Array): sm.Array }) | ((x: sm.Array) => sm.Array);

/** The layers applied in order; their parameters are `{ layers: [...] }`, `{}` for functions. */
export class Sequential extends Module {
  readonly layers: Layer[];

  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
  }

  override forward(x: sm.Array): sm.Array {
    let y = x;
    for (const layer of this.layers) y = layer instanceof Module ? layer.forward(y) : layer(y);
    return y;
  }
}
