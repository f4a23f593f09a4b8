#!/usr/bin/env node
// The `smelt` command. The CLI is TypeScript, run through tsx's loader, which `smelt run` also
// uses for the user's program.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
