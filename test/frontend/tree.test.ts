import { describe, expect, test } from "vitest";
import * as sm from "../../src/index.js";

describe("sm.tree", () => {
  test("flatten lists leaves depth first, keys in insertion order", () => {
    const a = sm.array([1]);
    const [leaves, def] = sm.tree.flatten({ b: [1, a], a: { x: null, y: true } });
    expect(leaves).toEqual([1, a, null, true]);
    expect(leaves[1]).toBe(a);
    expect(sm.tree.leafCount(def)).toBe(4);
  });

  test("unflatten rebuilds the structure", () => {
    const tree = { w: [1, 2, { z: 3 }], b: undefined, s: "name" };
    const [leaves, def] = sm.tree.flatten(tree);
    expect(sm.tree.unflatten(def, leaves)).toEqual(tree);
    expect(sm.tree.unflatten(def, [10, 20, 30, 40, 50])).toEqual({ w: [10, 20, { z: 30 }], b: 40, s: 50 });
    expect(() => sm.tree.unflatten(def, [1])).toThrow(sm.SmeltError);
  });

  test("a bare leaf and empty containers", () => {
    expect(sm.tree.flatten(5)[0]).toEqual([5]);
    const [leaves, def] = sm.tree.flatten({ a: [], b: {} });
    expect(leaves).toEqual([]);
    expect(sm.tree.unflatten(def, [])).toEqual({ a: [], b: {} });
  });

  test("class instances are leaves, not containers", () => {
    class P {
      x = 1;
    }
    const p = new P();
    expect(sm.tree.flatten([p])[0]).toEqual([p]);
  });

  test("structures compare by kind, keys (in order) and leaf positions", () => {
    const d = (t: unknown) => sm.tree.flatten(t)[1];
    expect(sm.tree.treedefEqual(d({ a: 1, b: [2] }), d({ a: "x", b: [null] }))).toBe(true);
    expect(sm.tree.treedefEqual(d({ a: 1, b: 2 }), d({ b: 1, a: 2 }))).toBe(false);
    expect(sm.tree.treedefEqual(d([1, 2]), d([1, [2]]))).toBe(false);
    expect(sm.tree.treedefEqual(d([1]), d({ 0: 1 }))).toBe(false);
    expect(sm.tree.treedefString(d({ a: [1, 2] }))).toBe('{"a":[*,*]}');
  });

  test("map over one or several trees of the same structure", () => {
    const t = { w: sm.array([1, 2]), b: [sm.array([3])] };
    const doubled = sm.tree.map((x: sm.Array) => x.mul(2), t) as typeof t;
    expect(doubled.w.tolist()).toEqual([2, 4]);
    expect(doubled.b[0]!.tolist()).toEqual([6]);
    const sum = sm.tree.map((x: number, y: number) => x + y, { a: 1, b: [2] }, { a: 10, b: [20] });
    expect(sum).toEqual({ a: 11, b: [22] });
    expect(() => sm.tree.map((x: number) => x, { a: 1 }, { b: 1 })).toThrow(/tree.map/);
  });

  test("leaf paths", () => {
    const [, def] = sm.tree.flatten({ w: [1, { k: 2 }], "odd key": 3 });
    const paths = sm.tree.leafPaths(def);
    expect(paths).toEqual([["w", 0], ["w", 1, "k"], ["odd key"]]);
    expect(paths.map((p) => sm.tree.pathString(p, "params"))).toEqual(['params.w[0]', "params.w[1].k", 'params["odd key"]']);
  });
});
