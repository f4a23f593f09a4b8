// Trees (pytrees): plain objects and JavaScript arrays are containers; everything else (sm.Array,
// numbers, booleans, null, undefined, strings, class instances) is a leaf. Object keys keep
// their insertion order; two trees have the same structure when their containers, keys (in
// order) and leaf positions are equal.
import { SmeltError } from "../ir/errors.js";

export type TreeDef =
  | { readonly kind: "leaf" }
  | { readonly kind: "list"; readonly children: readonly TreeDef[] }
  | { readonly kind: "dict"; readonly keys: readonly string[]; readonly children: readonly TreeDef[] };

/** One step of a path from the root to a leaf: an object key or a list index. */
export type PathStep = string | number;

const LEAF: TreeDef = { kind: "leaf" };

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

function flattenInto(tree: unknown, leaves: unknown[]): TreeDef {
  if (globalThis.Array.isArray(tree)) {
    return { kind: "list", children: tree.map((t: unknown) => flattenInto(t, leaves)) };
  }
  if (isPlainObject(tree)) {
    const keys = Object.keys(tree);
    return { kind: "dict", keys, children: keys.map((k) => flattenInto(tree[k], leaves)) };
  }
  leaves.push(tree);
  return LEAF;
}

/** The leaves of `tree` in order (depth first, keys in insertion order) and its structure. */
export function flatten(tree: unknown): [unknown[], TreeDef] {
  const leaves: unknown[] = [];
  const def = flattenInto(tree, leaves);
  return [leaves, def];
}

export function leafCount(def: TreeDef): number {
  return def.kind === "leaf" ? 1 : def.children.reduce((n, c) => n + leafCount(c), 0);
}

/** The tree of structure `def` holding `leaves` in order. */
export function unflatten(def: TreeDef, leaves: readonly unknown[]): unknown {
  const want = leafCount(def);
  if (leaves.length !== want) {
    throw new SmeltError(`the structure has ${want} leaves, got ${leaves.length}`, { op: "tree.unflatten" });
  }
  let next = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case "leaf":
        return leaves[next++];
      case "list":
        return d.children.map(build);
      case "dict": {
        const out: Record<string, unknown> = {};
        d.keys.forEach((k, i) => {
          out[k] = build(d.children[i]!);
        });
        return out;
      }
      default:
        return d satisfies never;
    }
  };
  return build(def);
}

export function treedefEqual(a: TreeDef, b: TreeDef): boolean {
  if (a.kind === "leaf" || b.kind === "leaf") return a.kind === b.kind;
  if (a.kind !== b.kind || a.children.length !== b.children.length) return false;
  if (a.kind === "dict" && b.kind === "dict" && !a.keys.every((k, i) => k === b.keys[i])) return false;
  return a.children.every((c, i) => treedefEqual(c, b.children[i]!));
}

/** A canonical text of the structure (equal exactly when `treedefEqual`): `[*,{"w":*}]`. */
export function treedefString(def: TreeDef): string {
  switch (def.kind) {
    case "leaf":
      return "*";
    case "list":
      return `[${def.children.map(treedefString).join(",")}]`;
    case "dict":
      return `{${def.keys.map((k, i) => `${JSON.stringify(k)}:${treedefString(def.children[i]!)}`).join(",")}}`;
    default:
      return def satisfies never;
  }
}

/** The path of every leaf, in leaf order. */
export function leafPaths(def: TreeDef): PathStep[][] {
  const out: PathStep[][] = [];
  const walk = (d: TreeDef, path: PathStep[]): void => {
    switch (d.kind) {
      case "leaf":
        out.push(path);
        return;
      case "list":
        d.children.forEach((c, i) => walk(c, [...path, i]));
        return;
      case "dict":
        d.children.forEach((c, i) => walk(c, [...path, d.keys[i]!]));
        return;
      default:
        d satisfies never;
    }
  };
  walk(def, []);
  return out;
}

/** `root[0].w` style text of a path. */
export function pathString(path: readonly PathStep[], root = ""): string {
  let s = root;
  for (const p of path) {
    s += typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `${s ? "." : ""}${p}` : `[${JSON.stringify(p)}]`;
  }
  return s;
}

/**
 * Applies `fn` to the leaves of `tree` (and the corresponding leaves of `rest`, which must have
 * the same structure) and returns a tree of that structure holding the results.
 */
// Leaves of an untyped tree can be anything; `any` lets `map((x) => x.mul(2), params)` read
// naturally in user code.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function map(fn: (...leaves: any[]) => unknown, tree: unknown, ...rest: unknown[]): unknown {
  const [leaves, def] = flatten(tree);
  const others = rest.map((t, i) => {
    const [l, d] = flatten(t);
    if (!treedefEqual(def, d)) {
      throw new SmeltError(`tree ${i + 1} has structure ${treedefString(d)}, the first ${treedefString(def)}`, {
        op: "tree.map",
      });
    }
    return l;
  });
  return unflatten(
    def,
    leaves.map((leaf, j) => fn(leaf, ...others.map((l) => l[j]))),
  );
}
