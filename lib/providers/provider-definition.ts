import type { ReasonedResource } from '../private/acknowledge';
import { StagingProviderOptions } from '../staging-provider';

/** cdk-nag IAM5 findings of a provider's policy that are by design, and why. */
export interface WildcardAcknowledgement {
  /** Why the wildcards are needed, as a reviewer reads it. */
  readonly reason: string;
  /** The exact findings (`Resource::...`, `Action::...`) acknowledged; any other still shows. */
  readonly findings: RegExp;
}

/** What SharedStaging passes to `addProvider`, plus the acknowledgements of its policy. */
export interface ProviderDefinition {
  /** The provider's name (`ProviderNames`): its construct id and SSM path. */
  readonly name: string;
  readonly options: StagingProviderOptions;
  readonly wildcards?: WildcardAcknowledgement;
  /**
   * The wildcard resources of `options.policies`, each with its reason, written once with the
   * statement (`ReasonedResources`): exactly their cdk-nag IAM5 findings are acknowledged.
   */
  readonly acknowledgements?: ReasonedResource[];
}
