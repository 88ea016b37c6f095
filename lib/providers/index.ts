/**
 * The custom-resource providers SharedStaging hosts, one file each.
 *
 * Convention for a new provider `<name>` (e.g. `database-template`, `waker`):
 * - `lib/providers/<name>.ts` exports `<camelName>Provider(props): ProviderDefinition`, where
 *   `props` holds just what the policy and options need (constructs by interface, the stack for
 *   ARNs). It returns the provider's name (a `ProviderNames` constant), the `StagingProviderOptions`
 *   with its handler (`lambda/<name>/`) and IAM statements, and, if its policy has by-design
 *   wildcards, their reasons: each statement takes its resources from a `ReasonedResources`
 *   (`scope([arn, reason])`), and `acknowledgements` is its `all`, so a resource and its cdk-nag
 *   acknowledgement are written once. No constructs are created there: SharedStaging calls
 *   `addProvider` with the result.
 * - Names and ARN patterns come from `StagingNames` / `StagingNamePatterns`, ARNs from
 *   `StagingArns` (lib/private/arns.ts, `Stack.formatArn`), never by hand.
 * - Its contract goes in `lib/contract/providers/<name>.ts`, the file the construct and the
 *   handler both import: `<Resource>ResourceType`, `<Resource>ResourceProperties`,
 *   `<Resource>Attributes`, `<Provider>Environment` and `parseProperties` (conventions in
 *   lib/contract/providers/index.ts; add the type to its `ResourceTypes`). The construct writes
 *   its properties `satisfies` the interface and its environment by the names' constants.
 * - Its handler is `lambda/<name>/index.ts`, each entry point wrapped in `entry()` from
 *   `lambda/shared/entry.ts`; secrets through `lambda/shared/secrets.ts`, errors worded by
 *   `describeError`, lists read with the SDK's paginators (`paginate<Command>`).
 * - `test/providers/<name>.test.ts` tests the definition directly; `test/iam.test.ts` proves each
 *   SDK command of its handler against the synthesized policy; `test/lambda/<name>.test.ts` runs
 *   the handler with aws-sdk-client-mock.
 */
export * from './provider-definition';
export * from './database-restore';
export * from './listener-priority';
export * from './redis-prefix';
export * from './release-task';
export * from './solr-collection';
export * from './database-template';
export * from './waker';
export * from './staging-quota';
