/** What the handler tests build again and again: provider events, and the log lines a handler writes. */
import type { OnEventRequest, RequestType } from '../../lambda/shared/provider';

let requestCounter = 0;

/** A custom-resource event as the Provider framework passes it, with a request id of its own. */
export function providerEvent(
  base: { resourceType: string; logicalResourceId: string; stackName: string },
  type: RequestType,
  resourceProperties: Record<string, unknown>,
  extra: Partial<OnEventRequest> = {},
): OnEventRequest {
  requestCounter++;
  return {
    RequestType: type,
    StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${base.stackName}/0a1b2c3d`,
    RequestId: `7e4f1a3e-0000-4000-8000-${String(requestCounter).padStart(12, '0')}`,
    LogicalResourceId: base.logicalResourceId,
    ResourceType: base.resourceType,
    ResourceProperties: resourceProperties,
    ...extra,
  };
}

/** Captures console.log, .error and .warn (each call one line) until jest restores the mocks. */
export function captureLogs(): string[] {
  const logged: string[] = [];
  const capture = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
  };
  jest.spyOn(console, 'log').mockImplementation(capture);
  jest.spyOn(console, 'error').mockImplementation(capture);
  jest.spyOn(console, 'warn').mockImplementation(capture);
  return logged;
}
