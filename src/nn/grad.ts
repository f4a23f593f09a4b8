// `nn.valueAndGrad(model, fn)`: `sm.valueAndGrad` with respect to a model's trainable parameters.
// The parameters become the differentiated argument of a wrapper that puts them into the model
// for the duration of the call, so `fn` reads the model as usual.
import * as sm from "../index.js";
import type { Module, Params } from "./module.js";

/**
 * A function of `fn`'s arguments returning `[value, grads]`, where `value` is what `fn` returns
 * (a float scalar; `[loss, aux]` with `hasAux`) and `grads` the gradient of the loss with
 * respect to `model.trainableParameters()`, a tree of that structure. The model's parameters
 * are the same before and after the call.
 */
export function valueAndGrad<A extends unknown[]>(
  model: Module,
  fn: (...args: A) => sm.Array,
  opts?: { readonly hasAux?: false },
): (...args: A) => [sm.Array, Params];
export function valueAndGrad<A extends unknown[], X>(
  model: Module,
  fn: (...args: A) => readonly [sm.Array, X],
  opts: { readonly hasAux: true },
): (...args: A) => [[sm.Array, X], Params];
export function valueAndGrad<A extends unknown[]>(
  model: Module,
  fn: (...args: A) => unknown,
  opts: sm.GradOptions = {},
): (...args: A) => [unknown, Params] {
  const withParams = (params: Params, ...args: A): unknown => {
    const saved = model.trainableParameters();
    model.update(params);
    try {
      return fn(...args);
    } finally {
      model.update(saved);
    }
  };
  // IR dumps and errors name the user's function, not the wrapper.
  Object.defineProperty(withParams, "name", { value: fn.name || "loss" });
  const vg = sm.valueAndGrad(withParams, 0, opts);
  return (...args: A) => vg(model.trainableParameters(), ...args) as [unknown, Params];
}
