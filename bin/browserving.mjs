#!/usr/bin/env node
/**
 * The browserving command line. Plain ESM JavaScript so that it runs on Node 20 straight from
 * the package, without a build step.
 *
 *   browserving manifest <basePath> [--label name=version ...] [--unlabel name ...]
 *                       [--platform [version=]name ...] [--external-data path ...]
 *                       [--shards [version=]N ...] [--check]
 *   browserving --help
 *
 * The repository format (constants, `parseManifest`, label rules) comes from the library build,
 * dist/repository.js (bin/lib/repository-format.mjs), loaded once a command needs it: --help and
 * usage errors work without a build.
 *
 * Exit codes: 0 success, 1 the repository or its manifest is wrong (message on stderr),
 * 2 the command line is wrong.
 */
import { parseArgs } from 'node:util';
import { CliError } from './lib/cli-error.mjs';

const HELP = `Usage:
  browserving manifest <basePath> [--label <name>=<version> ...] [--unlabel <name> ...]
                                  [--platform [<version>=]<name> ...] [--external-data <path> ...]
                                  [--shards [<version>=]<N> ...] [--check]
  browserving --help

Commands:
  manifest   Writes <basePath>/manifest.json, the listing the browser runtime reads instead of
             the folder (browsers cannot list directories). Each numbered folder under
             <basePath> is a version; its platform (what loads it) is
               onnx         when it holds model.onnx (warmup.json: its warm-up inputs)
               table        when it holds table.txt (one entry per line), table.json, or
                            table shard files (see --shards)
               <name>       given with --platform: a platform the app registers
             Every file is listed with its size and SHA-256 (hidden files are skipped). The
             files model.onnx keeps tensors in (ONNX external data) are read from the model
             itself and listed as "externalData"; every other file is a side file (a
             tokenizer, labels, a config) that the platform's loader may read. Each ONNX version
             is loaded with onnxruntime-web to record its input/output signature, and the
             manifest is checked with the runtime's own parser before it is written.
             Labels already in manifest.json are kept.

Options:
  --label <name>=<version>  Points a version label (e.g. stable, canary) at a version on disk.
                            Repeatable.
  --unlabel <name>          Removes a version label. Repeatable.
  --platform <name>         The platform of every version folder that holds neither model.onnx
                            nor a table file (lower-case letters, digits, - and _).
  --platform <version>=<name>
                            The platform of one version, whatever its files. Repeatable.
  --external-data <path>    Lists <path> (relative to the version folder) as external data of
                            every ONNX version that holds it, for a model that loads it in a way
                            the model file does not declare. Repeatable.
  --shards <N>              Splits every table version into N shard files (2 to 64), each served
                            by a runner of its own: table-00000-of-0000N.json … beside the
                            source table, which stays in the folder, unlisted (the runtime never
                            downloads it) and is what later runs re-shard from. A folder holding
                            shard files stays sharded without the flag. To unshard, delete them.
  --shards <version>=<N>    The same, for one table version. Repeatable.
  --check                   Writes nothing: exits 1 and lists the differences when
                            manifest.json does not match the folders (for CI).
  -h, --help                Shows this help.

Examples:
  browserving manifest public/models/vad --label stable=1 --label canary=2
  browserving manifest public/models/chat --platform tokenizer-pipeline
  browserving manifest public/models/vocab --shards 4
  browserving manifest public/models/vad --check
`;

/** @param {string[]} argv */
async function main(argv) {
  const { values, positionals } = parseCommandLine(argv);
  if (values.help) return HELP.trimEnd();
  const [command, ...operands] = positionals;
  if (command === undefined) throw CliError.usage('missing command');
  if (command !== 'manifest') throw CliError.usage(`unknown command "${command}"`);
  const [basePath] = operands;
  if (basePath === undefined) throw CliError.usage('manifest needs a base path');
  if (operands.length > 1) throw CliError.usage(`manifest takes one base path, got ${operands.length}: ${operands.join(' ')}`);
  const format = await import('./lib/repository-format.mjs');
  const { manifestCommand } = await import('./lib/manifest-command.mjs');
  return manifestCommand({
    basePath,
    labelChanges: labelChanges(values.label ?? [], values.unlabel ?? [], format.isLabelName),
    platforms: { ...platformChoices(values.platform ?? [], values['external-data'] ?? [], format.PLATFORM_NAME_PATTERN), shards: shardCounts(values.shards ?? [], format.MAX_TABLE_SHARDS) },
    check: values.check ?? false,
    warn: (message) => console.error(`browserving: warning: ${message}`),
  });
}

/** @param {string[]} argv */
function parseCommandLine(argv) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        label: { type: 'string', multiple: true },
        unlabel: { type: 'string', multiple: true },
        platform: { type: 'string', multiple: true },
        'external-data': { type: 'string', multiple: true },
        shards: { type: 'string', multiple: true },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw CliError.usage(/** @type {Error} */ (error).message);
  }
}

/**
 * @param {string[]} set  `name=version` arguments of --label
 * @param {string[]} remove  names given to --unlabel
 * @param {(name: string) => boolean} isLabelName  the runtime's rule
 * @returns {import('./lib/manifest-builder.mjs').LabelChanges}
 */
function labelChanges(set, remove, isLabelName) {
  /** @type {Map<string, number>} */
  const labels = new Map();
  for (const argument of set) {
    const match = /^([^=]*)=(\d+)$/.exec(argument);
    if (!match) throw CliError.usage(`--label ${argument}: expected <name>=<version>, e.g. --label stable=1`);
    const [, name, digits] = /** @type {[string, string, string]} */ (/** @type {unknown} */ (match));
    const version = Number(digits);
    if (!isLabelName(name)) throw CliError.usage(`--label ${argument}: "${name}" is not a valid label name (letters, digits, _ . - ; not starting with a digit)`);
    if (!Number.isSafeInteger(version)) throw CliError.usage(`--label ${argument}: ${digits} is too large to be a version number`);
    if (labels.has(name)) throw CliError.usage(`--label ${name} is given more than once`);
    labels.set(name, version);
  }
  for (const name of remove) {
    if (labels.has(name)) throw CliError.usage(`label ${name} is both set (--label) and removed (--unlabel)`);
  }
  return { set: labels, remove: new Set(remove) };
}

/**
 * @param {string[]} platforms  `name` or `version=name` arguments of --platform
 * @param {string[]} externalData  paths given to --external-data
 * @param {RegExp} namePattern  the runtime's rule for platform names
 * @returns {import('./lib/manifest-builder.mjs').PlatformChoices}
 */
function platformChoices(platforms, externalData, namePattern) {
  /** @type {string | undefined} */
  let platform;
  /** @type {Map<number, string>} */
  const byVersion = new Map();
  for (const argument of platforms) {
    const match = /^(?:(\d+)=)?(.*)$/.exec(argument);
    const [, digits, name] = /** @type {[string, string | undefined, string]} */ (/** @type {unknown} */ (match));
    if (!namePattern.test(name)) throw CliError.usage(`--platform ${argument}: "${name}" is not a platform name (lower-case letters, digits, - and _, starting with a letter)`);
    if (digits === undefined) {
      if (platform !== undefined) throw CliError.usage(`--platform ${name}: a platform for the other versions is already given (--platform ${platform}); name one version with --platform <version>=<name>`);
      platform = name;
      continue;
    }
    const version = Number(digits);
    if (!Number.isSafeInteger(version)) throw CliError.usage(`--platform ${argument}: ${digits} is too large to be a version number`);
    if (byVersion.has(version)) throw CliError.usage(`--platform ${version}=… is given more than once`);
    byVersion.set(version, name);
  }
  for (const path of externalData) {
    if (path === '' || path.startsWith('/') || path.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw CliError.usage(`--external-data ${path}: expected a path relative to the version folder, e.g. --external-data weights.bin`);
    }
  }
  return { ...(platform === undefined ? {} : { platform }), byVersion, externalData: [...new Set(externalData)].sort() };
}

/**
 * @param {string[]} shards  `N` or `version=N` arguments of --shards
 * @param {number} max  the runtime's limit
 * @returns {{ all?: number, byVersion: Map<number, number> }}
 */
function shardCounts(shards, max) {
  /** @type {number | undefined} */
  let all;
  /** @type {Map<number, number>} */
  const byVersion = new Map();
  for (const argument of shards) {
    const match = /^(?:(\d+)=)?(\d+)$/.exec(argument);
    if (!match) throw CliError.usage(`--shards ${argument}: expected <N> or <version>=<N>, e.g. --shards 4`);
    const [, digits, n] = /** @type {[string, string | undefined, string]} */ (/** @type {unknown} */ (match));
    const count = Number(n);
    if (count < 2 || count > max) throw CliError.usage(`--shards ${argument}: the shard count must be 2 to ${max} (to serve a table unsharded, delete its table-*-of-*.json files)`);
    if (digits === undefined) {
      if (all !== undefined) throw CliError.usage(`--shards ${argument}: a count for every table version is already given (--shards ${all})`);
      all = count;
      continue;
    }
    const version = Number(digits);
    if (!Number.isSafeInteger(version)) throw CliError.usage(`--shards ${argument}: ${digits} is too large to be a version number`);
    if (byVersion.has(version)) throw CliError.usage(`--shards ${version}=… is given more than once`);
    byVersion.set(version, count);
  }
  return { ...(all === undefined ? {} : { all }), byVersion };
}

try {
  console.log(await main(process.argv.slice(2)));
} catch (error) {
  if (!(error instanceof CliError)) throw error;
  console.error(`browserving: ${error.message}`);
  if (error.exitCode === 2) console.error('Run "browserving --help" for usage.');
  process.exitCode = error.exitCode;
}
