/**
 * What a branch stack records about its last deploy, as stack outputs (`FeatureOutputs.COMMIT`,
 * `PULL_REQUEST`, `IMAGE`): the git commit and the pull request CI deployed it from. The checks
 * are shared by `BranchStagingStack` (its props) and the ready-made app (`-c commit`,
 * `-c pullRequest`); the stagings view reads the values back. No imports: handler bundles read it.
 */

/** An example commit, for messages. */
export const COMMIT_EXAMPLE = '3f2a1bc0d9e8';

/** Why `commit` is not a git commit id (7 to 40 hex digits), or undefined when it is one. */
export function commitProblem(commit: string): string | undefined {
  if (/^[0-9a-fA-F]{7,40}$/.test(commit)) return undefined;
  return `must be a git commit id of 7 to 40 hex digits, e.g. ${JSON.stringify(COMMIT_EXAMPLE)} (git rev-parse HEAD)`;
}

/**
 * Why `pullRequest` is neither a pull request number (a positive whole number, e.g. `12`) nor its
 * https URL, or undefined when it is one of them.
 */
export function pullRequestProblem(pullRequest: string): string | undefined {
  if (/^[1-9][0-9]{0,9}$/.test(pullRequest)) return undefined;
  if (/^https:\/\/[^\s/]+\/\S*$/.test(pullRequest)) return undefined;
  return 'must be the pull request number (a positive whole number, e.g. "12") or its https:// URL';
}

/** A pull request as shown: `#12`, or a URL's last part (`#12` for `.../pull/12`), with the URL to link to. */
export function pullRequestLabel(pullRequest: string): { readonly text: string; readonly href?: string } {
  if (!pullRequest.startsWith('https://')) return { text: `#${pullRequest}` };
  const number = /\/(\d+)\/?$/.exec(pullRequest)?.[1];
  return { text: number ? `#${number}` : pullRequest, href: pullRequest };
}

/** The short form of a commit, as git shows it (7 characters). */
export function shortCommit(commit: string): string {
  return commit.slice(0, 7);
}
