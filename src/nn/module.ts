// `nn.Module`: a model is a plain JavaScript object graph. Its parameters are the `sm.Array`s
// found in its own enumerable properties (directly, in plain objects and lists, and in child
// modules), so a layer only assigns `this.weight = ...` and is done. Trees returned by
// `parameters()` mirror that graph with property names as keys, which is what `sm.valueAndGrad`,
// `sm.compile` and the optimizers take.
import { publicOp } from "../frontend/context.js";
import * as sm from "../index.js";

/** A tree of parameters: arrays in plain objects and lists, keyed as the module's properties. */
export type ParamTree = sm.Array | Params | readonly ParamTree[];
export interface Params {
  [key: string]: ParamTree;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Whether a property value holds parameters or modules (and so appears in the trees). */
function holdsParams(x: unknown): boolean {
  if (x instanceof sm.Array || x instanceof Module) return true;
  if (globalThis.Array.isArray(x)) return x.some(holdsParams);
  if (isPlainObject(x)) return Object.values(x).some(holdsParams);
  return false;
}

/**
 * The tree of `x`'s arrays. `frozen`: the arrays directly in `x` (not in its modules) are left
 * out. A list keeps one entry per element (`{}` for an element without parameters, as a
 * function in a Sequential) so that positions match the list's.
 */
function collect(x: unknown, frozen: boolean, trainable: boolean): ParamTree | undefined {
  if (x instanceof sm.Array) return frozen ? undefined : x;
  if (x instanceof Module) return x.collectOwn(trainable);
  if (globalThis.Array.isArray(x)) {
    if (!x.some(holdsParams)) return undefined;
    return x.map((e: unknown) => collect(e, frozen, trainable) ?? {});
  }
  if (isPlainObject(x)) {
    const out: Params = {};
    let any = false;
    for (const [k, v] of Object.entries(x)) {
      const t = collect(v, frozen, trainable);
      if (t !== undefined) {
        out[k] = t;
        any = true;
      }
    }
    return any ? out : undefined;
  }
  return undefined;
}

function describe(x: unknown): string {
  if (x instanceof sm.Array) return `an array ${x.dtype}[${x.shape.join(",")}]`;
  if (x instanceof Module) return `a module (${x.constructor.name})`;
  if (globalThis.Array.isArray(x)) return `a list of ${x.length}`;
  if (isPlainObject(x)) return "an object";
  return x === null || x === undefined ? String(x) : typeof x;
}

/**
 * Writes the arrays of `tree` into `holder[key]` (and below). Keys missing from `tree` are left
 * as they are (a tree of trainable parameters leaves the frozen ones alone).
 */
function assign(holder: Record<string | number, unknown>, key: string | number, tree: unknown, where: string): void {
  const current = holder[key];
  if (current instanceof Module) {
    current.update(tree as Params);
    return;
  }
  if (tree instanceof sm.Array) {
    if (!(current instanceof sm.Array)) {
      throw new sm.SmeltError(`${where} is ${describe(current)}, not a parameter: cannot assign ${describe(tree)}`);
    }
    holder[key] = tree;
    return;
  }
  if (globalThis.Array.isArray(tree)) {
    if (!globalThis.Array.isArray(current) || current.length !== tree.length) {
      throw new sm.SmeltError(`${where} is ${describe(current)}, the update has a list of ${tree.length}`);
    }
    tree.forEach((t: unknown, i) => assign(current as unknown[] as Record<number, unknown>, i, t, `${where}[${i}]`));
    return;
  }
  if (isPlainObject(tree)) {
    // `{}` stands for an element without parameters (a function in a Sequential's list).
    if (Object.keys(tree).length === 0) return;
    if (!isPlainObject(current)) {
      throw new sm.SmeltError(`${where} is ${describe(current)}, the update has an object`);
    }
    for (const [k, v] of Object.entries(tree)) {
      if (!(k in current)) throw new sm.SmeltError(`${where} has no property "${k}"`);
      assign(current, k, v, `${where}.${k}`);
    }
    return;
  }
  throw new sm.SmeltError(`the update for ${where} is ${describe(tree)}: expected an array, a list or an object`);
}

export class Module {
  // Private fields are not own enumerable properties, so the parameter walk never sees them.
  #training = true;
  /** Names of own properties whose arrays are frozen (not trainable). */
  readonly #frozen = new Set<string>();

  /**
   * The computation of the module. Subclasses define it with their own arguments; the base
   * class has none.
   */
  forward(..._args: never[]): unknown {
    return publicOp("Module.forward", () => {
      throw new sm.SmeltError(`${this.constructor.name} does not define forward()`);
    });
  }

  /** `forward` under another name, so a module reads as a function call: `model.call(x)`. */
  call(...args: Parameters<this["forward"]>): ReturnType<this["forward"]> {
    return (this.forward as (...a: unknown[]) => ReturnType<this["forward"]>)(...args);
  }

  get training(): boolean {
    return this.#training;
  }

  /** Training mode (the default) or evaluation mode (`flag = false`), for this module and its children. */
  train(flag = true): this {
    this.#training = flag;
    for (const child of this.children()) child.train(flag);
    return this;
  }

  /** Evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Every array of the module and its children, as a tree keyed by property names. */
  parameters(): Params {
    return this.collectOwn(false);
  }

  /** `parameters()` without the frozen ones. */
  trainableParameters(): Params {
    return this.collectOwn(true);
  }

  /** The tree of this module's own properties (children included); used by the walk. */
  collectOwn(trainable: boolean): Params {
    const out: Params = {};
    for (const [k, v] of Object.entries(this)) {
      const t = collect(v, trainable && this.#frozen.has(k), trainable);
      if (t !== undefined) out[k] = t;
    }
    return out;
  }

  /**
   * Replaces parameters by those of `params`, a tree of the structure of `parameters()` or of a
   * part of it (as `trainableParameters()` or an optimizer returns). Returns the module.
   */
  update(params: Params): this {
    publicOp("Module.update", () => {
      if (!isPlainObject(params)) {
        throw new sm.SmeltError(`expects a tree of parameters (a plain object), got ${describe(params)}`);
      }
      const self = this as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(params)) {
        if (!Object.prototype.hasOwnProperty.call(self, k)) {
          throw new sm.SmeltError(`${this.constructor.name} has no property "${k}"`);
        }
        assign(self, k, v, `${this.constructor.name}.${k}`);
      }
    });
    return this;
  }

  /**
   * Leaves parameters out of `trainableParameters()`: with `keys`, those own properties of this
   * module; without, every parameter of this module and of its children.
   */
  freeze(keys?: readonly string[]): this {
    publicOp("Module.freeze", () => this.setFrozen(true, keys));
    return this;
  }

  /** Undoes `freeze` (same arguments). */
  unfreeze(keys?: readonly string[]): this {
    publicOp("Module.unfreeze", () => this.setFrozen(false, keys));
    return this;
  }

  private setFrozen(frozen: boolean, keys: readonly string[] | undefined): void {
    const names = keys ?? Object.keys(this).filter((k) => holdsParams((this as unknown as Record<string, unknown>)[k]));
    for (const k of names) {
      if (!Object.prototype.hasOwnProperty.call(this, k)) {
        throw new sm.SmeltError(`${this.constructor.name} has no property "${k}"`);
      }
      if (frozen) this.#frozen.add(k);
      else this.#frozen.delete(k);
    }
    if (keys === undefined) for (const child of this.children()) child.setFrozen(frozen, undefined);
  }

  /** The modules directly held by this one (in properties, lists and plain objects). */
  children(): Module[] {
    const out: Module[] = [];
    const walk = (x: unknown): void => {
      if (x instanceof Module) out.push(x);
      else if (globalThis.Array.isArray(x)) x.forEach(walk);
      else if (isPlainObject(x)) Object.values(x).forEach(walk);
    };
    Object.values(this).forEach(walk);
    return out;
  }
}
