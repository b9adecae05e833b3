// compile.mjs: compiles devnet/contracts/*.sol with the npm solc that
// package.json pins (0.8.28, standard JSON, fixed optimizer settings) into
// one JSON file per contract: {contractName, sourceName, abi, bytecode,
// deployedBytecode, methodIdentifiers}.  Output is deterministic: same
// sources, same bytes.  A stamp (sha256 of compiler version, settings and
// sources) lets a second run return at once when nothing changed.
//
//   node devnet/compile.mjs [OUTDIR]      default OUTDIR: devnet/build
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOLC_VERSION = '0.8.28';
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  metadata: { bytecodeHash: 'ipfs' },
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'] },
  },
};

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, 'contracts');
const outDir = process.argv[2] || join(here, 'build');

function writeAtomic(path, text) {
  const tmp = `${path}.tmp.${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const sources = {};
for (const f of readdirSync(srcDir).filter((n) => n.endsWith('.sol')).sort()) {
  sources[f] = { content: readFileSync(join(srcDir, f), 'utf8') };
}
if (Object.keys(sources).length === 0) {
  console.error(`compile: no .sol files in ${srcDir}`);
  process.exit(1);
}

const stamp = createHash('sha256')
  .update(JSON.stringify({ SOLC_VERSION, SETTINGS, sources }))
  .digest('hex');
const stampPath = join(outDir, 'stamp');
if (existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === stamp) {
  process.exit(0);
}

const require = createRequire(import.meta.url);
const solc = require('solc');
if (!solc.version().startsWith(`${SOLC_VERSION}+`)) {
  console.error(`compile: solc ${solc.version()} found, ${SOLC_VERSION} wanted (npm ci)`);
  process.exit(1);
}

const output = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: SETTINGS })));
let failed = false;
for (const e of output.errors || []) {
  console.error(e.formattedMessage.trimEnd());
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);

mkdirSync(outDir, { recursive: true });
for (const sourceName of Object.keys(output.contracts).sort()) {
  for (const [contractName, c] of Object.entries(output.contracts[sourceName])) {
    const artifact = {
      contractName,
      sourceName,
      compiler: solc.version(),
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
      methodIdentifiers: c.evm.methodIdentifiers,
    };
    writeAtomic(join(outDir, `${contractName}.json`), `${JSON.stringify(artifact, null, 1)}\n`);
  }
}
writeAtomic(stampPath, `${stamp}\n`);
console.error(`compile: ${Object.keys(sources).length} sources into ${outDir}`);
