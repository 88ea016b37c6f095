import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { StagingKinds } from './contract/staging';
import { StagingNames } from './contract/naming';
import { BranchServices } from './private/branch-services';
import { cacheWiring, combineWiring, databaseWiring, searchWiring } from './private/data-wiring';
import { stagingTags } from './private/stack-wide';
import { ISharedStaging } from './shared-staging-ref';
import { ScheduledJobOptions, ServiceOptions, StagingServices, WebServiceOptions } from './staging-services';

/** What every branch staging takes: the branch, the shared staging and the app. */
export interface BranchStagingProps {
  /** The git branch, e.g. `feature/new_cool_page`. */
  readonly branch: string;

  /** The shared staging, read with `SharedStagingRef.fromParameters`. */
  readonly shared: ISharedStaging;

  /** The app's image for this branch. */
  readonly image: ecs.ContainerImage;

  /**
   * The web service.
   * @default - `{ name: 'web' }`, 256 CPU units, 512 MiB, one task, port 80
   */
  readonly web?: WebServiceOptions;

  /**
   * Worker services; sizes default to 256 CPU units, 512 MiB, one task.
   * @default - none
   */
  readonly workers?: ServiceOptions[];

  /**
   * Cron-style jobs; sizes default to 256 CPU units, 512 MiB.
   * @default - none
   */
  readonly scheduledJobs?: ScheduledJobOptions[];

  /**
   * Environment of every container. Wins over the data-source variables, so any of them can be
   * pointed elsewhere for this branch.
   * @default - none
   */
  readonly environment?: Record<string, string>;

  /**
   * Secrets of every container (ECS secrets); win over the data-source secrets.
   * @default - none
   */
  readonly secrets?: Record<string, ecs.Secret>;

  /**
   * How long the branch's logs are kept.
   * @default logs.RetentionDays.ONE_WEEK
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Where tasks run.
   * @default - the first task of each service on-demand, further tasks mostly on Fargate Spot
   */
  readonly capacityProviderStrategies?: ecs.CapacityProviderStrategy[];

  /**
   * The CPU architecture of every task, which the image must be built for. Fargate's ARM64
   * (Graviton) costs about 20% less per vCPU and GB; `npx staging cost` shows what it would save.
   * The default is x86_64 because images are often built for amd64 only.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * Put the branch to sleep after this long without requests, deploys, keep-alives or pins:
   * services scale to zero and the shared waker answers until a visit wakes it (docs/sleep.md).
   * `Duration.minutes(0)` keeps the branch awake.
   * @default Duration.hours(1)
   */
  readonly sleepAfter?: Duration;
}

/** Properties of `FeatureStagingLite`. */
// A named props type per construct is the jsii convention, even when it adds nothing yet.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface FeatureStagingLiteProps extends BranchStagingProps {}

/**
 * A branch's code on the shared staging's data: its own services at `<branch>.<staging domain>`,
 * pointed at the shared Postgres, Redis and Solr. Cheap; meant for UI-only changes.
 *
 * Build it in a `BranchStagingStack`, which names and tags the stack as a `feature-lite`
 * staging (what the sweeper looks for) and adds the outputs, the quota ordering and the kind
 * lock. In a stack of your own these are your job (README, "A staging in your own stack").
 */
export class FeatureStagingLite extends Construct {
  /** The names derived from the branch. */
  public readonly names: StagingNames;

  /** `https://<name>.<staging domain>` */
  public readonly url: string;

  /** The branch's services. */
  public readonly services: StagingServices;

  /**
   * The tags of this staging (`TagKeys`). A `BranchStagingStack` puts them on itself; in a stack
   * of your own, set them on the stack (`stack.tags.setTag`), which is what the sweeper reads.
   */
  public readonly stagingTags: Record<string, string>;

  constructor(scope: Construct, id: string, props: FeatureStagingLiteProps) {
    super(scope, id);
    this.names = StagingNames.fromBranch(props.branch, props.shared.prefix);
    this.stagingTags = stagingTags(StagingKinds.FEATURE_LITE, this.names);
    const branch = new BranchServices(this, 'Branch', {
      ...props,
      names: this.names,
      kind: StagingKinds.FEATURE_LITE,
      data: combineWiring(databaseWiring(props.shared.database), cacheWiring(props.shared.cache), searchWiring(props.shared.solr)),
    });
    this.url = branch.url;
    this.services = branch.services;
  }
}
