// `sm.nn`: modules, layers, activations, losses and gradients with respect to a model.
export { gelu, relu } from "./activations.js";
export { valueAndGrad } from "./grad.js";
export { Dropout, type DropoutOptions, type Layer, Linear, type LinearOptions, Sequential } from "./layers.js";
export * as losses from "./losses.js";
export { Module, type Params, type ParamTree } from "./module.js";
