#!/usr/bin/env node
// The `livingworld` command. The compiler is chosen first, since on Node 24 that can mean
// starting again; the command line and everything it loads come after.
import { compileForThisCommand } from './compile-for-this-command.js';

await compileForThisCommand(process.argv.slice(2));
await import('./program.js');
