import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";
import { expectError, vals } from "../frontend/support.js";

const { nn } = sm;

/** A module with parameters in every kind of place, and properties that are not parameters. */
class Block extends nn.Module {
  scale = sm.array([2]);
  name = "block";
  width = 3;
  proj = new nn.Linear(3, 2);
  heads = [sm.array([1, 2]), sm.array([3])];
  extra = { gain: sm.array([0.5]), tag: "x", inner: { shift: sm.array([1]) } };
  notes = { text: "no parameters here" };
  sizes = [1, 2, 3];

  override forward(x: sm.Array): sm.Array {
    return this.proj.forward(x.mul(this.scale));
  }
}

const shapesOf = (tree: unknown): unknown => sm.tree.map((a: sm.Array) => a.shape.join("x"), tree);

describe("parameters", () => {
  test("a Sequential's tree: a list entry per layer, {} for functions, no bias without one", () => {
    const model = new nn.Sequential(new nn.Linear(2, 3), nn.relu, new nn.Linear(3, 1, { bias: false }));
    expect(shapesOf(model.parameters())).toEqual({ layers: [{ weight: "3x2", bias: "3" }, {}, { weight: "1x3" }] });
    expect(Object.keys(model.layers[2]!)).not.toContain("bias");
  });

  test("arrays in properties, lists, plain objects and child modules; other properties ignored", () => {
    const b = new Block();
    expect(shapesOf(b.parameters())).toEqual({
      scale: "1",
      proj: { weight: "2x3", bias: "2" },
      heads: ["2", "1"],
      extra: { gain: "1", inner: { shift: "1" } },
    });
    // The leaves are the module's own arrays, not copies.
    const p = b.parameters() as { scale: sm.Array; proj: { weight: sm.Array } };
    expect(p.scale).toBe(b.scale);
    expect(p.proj.weight).toBe(b.proj.weight);
  });

  test("a list mixing parameters and other values keeps its positions", () => {
    class Mixed extends nn.Module {
      items = [sm.array([1]), "label", new nn.Linear(1, 1, { bias: false })];
    }
    expect(shapesOf(new Mixed().parameters())).toEqual({ items: ["1", {}, { weight: "1x1" }] });
  });
});

describe("update", () => {
  test("round trip: parameters() after update(tree) returns the tree's arrays", () => {
    const b = new Block();
    const fresh = sm.tree.map((a: sm.Array) => sm.full(a.shape, 7), b.parameters()) as sm.nn.Params;
    b.update(fresh);
    const [got] = sm.tree.flatten(b.parameters());
    const [want] = sm.tree.flatten(fresh);
    expect(got.length).toBe(want.length);
    got.forEach((a, i) => expect(a).toBe(want[i]));
    expect(vals(b.heads[0]!)).toEqual([7, 7]);
    expect(b.extra.tag).toBe("x");
  });

  test("a partial tree changes only what it names", () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), nn.relu, new nn.Linear(2, 1));
    const before = model.parameters() as { layers: { weight: sm.Array; bias: sm.Array }[] };
    const w = sm.zeros([1, 2]);
    model.update({ layers: [{}, {}, { weight: w }] });
    const after = model.parameters() as typeof before;
    expect(after.layers[2]!.weight).toBe(w);
    expect(after.layers[2]!.bias).toBe(before.layers[2]!.bias);
    expect(after.layers[0]!.weight).toBe(before.layers[0]!.weight);
  });

  test("unknown keys and mismatched structure are errors", () => {
    const lin = new nn.Linear(2, 2, { bias: false });
    expectError(() => lin.update({ bias: sm.zeros([2]) }), sm.SmeltError, "Module.update", ['Linear has no property "bias"']);
    expect(() => lin.update({ weight: { a: sm.zeros([2]) } })).toThrow(/Linear.weight is an array/);
    const seq = new nn.Sequential(new nn.Linear(1, 1));
    expect(() => seq.update({ layers: [{}, {}] })).toThrow(/list of 2/);
    // Inside a child module the error still names the caller's update.
    expectError(() => seq.update({ layers: [{ scale: sm.zeros([1]) }] }), sm.SmeltError, "Module.update", ['"scale"']);
  });
});

describe("freeze and train", () => {
  test("freeze() leaves every parameter out of trainableParameters; unfreeze() brings them back", () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), nn.relu, new nn.Linear(2, 1));
    model.freeze();
    expect(model.trainableParameters()).toEqual({ layers: [{}, {}, {}] });
    expect(shapesOf(model.parameters())).toEqual({ layers: [{ weight: "2x2", bias: "2" }, {}, { weight: "1x2", bias: "1" }] });
    model.unfreeze();
    expect(shapesOf(model.trainableParameters())).toEqual(shapesOf(model.parameters()));
  });

  test("freezing one layer or one key", () => {
    const first = new nn.Linear(2, 2);
    const last = new nn.Linear(2, 1);
    const model = new nn.Sequential(first, last);
    first.freeze();
    last.freeze(["bias"]);
    expect(shapesOf(model.trainableParameters())).toEqual({ layers: [{}, { weight: "1x2" }] });
    first.unfreeze(["weight"]);
    expect(shapesOf(model.trainableParameters())).toEqual({ layers: [{ weight: "2x2" }, { weight: "1x2" }] });
    expect(() => last.freeze(["nope"])).toThrow(sm.SmeltError);
  });

  test("train(false) and eval() reach every child; modules start in training mode", () => {
    const drop = new nn.Dropout(0.5);
    const b = new Block();
    const model = new nn.Sequential(new nn.Linear(2, 2), drop);
    class Outer extends nn.Module {
      parts = { model, b };
    }
    const outer = new Outer();
    expect([outer.training, drop.training, b.proj.training]).toEqual([true, true, true]);
    outer.eval();
    expect([outer.training, model.training, drop.training, b.training, b.proj.training]).toEqual([false, false, false, false, false]);
    outer.train();
    expect([outer.training, drop.training, b.proj.training]).toEqual([true, true, true]);
  });

  test("call is forward; a module without forward says so", () => {
    const b = new Block();
    const x = sm.array([[1, 2, 3]]);
    expect(vals(b.call(x))).toEqual(vals(b.forward(x)));
    expect(() => new nn.Module().call()).toThrow(/Module does not define forward/);
  });
});
