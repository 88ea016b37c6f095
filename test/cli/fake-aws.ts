/**
 * A local stand-in for the AWS endpoints the CLI calls, speaking their wire protocols: the query
 * protocol with XML answers (CloudFormation), JSON 1.1 (CloudWatch Logs, SSM, by X-Amz-Target)
 * and REST JSON (Lambda Invoke). The real SDK clients reach it through AWS_ENDPOINT_URL, so
 * serialization, signing, parsing and retries run as against AWS.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stack } from '@aws-sdk/client-cloudformation';

export interface FakeCall {
  readonly service: 'cloudformation' | 'logs' | 'ssm' | 'lambda' | 'unknown';
  readonly action: string;
  readonly input: Record<string, any>;
}

export interface FakeAnswer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

export interface FakeAws {
  readonly url: string;
  readonly calls: FakeCall[];
  close(): Promise<void>;
}

/** Starts the fake on a random loopback port; `respond` answers each call (undefined: a 400 naming it). */
export async function fakeAws(respond: (call: FakeCall) => FakeAnswer | undefined): Promise<FakeAws> {
  const calls: FakeCall[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const call = parse(req.url ?? '/', String(req.headers['x-amz-target'] ?? ''), String(req.headers['content-type'] ?? ''), body);
      calls.push(call);
      const answer = respond(call) ?? { status: 400, body: JSON.stringify({ __type: 'UnknownOperationException', message: `the fake has no answer for ${call.service} ${call.action}` }) };
      res.writeHead(answer.status ?? 200, { 'content-type': call.service === 'cloudformation' ? 'text/xml' : 'application/x-amz-json-1.1', 'x-amzn-requestid': 'fake-0001', ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function parse(url: string, target: string, contentType: string, body: string): FakeCall {
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const input = Object.fromEntries(new URLSearchParams(body));
    return { service: 'cloudformation', action: String(input.Action), input };
  }
  const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(url);
  if (invoke) return { service: 'lambda', action: 'Invoke', input: { FunctionName: decodeURIComponent(invoke[1]), Payload: body } };
  const [prefix, action] = target.split('.');
  const service = prefix === 'Logs_20140328' ? 'logs' : prefix === 'AmazonSSM' ? 'ssm' : 'unknown';
  return { service, action: action ?? '', input: body ? JSON.parse(body) : {} };
}

const esc = (s: unknown) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const members = (name: string, items: Array<Record<string, unknown>> | undefined) =>
  items?.length ? `<${name}>${items.map((i) => `<member>${Object.entries(i).map(([k, v]) => `<${k}>${esc(v)}</${k}>`).join('')}</member>`).join('')}</${name}>` : '';

/** CloudFormation's XML answer to DescribeStacks. */
export function describeStacksXml(stacks: Stack[]): FakeAnswer {
  const body = stacks.map((s) =>
    `<member><StackName>${esc(s.StackName)}</StackName><StackId>${esc(s.StackId ?? s.StackName)}</StackId><StackStatus>${esc(s.StackStatus)}</StackStatus>` +
      `<CreationTime>${(s.CreationTime ?? new Date(0)).toISOString()}</CreationTime>${s.LastUpdatedTime ? `<LastUpdatedTime>${s.LastUpdatedTime.toISOString()}</LastUpdatedTime>` : ''}` +
      `${members('Tags', s.Tags as any)}${members('Outputs', s.Outputs as any)}</member>`).join('');
  return { body: `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks>${body}</Stacks></DescribeStacksResult><ResponseMetadata><RequestId>fake-0001</RequestId></ResponseMetadata></DescribeStacksResponse>` };
}

/** CloudFormation's XML answer to an action without a result (DeleteStack). */
export function emptyXml(action: string): FakeAnswer {
  return { body: `<${action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ResponseMetadata><RequestId>fake-0001</RequestId></ResponseMetadata></${action}Response>` };
}

/** The environment that points the CLI's real clients at the fake, with dummy credentials and no profile files. */
export function fakeAwsEnv(url: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: url,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
