// The optimizer base: a pure `apply(params, grads, state) -> [newParams, newState]` (usable
// inside `sm.compile`, where every array is an argument or a result) and `update(model, grads)`
// that keeps the state in the optimizer for eager training loops.
import { publicOp } from "../frontend/context.js";
import * as sm from "../index.js";
import type { Module, Params } from "../nn/module.js";

/**
 * The learning rate: a number, or a schedule from the number of updates done before this one
 * (an int32 scalar, an array so that a compiled step follows it) to the rate.
 */
export type LearningRate = number | ((step: sm.Array) => sm.Array | number);

/** The state of one parameter: arrays by name (`{ m, v }` for Adam, `{}` for plain SGD). */
export type SlotState = { [name: string]: sm.Array };

/**
 * An optimizer's state as a tree: `step`, the number of updates done (int32 scalar), and
 * `params`, the parameters' tree with each array replaced by its `SlotState`.
 */
export interface OptimizerState {
  step: sm.Array;
  params: Params;
}

type Tree = sm.tree.TreeDef;

export abstract class Optimizer<S extends SlotState = SlotState> {
  learningRate: LearningRate;
  #state: OptimizerState | undefined;

  constructor(learningRate: LearningRate) {
    this.learningRate = publicOp(`optim.${new.target.name}`, () => {
      if (typeof learningRate !== "function" && !(typeof learningRate === "number" && Number.isFinite(learningRate))) {
        throw new sm.SmeltError(`learningRate must be a finite number or a schedule function, got ${String(learningRate)}`);
      }
      return learningRate;
    });
  }

  /** The state of one parameter before the first update. */
  protected abstract initSlot(param: sm.Array): S;

  /** One parameter's new value and state; `t` is this update's 1-based count (float32 scalar). */
  protected abstract applySlot(param: sm.Array, grad: sm.Array, slot: S, lr: sm.Array | number, t: sm.Array): [sm.Array, S];

  /** The state after `init` or the last `update` (a tree: evaluate it with the parameters). */
  get state(): OptimizerState {
    return publicOp(`${this.constructor.name}.state`, () => {
      if (!this.#state) throw new sm.SmeltError("has no state yet: call init(params) or update(model, grads) first");
      return this.#state;
    });
  }

  set state(s: OptimizerState) {
    this.#state = s;
  }

  /** A fresh state for `params` (zero updates done), which also becomes `this.state`. */
  init(params: Params): OptimizerState {
    const [leaves, def] = publicOp(`${this.constructor.name}.init`, () => paramLeaves(params));
    this.#state = {
      step: sm.zeros([], "int32"),
      params: sm.tree.unflatten(def, leaves.map((p) => this.initSlot(p))) as Params,
    };
    return this.#state;
  }

  /**
   * One step, purely: the new parameters (of `params`' structure and dtypes) and the new state.
   * `grads` must have the structure of `params`, `state` come from `init(params)` or a previous `apply`.
   */
  apply(params: Params, grads: Params, state: OptimizerState): [Params, OptimizerState] {
    const { leaves, def, gradLeaves, slots } = publicOp(`${this.constructor.name}.apply`, () => checkApply(params, grads, state));
    const t = sm.astype(state.step.add(1), "float32");
    const lr = typeof this.learningRate === "function" ? this.learningRate(state.step) : this.learningRate;
    const newParams: sm.Array[] = [];
    const newSlots: S[] = [];
    leaves.forEach((p, i) => {
      const [q, s] = this.applySlot(p, gradLeaves[i]!, slots[i] as S, lr, t);
      // A float32 learning rate or count must not promote float16 parameters.
      newParams.push(q.dtype === p.dtype ? q : sm.astype(q, p.dtype));
      newSlots.push(s);
    });
    return [
      sm.tree.unflatten(def, newParams) as Params,
      { step: state.step.add(1), params: sm.tree.unflatten(def, newSlots) as Params },
    ];
  }

  /**
   * One eager step on `model`: `grads` (of the structure of `model.trainableParameters()`, as
   * `nn.valueAndGrad` returns them) update its trainable parameters and the optimizer's state
   * (initialized on the first call). Nothing is computed yet: `sm.eval(model.parameters(), opt.state)`.
   */
  update(model: Module, grads: Params): void {
    const params = model.trainableParameters();
    const [newParams, newState] = this.apply(params, grads, this.#state ?? this.init(params));
    this.#state = newState;
    model.update(newParams);
  }
}

interface Checked {
  readonly leaves: sm.Array[];
  readonly def: Tree;
  readonly gradLeaves: sm.Array[];
  readonly slots: SlotState[];
}

function checkApply(params: Params, grads: Params, state: OptimizerState): Checked {
  const [leaves, def] = paramLeaves(params);
  const [gradLeaves, gradDef] = sm.tree.flatten(grads);
  if (!sm.tree.treedefEqual(def, gradDef)) {
    throw new sm.SmeltError(`the gradients have structure ${sm.tree.treedefString(gradDef)}, the parameters ${sm.tree.treedefString(def)}`);
  }
  const paths = sm.tree.leafPaths(def);
  gradLeaves.forEach((g, i) => {
    if (!(g instanceof sm.Array)) throw new sm.SmeltError(`the gradient of ${sm.tree.pathString(paths[i]!, "params")} is not an array`);
  });
  return { leaves, def, gradLeaves: gradLeaves as sm.Array[], slots: slotsOf(state, paths) };
}

function paramLeaves(params: Params): [sm.Array[], Tree] {
  const [leaves, def] = sm.tree.flatten(params);
  const paths = sm.tree.leafPaths(def);
  leaves.forEach((x, i) => {
    if (!(x instanceof sm.Array)) throw new sm.SmeltError(`parameter ${sm.tree.pathString(paths[i]!, "params")} is not an array`);
  });
  return [leaves as sm.Array[], def];
}

/** The slot state of each parameter leaf (in leaf order), found by the leaf's path. */
function slotsOf(state: OptimizerState, paths: readonly (readonly sm.tree.PathStep[])[]): SlotState[] {
  if (typeof state !== "object" || state === null || !(state.step instanceof sm.Array)) {
    throw new sm.SmeltError("the state must be { step, params } as init(params) returns it");
  }
  return paths.map((path) => {
    let x: unknown = state.params;
    for (const k of path) x = typeof x === "object" && x !== null ? (x as Record<string | number, unknown>)[k] : undefined;
    if (typeof x !== "object" || x === null || x instanceof sm.Array || globalThis.Array.isArray(x)) {
      throw new sm.SmeltError(
        `the state has no entry for ${sm.tree.pathString(path, "params")}: it was made for other parameters (call init again)`,
      );
    }
    return x as SlotState;
  });
}
