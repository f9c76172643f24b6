// Run with node by source_syntax_test.ts (TypeScript's compiler from node_modules, so every test
// runtime gets the same answer). Prints one JSON line.
//   erasable <file...>  files using syntax that type stripping cannot erase (parameter
//                       properties, enums, namespaces): TypeScript's erasableSyntaxOnly errors
//   workers <entry>     type-checks the entry against @cloudflare/workers-types alone (no DOM,
//                       no Deno or Node types), with the module's strict compiler options
import { fileURLToPath } from "node:url";
import ts from "typescript";

const [mode, ...files] = process.argv.slice(2);
const root = fileURLToPath(new URL("..", import.meta.url));
const ERASABLE_SYNTAX_ONLY = 1294; // "This syntax is not allowed when 'erasableSyntaxOnly' is enabled."

function where(diagnostic) {
  if (!diagnostic.file) return "";
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  return `${diagnostic.file.fileName.replace(root, "")}:${line + 1}: `;
}

function message(diagnostic) {
  return where(diagnostic) + ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
}

const base = {
  noEmit: true,
  allowImportingTsExtensions: true,
  target: ts.ScriptTarget.ESNext,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ["lib.esnext.d.ts"],
  types: [],
  skipLibCheck: true,
};

if (mode === "erasable") {
  // Each file alone (noResolve): only its own syntax matters, not its imports' types.
  const program = ts.createProgram(files, { ...base, erasableSyntaxOnly: true, noResolve: true });
  const offenders = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()]
    .filter((d) => d.code === ERASABLE_SYNTAX_ONLY)
    .map(message);
  console.log(JSON.stringify({ checked: files.length, offenders }));
} else if (mode === "workers") {
  const types = fileURLToPath(import.meta.resolve("@cloudflare/workers-types/index.d.ts"));
  const program = ts.createProgram([types, ...files], {
    ...base,
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noImplicitOverride: true,
  });
  const sources = program.getSourceFiles().map((f) => f.fileName.replace(root, ""));
  console.log(JSON.stringify({
    errors: ts.getPreEmitDiagnostics(program).map(message),
    workersTypes: sources.some((f) => f.includes("@cloudflare/workers-types")),
    domTypes: sources.some((f) => /lib\.dom\.d\.ts$/.test(f)),
    sources: sources.filter((f) => !f.includes("node_modules")).length,
  }));
} else {
  throw new TypeError(`unknown mode ${mode}: erasable or workers`);
}
