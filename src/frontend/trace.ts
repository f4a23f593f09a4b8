// A trace in progress: `compile` calls the user's function on placeholder arrays, and every op
// they meet extends the lazy graph, so the graph reachable from the results is the traced func.
export class Trace {
  /** False once the traced function has returned; its placeholders then must not be used. */
  active = true;
  constructor(readonly name: string) {}
}

const stack: Trace[] = [];

export function activeTrace(): Trace | undefined {
  return stack[stack.length - 1];
}

export function withTrace<T>(t: Trace, body: () => T): T {
  stack.push(t);
  try {
    return body();
  } finally {
    stack.pop();
    t.active = false;
  }
}
