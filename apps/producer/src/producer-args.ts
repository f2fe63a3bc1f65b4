import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { IntegrationProcessType, TaskDataType, TaskType } from 'nestjs-integration-bus';

/** A command line the producer cannot run: the message says what to fix (exit code 2). */
export class UsageError extends Error {}

/** What the producer was asked to do. */
export interface ProducerRequest {
  connectorName: string;
  taskType: TaskType;
  dataType: TaskDataType;
  processType: IntegrationProcessType;
  siteName: string | null;
  /** The external objects, in the order given, each with where it came from (for messages). */
  objects: { source: string; object: unknown }[];
  /** Root URL of a running host to notify once the tasks are logged. */
  notifyUrl: string | null;
  databaseUrl: string | null;
}

/** `--help`. */
export const USAGE = `Logs incoming tasks straight into the demo's database, whether the demo runs or not.

Usage: npm run producer -- --task <TASKTYPE> [options] [file.json | -]...

  --task <type>           CREATEOBJ, UPDATEOBJ, DELETEOBJ, ADDTOSITE, REMOVEFROMSITE, ... (required)
  --connector <name>      connector to log for [CrmConnector]
  --data-type <type>      SIMPLE, SIMPLESNAPSHOT or SNAPSHOT [SIMPLESNAPSHOT: translates the CRM's site ids]
  --process-type <type>   DEFAULT, SKIPONCE, SKIPONERROR or DELETEONERROR [DEFAULT]
  --site <name>           site the objects belong to (ADDTOSITE: the site to add them to)
  --object '<json>'       an external object given inline; repeatable
  --notify <url>          then ask the host at <url> to process now (POST <url>/integration/notify,
                          with INTEGRATION_NOTIFY_TOKEN); a host that is down is only a warning
  --database-url <url>    PostgreSQL [DATABASE_URL, else the demo's embedded server, started if stopped]
  -h, --help              this text

A file holds one JSON object or an array of them; "-" reads standard input. Each object logged
prints "task <id>  <title>"; the exit code is 0 when every object was logged or skipped by design.`;

const TASK_TYPES = Object.values(TaskType).filter((type) => type !== TaskType.All);
const DATA_TYPES = Object.values(TaskDataType);
const PROCESS_TYPES = Object.values(IntegrationProcessType).filter(
  (type) => type !== IntegrationProcessType.Error,
);

/** Parses the command line and reads the objects it names; `null` for `--help`. */
export async function readRequest(
  argv: string[],
  env: NodeJS.ProcessEnv,
  stdin: () => Promise<string>,
): Promise<ProducerRequest | null> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        task: { type: 'string' },
        connector: { type: 'string', default: 'CrmConnector' },
        'data-type': { type: 'string', default: TaskDataType.SimpleSnapshot },
        'process-type': { type: 'string', default: IntegrationProcessType.Default },
        site: { type: 'string' },
        object: { type: 'string', multiple: true, default: [] },
        notify: { type: 'string' },
        'database-url': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (values.task === undefined) throw new UsageError('--task is required, e.g. --task CREATEOBJ.');
  const objects: ProducerRequest['objects'] = [];
  for (const [index, text] of values.object.entries()) {
    objects.push({ source: `--object #${index + 1}`, object: parseJson(text, `--object #${index + 1}`) });
  }
  for (const file of positionals) {
    const text = file === '-' ? await stdin() : await readText(file);
    const value = parseJson(text, file === '-' ? 'standard input' : file);
    const items = Array.isArray(value) ? value : [value];
    items.forEach((object, index) =>
      objects.push({ source: Array.isArray(value) ? `${file}[${index}]` : file, object }),
    );
  }
  if (objects.length === 0) {
    throw new UsageError('Nothing to log: name a JSON file, "-" for standard input, or pass --object.');
  }
  return {
    connectorName: values.connector,
    taskType: oneOf('--task', values.task, TASK_TYPES),
    dataType: oneOf('--data-type', values['data-type'], DATA_TYPES),
    processType: oneOf('--process-type', values['process-type'], PROCESS_TYPES),
    siteName: values.site ?? null,
    objects,
    notifyUrl: values.notify ? httpUrl(values.notify) : null,
    databaseUrl: values['database-url'] ?? env.DATABASE_URL ?? null,
  };
}

function oneOf<T extends string>(option: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${option} must be one of ${choices.join(', ')}; got "${value}".`);
  }
  return value as T;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--notify must be the host's root URL, e.g. http://localhost:3000; got "${value}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--notify must be an http(s) URL; got "${value}".`);
  }
  return value;
}
