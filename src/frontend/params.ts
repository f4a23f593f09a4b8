// Parameter names for IR text: a traced function's params are named after the user's.

// Any function's source can be read; its signature does not matter here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;

/** The names of `fn`'s simple parameters, from its source (undefined where there is none). */
export function paramNames(fn: AnyFunction): (string | undefined)[] {
  const src = Function.prototype.toString.call(fn);
  const m = /^(?:async\s*)?(?:function\b[^(]*)?\(([^)]*)\)/.exec(src) ?? /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (!m) return [];
  return m[1]!.split(",").map((p) => {
    const s = p.trim();
    return /^[A-Za-z_$][\w$]*$/.test(s) ? s : undefined;
  });
}
