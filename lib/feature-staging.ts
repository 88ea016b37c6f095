import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { StagingKinds } from './contract/staging';
import { BranchStagingProps } from './feature-staging-lite';
import { StagingNames } from './contract/naming';
import { BranchServices } from './private/branch-services';
import { cacheWiring, combineWiring, databaseWiring, searchWiring } from './private/data-wiring';
import { stagingTags } from './private/stack-wide';
import { BranchCacheInfo, BranchDatabaseInfo, BranchSearchInfo, StagingCache, StagingDataContext, StagingDatabase, StagingSearch } from './staging-data';
import { StagingServices } from './staging-services';

/** Properties of `FeatureStaging`. */
export interface FeatureStagingProps extends BranchStagingProps {
  /**
   * The branch's Postgres.
   * @default StagingDatabase.fromLatestSnapshot()
   */
  readonly database?: StagingDatabase;

  /**
   * The branch's Redis.
   * @default StagingCache.dedicated()
   */
  readonly cache?: StagingCache;

  /**
   * The branch's Solr data.
   * @default StagingSearch.shared()
   */
  readonly search?: StagingSearch;

  /**
   * Run as a one-off task before the services roll, on every deploy where the image or the
   * command changed, e.g. `['bin/rails', 'db:migrate']`: the migrations since the snapshot, on top.
   * A non-zero exit fails the deploy with the task's last log lines.
   * @default - no release task
   */
  readonly releaseCommand?: string[];

  /**
   * Stop the branch's own database once the branch has slept this long (started again on wake,
   * which then takes minutes; re-stopped after RDS starts it by itself after 7 days). Only with a
   * database of the branch's own.
   * @default - the database keeps running while the branch sleeps
   */
  readonly stopDatabaseAfter?: Duration;
}

/**
 * One branch's full environment: its services at `<branch>.<staging domain>` with data of its own:
 * Postgres restored from the newest snapshot and downsized (or copied from the golden template on
 * the shared Postgres), its own Redis, its own Solr collection. Each store is chosen on its own
 * (`database`, `cache`, `search`), so a branch can mix, for example its own database with the
 * shared Solr. Each choice binds itself to the branch; this construct never looks inside it.
 *
 * The data stores are disposable: deleted with the stack, no final snapshot, no deletion
 * protection. Build it in a `BranchStagingStack`, which names and tags the stack as a `feature`
 * staging and adds the outputs, the quota ordering and the kind lock. In a stack of your own
 * these are your job (README, "A staging in your own stack").
 */
export class FeatureStaging extends Construct {
  /** The names derived from the branch. */
  public readonly names: StagingNames;

  /** `https://<name>.<staging domain>` */
  public readonly url: string;

  /** The branch's services. */
  public readonly services: StagingServices;

  /** The branch's Postgres; `resource` is set when the branch has a database of its own. */
  public readonly database: BranchDatabaseInfo;

  /** The branch's Redis; `resource` is set when the branch has a cache or key prefix of its own. */
  public readonly cache: BranchCacheInfo;

  /** The branch's Solr; `resource` is set when the branch has a collection of its own. */
  public readonly search: BranchSearchInfo;

  /**
   * The tags of this staging (`TagKeys`). A `BranchStagingStack` puts them on itself; in a stack
   * of your own, set them on the stack (`stack.tags.setTag`), which is what the sweeper reads.
   */
  public readonly stagingTags: Record<string, string>;

  constructor(scope: Construct, id: string, props: FeatureStagingProps) {
    super(scope, id);
    this.names = StagingNames.fromBranch(props.branch, props.shared.prefix);
    this.stagingTags = stagingTags(StagingKinds.FEATURE, this.names);
    const context: StagingDataContext = { names: this.names, shared: props.shared };
    const database = props.database ?? StagingDatabase.fromLatestSnapshot();
    const cache = props.cache ?? StagingCache.dedicated();
    const search = props.search ?? StagingSearch.shared();
    const problems = [...search.validate(context), ...database.validate(context), ...cache.validate(context), ...releaseCommandProblems(props.releaseCommand)];
    if (problems.length > 0) throw new Error(problems.join('\n'));

    // Each store binds itself on its own: dedicated, or the shared one.
    this.database = database.bind(this, context);
    this.cache = cache.bind(this, context);
    this.search = search.bind(this, context);

    const branch = new BranchServices(this, 'Branch', {
      ...props,
      names: this.names,
      kind: StagingKinds.FEATURE,
      data: combineWiring(databaseWiring(this.database), cacheWiring(this.cache), searchWiring(this.search)),
      releaseCommand: props.releaseCommand,
      // The restore runs beside the database copy and the release task; the services wait for it.
      servicesAwait: this.search.resource ? [this.search.resource] : [],
      databaseInstanceId: this.database.instanceIdentifier,
      stopDatabaseAfter: props.stopDatabaseAfter,
    });
    this.url = branch.url;
    this.services = branch.services;
  }
}

function releaseCommandProblems(releaseCommand: string[] | undefined): string[] {
  if (releaseCommand !== undefined && (releaseCommand.length === 0 || releaseCommand.some((c) => typeof c !== 'string'))) {
    return [`releaseCommand must be a non-empty list of strings (got ${JSON.stringify(releaseCommand)}); e.g. ["bin/rails", "db:migrate"]`];
  }
  return [];
}
