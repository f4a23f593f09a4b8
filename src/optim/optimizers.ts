// SGD (with momentum, weight decay, Nesterov), Adam and AdamW, with the update rules of MLX and
// PyTorch (state starts at zero, so the first momentum step is the gradient itself).
import { publicOp } from "../frontend/context.js";
import * as sm from "../index.js";
import { type LearningRate, Optimizer } from "./optimizer.js";

export interface SGDOptions {
  readonly learningRate: LearningRate;
  readonly momentum?: number;
  /** L2 penalty added to the gradient: `g + weightDecay * p`. */
  readonly weightDecay?: number;
  readonly nesterov?: boolean;
}

type Velocity = { v: sm.Array } | Record<string, never>;

function checkRange(op: string, what: string, x: number, lo: number, hi: number, hiOpen: boolean): number {
  return publicOp(op, () => {
    if (!(x >= lo && (hiOpen ? x < hi : x <= hi))) {
      throw new sm.SmeltError(`${what} must be in [${lo}, ${hi}${hiOpen ? ")" : "]"}, got ${x}`);
    }
    return x;
  });
}

/**
 * Stochastic gradient descent: `g = grad + weightDecay * p`, `v = momentum * v + g`,
 * `p -= lr * (nesterov ? g + momentum * v : v)` (without momentum, `p -= lr * g` and no state).
 */
export class SGD extends Optimizer<Velocity> {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(opts: SGDOptions) {
    super(opts.learningRate);
    this.momentum = checkRange("optim.SGD", "momentum", opts.momentum ?? 0, 0, Infinity, true);
    this.weightDecay = checkRange("optim.SGD", "weightDecay", opts.weightDecay ?? 0, 0, Infinity, true);
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && this.momentum === 0) {
      publicOp("optim.SGD", () => {
        throw new sm.SmeltError("nesterov needs a momentum > 0");
      });
    }
  }

  protected override initSlot(param: sm.Array): Velocity {
    return this.momentum > 0 ? { v: sm.zerosLike(param) } : {};
  }

  protected override applySlot(p: sm.Array, grad: sm.Array, slot: Velocity, lr: sm.Array | number): [sm.Array, Velocity] {
    const g = this.weightDecay > 0 ? grad.add(p.mul(this.weightDecay)) : grad;
    if (this.momentum === 0) return [p.sub(g.mul(lr)), {}];
    const v = (slot as { v: sm.Array }).v.mul(this.momentum).add(g);
    const step = this.nesterov ? g.add(v.mul(this.momentum)) : v;
    return [p.sub(step.mul(lr)), { v }];
  }
}

export interface AdamOptions {
  readonly learningRate: LearningRate;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  readonly betas?: readonly [number, number];
  readonly eps?: number;
}

type Moments = { m: sm.Array; v: sm.Array };

/**
 * Adam with bias correction: `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`,
 * `p -= lr * (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)` at the t-th update.
 */
export class Adam extends Optimizer<Moments> {
  readonly betas: readonly [number, number];
  readonly eps: number;

  constructor(opts: AdamOptions) {
    super(opts.learningRate);
    const name = `optim.${new.target.name}`;
    const [b1, b2] = opts.betas ?? [0.9, 0.999];
    this.betas = [checkRange(name, "betas[0]", b1, 0, 1, true), checkRange(name, "betas[1]", b2, 0, 1, true)];
    this.eps = checkRange(name, "eps", opts.eps ?? 1e-8, 0, Infinity, true);
  }

  protected override initSlot(param: sm.Array): Moments {
    return { m: sm.zerosLike(param), v: sm.zerosLike(param) };
  }

  protected override applySlot(p: sm.Array, g: sm.Array, slot: Moments, lr: sm.Array | number, t: sm.Array): [sm.Array, Moments] {
    const [b1, b2] = this.betas;
    const m = slot.m.mul(b1).add(g.mul(1 - b1));
    const v = slot.v.mul(b2).add(g.square().mul(1 - b2));
    const mHat = m.div(sm.sub(1, sm.pow(b1, t)));
    const denom = v.sqrt().div(sm.sqrt(sm.sub(1, sm.pow(b2, t)))).add(this.eps);
    return [p.sub(mHat.div(denom).mul(lr)), { m, v }];
  }
}

export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay (default 0.01): `p *= 1 - lr * weightDecay` before the Adam step. */
  readonly weightDecay?: number;
}

/** Adam with decoupled weight decay (Loshchilov & Hutter), as MLX and PyTorch apply it. */
export class AdamW extends Adam {
  readonly weightDecay: number;

  constructor(opts: AdamWOptions) {
    super(opts);
    this.weightDecay = checkRange("optim.AdamW", "weightDecay", opts.weightDecay ?? 0.01, 0, Infinity, true);
  }

  protected override applySlot(p: sm.Array, g: sm.Array, slot: Moments, lr: sm.Array | number, t: sm.Array): [sm.Array, Moments] {
    const decayed = p.mul(sm.sub(1, sm.mul(lr, this.weightDecay)));
    return super.applySlot(decayed, g, slot, lr, t);
  }
}
