#!/usr/bin/env node
// Hallmonitor's one executable. The sources are TypeScript run directly by Node's type
// stripping (Node >= 22.18), so there is no build step between `npm install` and this.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`hallmonitor needs Node.js 22.18 or newer (this is ${process.version}).`);
  process.exit(2);
}
const { main } = await import('../src/cli.ts');
await main(process.argv.slice(2));
