/**
 * The contract between the sleeper function (lambda/waker `onSchedule`) and whoever invokes it by
 * hand (the `staging wake` / `staging sleep` commands, or `aws lambda invoke`): the keys of a
 * manual invocation and what it returns. No imports, so the handler bundle and the CLI read it
 * without aws-cdk-lib. Internal: not exported from the package.
 */

/**
 * Keys of a manual invocation: exactly one of them, its value a staging name (the DNS label,
 * `feature-login-df7c7aeb`), e.g. `{"wake": "feature-login-df7c7aeb"}`. Any other key is refused
 * before any AWS call. The schedule sends an EventBridge "Scheduled Event" (lib/contract/sweeper.ts
 * ScheduledEvent); `{}` runs the sleeper's round now.
 */
export const SleeperEventKeys = {
  /** Wake the branch now (the same claim and steps as a request), and count it as activity. */
  WAKE: 'wake',
  /** Put the branch to sleep now (the idle sleep's steps, reason `manual`). */
  SLEEP: 'sleep',
} as const;

/** What a manual invocation returns. */
export interface ManualSleepResult {
  /** `wake` or `sleep`. */
  readonly action: string;
  readonly stagingName: string;
  readonly branch: string;
  /** The state after this invocation: `awake`, `waking` or `sleeping` (lib/contract/branch-state.ts SleepStates). */
  readonly state: string;
  /** False when there was nothing to do: a wake of an awake branch, a sleep of a sleeping one. */
  readonly changed: boolean;
  /** What happened, in words. */
  readonly reason: string;
  /** A wake: about how long it takes, in seconds (longer when the database was stopped). */
  readonly expectedSeconds?: number;
}
