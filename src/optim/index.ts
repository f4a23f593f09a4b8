// `sm.optim`: optimizers over parameter trees.
export { type LearningRate, Optimizer, type OptimizerState, type SlotState } from "./optimizer.js";
export { Adam, type AdamOptions, AdamW, type AdamWOptions, SGD, type SGDOptions } from "./optimizers.js";
