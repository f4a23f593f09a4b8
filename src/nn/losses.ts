// Loss functions, as in MLX: a loss per example, then the reduction asked for.
import { publicOp } from "../frontend/context.js";
import * as sm from "../index.js";

export type Reduction = "none" | "mean" | "sum";

export interface LossOptions {
  /** "mean" (the default) or "sum" over every example, or "none" for the loss of each. */
  readonly reduction?: Reduction;
}

export interface CrossEntropyOptions extends LossOptions {
  /** The axis of the classes in the logits (default -1). */
  readonly axis?: number;
}

// Types as every smelt message writes them: `f32[2,3]`.
const SHORT: Record<sm.DType, string> = { float32: "f32", float16: "f16", bfloat16: "bf16", int32: "i32", uint32: "u32", bool: "bool" };
const typeOf = (a: sm.Array): string => `${SHORT[a.dtype]}[${a.shape.join(",")}]`;

function reduce(loss: sm.Array, reduction: Reduction): sm.Array {
  switch (reduction) {
    case "none":
      return loss;
    case "mean":
      return sm.mean(loss);
    case "sum":
      return sm.sum(loss);
    default:
      reduction satisfies never;
      throw new sm.SmeltError(`reduction must be "none", "mean" or "sum", got ${JSON.stringify(reduction)}`);
  }
}

/**
 * Cross-entropy of `logits` (unnormalized log-probabilities, classes along `axis`) against
 * `targets`, which are either integer class indices of the logits' shape without `axis`
 * (`logsumexp(logits) - logits[target]`) or probabilities of the logits' shape
 * (`-sum(targets * logSoftmax(logits))`).
 */
export function crossEntropy(logits: sm.Array, targets: sm.Array, opts: CrossEntropyOptions = {}): sm.Array {
  return publicOp("nn.losses.crossEntropy", () => {
    const rank = logits.ndim;
    const given = opts.axis ?? -1;
    const axis = given < 0 ? given + rank : given;
    if (!Number.isInteger(given) || axis < 0 || axis >= rank) {
      throw new sm.ShapeError(`axis ${given} is out of range for logits ${typeOf(logits)}`);
    }
    let loss: sm.Array;
    if (targets.dtype === "int32" || targets.dtype === "uint32") {
      const want = logits.shape.filter((_, i) => i !== axis);
      if (!sameShape(targets.shape, want)) {
        throw new sm.ShapeError(
          `class targets ${typeOf(targets)} must have the shape of logits ${typeOf(logits)} without axis ${axis}, [${want.join(",")}]`,
        );
      }
      const picked = sm.squeeze(sm.takeAlongAxis(logits, sm.expandDims(targets, axis), axis), axis);
      loss = sm.logsumexp(logits, axis).sub(picked);
    } else if (targets.dtype === "bool") {
      throw new sm.DTypeError(`targets ${typeOf(targets)} must be integer classes or float probabilities`);
    } else {
      if (!sameShape(targets.shape, logits.shape)) {
        throw new sm.ShapeError(
          `probability targets ${typeOf(targets)} must have the shape of logits ${typeOf(logits)} (or be integer classes)`,
        );
      }
      loss = sm.sum(targets.mul(sm.logSoftmax(logits, axis)), axis).neg();
    }
    return reduce(loss, opts.reduction ?? "mean");
  });
}

/** Mean squared error: `(predictions - targets)^2`, reduced; both of the same shape. */
export function mse(predictions: sm.Array, targets: sm.Array, opts: LossOptions = {}): sm.Array {
  return publicOp("nn.losses.mse", () => {
    if (!sameShape(predictions.shape, targets.shape)) {
      throw new sm.ShapeError(`predictions ${typeOf(predictions)} and targets ${typeOf(targets)} differ in shape`);
    }
    return reduce(sm.square(predictions.sub(targets)), opts.reduction ?? "mean");
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
