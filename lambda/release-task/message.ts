/**
 * Builds the failure message of a release task. CloudFormation shows it as the resource's status
 * reason, and the whole response (reason included) must stay within 4096 bytes, so the message is
 * capped in UTF-8 bytes: the header (what failed, exit code, reasons, what to do) is kept and the
 * log excerpt keeps its newest lines, which is where the error usually is.
 */

/** Our share of the CloudFormation response; the framework adds a "Logs: /aws/lambda/..." line. */
export const MAX_MESSAGE_BYTES = 3500;
/** Each ECS reason is cut to this many characters so the header never crowds out the logs. */
const MAX_REASON_CHARS = 600;
const TRUNCATED_MARK = '[... earlier log output truncated]';

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

// ANSI colour/cursor sequences (Rails and most CLIs colour their output) and other control
// characters except newline and tab: noise in a CloudFormation status reason.
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b[@-Z\\-_]/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

export function cleanLogText(s: string): string {
  return s.replace(ANSI, '').replace(CONTROL, '').replace(/\s+$/, '');
}

/** The last `maxBytes` UTF-8 bytes of `s`, cut at a code point boundary. */
export function tailBytes(s: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  if (byteLength(s) <= maxBytes) return s;
  const chars = Array.from(s);
  let bytes = 0;
  let start = chars.length;
  while (start > 0) {
    const b = byteLength(chars[start - 1]);
    if (bytes + b > maxBytes) break;
    bytes += b;
    start -= 1;
  }
  return chars.slice(start).join('');
}

/** The first `maxBytes` UTF-8 bytes of `s`, cut at a code point boundary. */
export function headBytes(s: string, maxBytes: number): string {
  if (byteLength(s) <= maxBytes) return s;
  const out: string[] = [];
  let bytes = 0;
  for (const ch of s) {
    const b = byteLength(ch);
    if (bytes + b > maxBytes) break;
    bytes += b;
    out.push(ch);
  }
  return out.join('');
}

function shortReason(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const clean = cleanLogText(s).replace(/\s*\n\s*/g, ' ');
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS)}...` : clean;
}

export interface FailureDetails {
  readonly stagingName: string;
  readonly taskArn: string;
  readonly containerName: string;
  readonly command: readonly string[];
  readonly exitCode?: number;
  readonly stopCode?: string;
  readonly stoppedReason?: string;
  readonly containerReason?: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** The last log lines, oldest first; undefined when no lines could be read. */
  readonly logLines?: readonly string[];
  /** Why no lines are shown (missing stream, no permission, ...). */
  readonly logNote?: string;
}

export function failureMessage(d: FailureDetails): string {
  const outcome =
    d.exitCode !== undefined
      ? `container '${d.containerName}' exited with code ${d.exitCode}`
      : `container '${d.containerName}' stopped without an exit code (it probably never started)`;
  const reasons = [
    d.stopCode ? `stop code: ${d.stopCode}` : undefined,
    shortReason(d.stoppedReason) ? `stopped reason: ${shortReason(d.stoppedReason)}` : undefined,
    shortReason(d.containerReason) ? `container reason: ${shortReason(d.containerReason)}` : undefined,
  ].filter((x): x is string => x !== undefined);
  const advice =
    d.exitCode !== undefined
      ? 'Fix the failing command or migration and deploy again; the stack rolls back meanwhile.'
      : 'Check that the image exists and can be pulled, the task has capacity and the subnets reach ECR, then deploy again.';
  const header = [
    `Release task for staging '${d.stagingName}' failed: ${outcome}.`,
    `Command: ${JSON.stringify(d.command)}. Task: ${d.taskArn}.`,
    ...(reasons.length > 0 ? [`${reasons.join('; ')}.`] : []),
    advice,
    `Full logs: log group '${d.logGroupName}', stream '${d.logStreamName}'.`,
  ].join('\n');

  const safeHeader = headBytes(header, Math.floor(MAX_MESSAGE_BYTES / 2));
  let logPart: string;
  if (d.logLines && d.logLines.length > 0) {
    const title = `Last ${d.logLines.length} log lines:`;
    const body = d.logLines.join('\n');
    const room = MAX_MESSAGE_BYTES - byteLength(safeHeader) - byteLength(title) - 2;
    if (byteLength(body) <= room) {
      logPart = `${title}\n${body}`;
    } else {
      let tail = tailBytes(body, room - byteLength(TRUNCATED_MARK) - 1);
      // Start at a line boundary unless the newest line alone fills the room.
      const cutMidLine = body[body.length - tail.length - 1] !== '\n';
      const nl = tail.indexOf('\n');
      if (cutMidLine && nl >= 0 && nl < tail.length - 1) tail = tail.slice(nl + 1);
      logPart = `${title}\n${TRUNCATED_MARK}\n${tail}`;
    }
  } else {
    logPart = d.logNote ?? 'No log lines were found.';
  }
  return headBytes(`${safeHeader}\n${logPart}`, MAX_MESSAGE_BYTES);
}
