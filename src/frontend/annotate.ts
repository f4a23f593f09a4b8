// Source expressions for dumped IR: each op's `loc("file":line:col)` gets a `// expr` comment
// with the call it came from, unless the printer already wrote one (the loc carried its expr).
import { exprAt } from "./source-text.js";

// The file is a JSON string literal (printFunc writes JSON.stringify(file)).
const LOC = /loc\(("(?:[^"\\]|\\.)*"):(\d+):(\d+)\)/;

function annotateLine(line: string): string {
  const m = LOC.exec(line);
  if (!m) return line;
  const rest = line.slice(m.index + m[0].length);
  if (rest.includes("//")) return line;
  let file: unknown;
  try {
    file = JSON.parse(m[1]!);
  } catch {
    return line;
  }
  if (typeof file !== "string") return line;
  const expr = exprAt({ file, line: Number(m[2]), col: Number(m[3]) });
  if (expr === undefined) return line;
  // As the printer does: a line comment cannot hold a line break.
  return `${line.trimEnd()}  // ${expr.replace(/\s*[\r\n]\s*/g, " ")}`;
}

/** The text with `  // <expr>` after every resolvable loc that has no comment yet. */
export function annotateExprsSync(irText: string): string {
  return irText.split("\n").map(annotateLine).join("\n");
}

/** annotateExprsSync in the promise form the frontend was promised. */
export async function annotateExprs(irText: string): Promise<string> {
  return annotateExprsSync(irText);
}
