// Preload: remember where each pg.Client was created and print it if it emits 'error' with no listener.
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/package.json');
const pg = require('pg');
const origConnect = pg.Client.prototype.connect;
pg.Client.prototype.connect = function (...args) {
  this.__createdAt ??= new Error('client connect() called here').stack;
  return origConnect.apply(this, args);
};
const origEmit = pg.Client.prototype.emit;
pg.Client.prototype.emit = function (event, ...args) {
  if (event === 'error' && this.listenerCount('error') === 0) {
    process.stderr.write(`UNHANDLED pg Client error ${args[0]?.code}: client connected at:\n${this.__createdAt}\nemitted at:\n${new Error().stack}\n`);
  }
  return origEmit.call(this, event, ...args);
};
