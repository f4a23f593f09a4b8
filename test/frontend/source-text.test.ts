import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { exprAt } from "../../src/frontend/source-text.js";

const fixture = fileURLToPath(new URL("../fixtures/source-text-sample.ts", import.meta.url));
const at = (line: number, col: number) => exprAt({ file: fixture, line, col });

// Positions are those V8 reports for the calls of the fixture (1-based; the property name of a
// method call or getter, the callee of a plain call, `new` for a constructor), counted by hand.
describe("exprAt", () => {
  it("resolves a method call from the column of its name", () => {
    expect(at(20, 22)).toBe("x.matmul(w)");
  });

  it("resolves a namespaced call to the whole call, not the namespace", () => {
    expect(at(20, 16)).toBe("sm.exp(x.matmul(w))");
  });

  it("resolves a getter from its name, its dot, or the receiver's last character", () => {
    // V8 reports the name or the dot; through tsx's source maps, the character before the dot.
    expect(at(20, 33)).toBe("sm.exp(x.matmul(w)).T");
    expect(at(20, 32)).toBe("sm.exp(x.matmul(w)).T");
    expect(at(20, 31)).toBe("sm.exp(x.matmul(w)).T");
  });

  it("resolves a plain call spanning several lines", () => {
    expect(at(21, 13)).toBe("relu(\n    x\n      .matmul(w)\n      .add(1),\n  )");
  });

  it("resolves each link of a chain split over lines to the chain so far", () => {
    expect(at(23, 8)).toBe("x\n      .matmul(w)");
    expect(at(24, 8)).toBe("x\n      .matmul(w)\n      .add(1)");
  });

  it("resolves a constructor frame to the new expression, and calls after it to the call", () => {
    expect(at(26, 10)).toBe("new Box()");
    expect(at(26, 20)).toBe("new Box().add(y.add(z))");
    expect(at(26, 26)).toBe("y.add(z)");
  });

  it("falls back to the expression token at a position that names no call", () => {
    expect(at(20, 13)).toBe("sm");
    // The `)` closing x.matmul(w), which is an argument, not a receiver.
    expect(at(20, 30)).toBeUndefined();
  });

  it("finds nothing where no token starts, past the end, or in a missing file", () => {
    expect(at(20, 1)).toBeUndefined();
    expect(at(20, 200)).toBeUndefined();
    expect(at(999, 1)).toBeUndefined();
    expect(at(0, 1)).toBeUndefined();
    expect(exprAt({ file: path.join(os.tmpdir(), "smelt-no-such-file.ts"), line: 1, col: 1 })).toBeUndefined();
  });

  it("accepts paths relative to the working directory and file URLs", () => {
    expect(exprAt({ file: path.relative(process.cwd(), fixture), line: 20, col: 22 })).toBe("x.matmul(w)");
    expect(exprAt({ file: new URL("../fixtures/source-text-sample.ts", import.meta.url).href, line: 20, col: 22 })).toBe(
      "x.matmul(w)",
    );
  });

  it("parses a file again when it changes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smelt-source-text-"));
    const file = path.join(dir, "prog.ts");
    try {
      fs.writeFileSync(file, "f(a);\n");
      expect(exprAt({ file, line: 1, col: 1 })).toBe("f(a)");
      fs.writeFileSync(file, "g(b);\n");
      // Same size; a coarse clock could give the same mtime, so move it on.
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(file, later, later);
      expect(exprAt({ file, line: 1, col: 1 })).toBe("g(b)");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
