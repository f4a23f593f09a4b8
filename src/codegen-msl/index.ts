// Kernel IR to Metal Shading Language: the renderer, its dialect table and Metal's rules.
export * from "./dialect.js";
export * from "./emit.js";
export { literal } from "./scalar.js";
export * from "./validate.js";
