// A user's basic CodeBuild workflow, driven by the AWS SDK for JavaScript v3 from npm: create a
// project, start a build, poll it until it completes, read its log through CloudWatch Logs, and
// handle the SDK's modelled errors. tests/compat/test_js_sdk.py runs it against a real
// `kiln server`; it uses only the SDK's public API, as a user's script would.
//
//   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
//     node codebuild-workflow.mjs --endpoint http://127.0.0.1:PORT [--region us-east-1]
//     [--image kiln/host] [--deadline-seconds 90] [--request-timeout-ms 10000]
//
// The keys come from the environment, never argv (a process list shows argv). They are passed to
// the clients as static credentials, so no profile's keys are picked up instead.
// Prints one line per step; on the first mismatch prints "FAIL: ..." and exits 1.
import {
  BatchGetBuildsCommand,
  BatchGetProjectsCommand,
  CodeBuildClient,
  CodeBuildServiceException,
  CreateProjectCommand,
  DeleteProjectCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    region: { type: 'string', default: 'us-east-1' },
    image: { type: 'string', default: 'kiln/host' },
    'deadline-seconds': { type: 'string', default: '90' },
    'request-timeout-ms': { type: 'string', default: '10000' },
  },
});

class Mismatch extends Error {}

function check(cond, what, got) {
  if (!cond) throw new Mismatch(`${what}; got ${JSON.stringify(got)}`);
}

// The whole run has one deadline: a retry loop or a request that never answers ends the process
// with a message instead of hanging the suite (the caller has its own timeout too).
const deadlineMs = Number(opts['deadline-seconds']) * 1000;
const started = Date.now();
setTimeout(() => {
  console.error(`FAIL: workflow not done after ${opts['deadline-seconds']} s`);
  process.exit(1);
}, deadlineMs).unref();

const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
if (!opts.endpoint || !accessKeyId || !secretAccessKey) {
  console.error('usage: AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. ' +
                'node codebuild-workflow.mjs --endpoint URL [--region R] [--image I]');
  process.exit(2);
}

// The SDK's own retry defaults (3 attempts, standard mode) stay, as a user has them. The
// timeouts are set because the SDK has none by default, and without throwOnRequestTimeout a
// request past its timeout only logs a warning and goes on waiting: a server that accepts and
// never answers would then hang here. With it, such a run fails after 3 x --request-timeout-ms.
const clientConfig = {
  endpoint: opts.endpoint,
  region: opts.region,
  credentials: { accessKeyId, secretAccessKey },
  requestHandler: {
    connectionTimeout: 5000,
    requestTimeout: Number(opts['request-timeout-ms']),
    throwOnRequestTimeout: true,
  },
};
const codebuild = new CodeBuildClient(clientConfig);
const logs = new CloudWatchLogsClient(clientConfig);

const name = `js-sdk-${process.pid}-${Date.now()}`;
const marker = 'hello from the js sdk';
const buildspec = `version: 0.2
phases:
  build:
    commands:
      - echo "${marker} in $CODEBUILD_BUILD_ID"
      - echo "GREETING is $GREETING"
`;

function step(text) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
}

// Runs fn, which must throw the SDK's modelled exception `type` with HTTP status 400.
async function expectModelledError(what, type, fn) {
  try {
    await fn();
  } catch (err) {
    check(err instanceof type, `${what}: an instance of ${type.name}`,
          { name: err.name, message: err.message });
    check(err instanceof CodeBuildServiceException,
          `${what}: an instance of CodeBuildServiceException`, err.name);
    check(err.name === type.name, `${what}: err.name`, err.name);
    check(err.$fault === 'client', `${what}: err.$fault`, err.$fault);
    check(err.$metadata?.httpStatusCode === 400, `${what}: $metadata.httpStatusCode`,
          err.$metadata);
    check(typeof err.message === 'string' && err.message.length > 0, `${what}: a message`,
          err.message);
    step(`${what}: ${err.name} (${err.$metadata.httpStatusCode}): ${err.message}`);
    return err;
  }
  throw new Mismatch(`${what}: expected ${type.name}, but the call succeeded`);
}

async function pollUntilComplete(id) {
  for (;;) {
    const { builds, buildsNotFound } =
        await codebuild.send(new BatchGetBuildsCommand({ ids: [id] }));
    check(builds?.length === 1 && (buildsNotFound ?? []).length === 0,
          `BatchGetBuilds finds ${id}`, { builds, buildsNotFound });
    if (builds[0].buildComplete) return builds[0];
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// GetLogEvents pages forward until nextForwardToken comes back unchanged, which is how
// CloudWatch Logs says "no more for now" (it never omits the token).
async function readLog(groupName, streamName) {
  const lines = [];
  let token;
  for (let page = 0; page < 100; page++) {
    const out = await logs.send(new GetLogEventsCommand({
      logGroupName: groupName, logStreamName: streamName, startFromHead: true, nextToken: token,
    }));
    check(Array.isArray(out.events), 'GetLogEvents returns events', out);
    for (const e of out.events) {
      check(typeof e.timestamp === 'number' && typeof e.ingestionTime === 'number',
            'each log event has a numeric timestamp and ingestionTime', e);
      lines.push(e.message);
    }
    check(typeof out.nextForwardToken === 'string', 'GetLogEvents returns nextForwardToken', out);
    if (out.nextForwardToken === token) return lines;
    token = out.nextForwardToken;
  }
  throw new Mismatch('GetLogEvents: nextForwardToken never repeated after 100 pages');
}

async function main() {
  const { project } = await codebuild.send(new CreateProjectCommand({
    name,
    source: { type: 'NO_SOURCE', buildspec },
    artifacts: { type: 'NO_ARTIFACTS' },
    environment: {
      type: 'LINUX_CONTAINER', image: opts.image, computeType: 'BUILD_GENERAL1_SMALL',
      environmentVariables: [{ name: 'GREETING', value: 'from the project' }],
    },
    serviceRole: 'arn:aws:iam::000000000000:role/kiln',
  }));
  check(project?.name === name, 'CreateProject returns the project', project);
  check(project.arn?.endsWith(`:project/${name}`), 'the project ARN ends in project/NAME',
        project.arn);
  step(`CreateProject: ${project.arn}`);

  await expectModelledError('CreateProject of an existing name', ResourceAlreadyExistsException,
                            () => codebuild.send(new CreateProjectCommand({
                              name, source: { type: 'NO_SOURCE', buildspec },
                              artifacts: { type: 'NO_ARTIFACTS' },
                              environment: project.environment, serviceRole: project.serviceRole,
                            })));

  const { build } = await codebuild.send(new StartBuildCommand({
    projectName: name,
    environmentVariablesOverride: [{ name: 'GREETING', value: 'overridden', type: 'PLAINTEXT' }],
  }));
  check(build?.id?.startsWith(`${name}:`), 'StartBuild returns a build id NAME:UUID', build?.id);
  check(build.buildStatus === 'IN_PROGRESS', 'StartBuild returns an IN_PROGRESS build',
        build.buildStatus);
  check(build.startTime instanceof Date, 'startTime parses as a Date', build.startTime);
  step(`StartBuild: ${build.id}`);

  const done = await pollUntilComplete(build.id);
  check(done.buildStatus === 'SUCCEEDED', 'the build SUCCEEDED',
        { buildStatus: done.buildStatus, phases: done.phases });
  check(done.endTime instanceof Date && done.endTime >= done.startTime,
        'endTime is a Date no earlier than startTime', [done.startTime, done.endTime]);
  const phases = (done.phases ?? []).map((p) => p.phaseType);
  check(phases.at(-1) === 'COMPLETED' && phases.includes('BUILD'),
        'phases run through BUILD to COMPLETED', phases);
  step(`BatchGetBuilds: ${done.buildStatus} after ${phases.length} phases`);

  const { groupName, streamName } = done.logs ?? {};
  check(groupName && streamName, 'the build names its log group and stream', done.logs);
  const lines = await readLog(groupName, streamName);
  const want = [`${marker} in ${build.id}`, 'GREETING is overridden'];
  for (const line of want) {
    check(lines.includes(line), `the log has the line ${JSON.stringify(line)}`, lines);
  }
  step(`GetLogEvents: ${lines.length} events in ${groupName} / ${streamName}`);

  const missing = `${name}-missing`;
  await expectModelledError('StartBuild of a missing project', ResourceNotFoundException,
                            () => codebuild.send(new StartBuildCommand({ projectName: missing })));

  await codebuild.send(new DeleteProjectCommand({ name }));
  const after = await codebuild.send(new BatchGetProjectsCommand({ names: [name] }));
  check((after.projects ?? []).length === 0 && after.projectsNotFound?.[0] === name,
        'BatchGetProjects lists the deleted project as not found', after);
  step('DeleteProject: done');
}

try {
  const sdk = createRequire(import.meta.url)('@aws-sdk/client-codebuild/package.json').version;
  step(`@aws-sdk/client-codebuild ${sdk} on node ${process.version}, endpoint ${opts.endpoint}`);
  await main();
  console.log('OK: the JS SDK v3 workflow passed');
  process.exit(0);
} catch (err) {
  // A Mismatch is this script's own finding; anything else is an unexpected SDK or server error,
  // printed with what the SDK knows of the response.
  if (err instanceof Mismatch) {
    console.error(`FAIL: ${err.message}`);
  } else {
    console.error(`FAIL: unexpected ${err.name}: ${err.message}`,
                  err.$metadata ? JSON.stringify(err.$metadata) : '', err.stack ?? '');
  }
  process.exit(1);
}
