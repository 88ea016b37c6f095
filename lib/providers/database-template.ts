import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ProviderNames } from '../contract/staging';
import { DatabaseTemplateEnvironment as E } from '../contract/providers/database-template';
import { StagingNames } from '../contract/naming';
import { ReasonedResources } from '../private/acknowledge';
import { StagingArns } from '../private/arns';
import { InVpc } from './in-vpc';
import { ProviderDefinition } from './provider-definition';

/** The golden template database that branch databases are copied from (`StagingDatabase.fromTemplate()`). */
export interface SharedDatabaseTemplateOptions {
  /**
   * The golden template's name on the shared Postgres.
   * @default `<prefix>_template`
   */
  readonly templateDatabaseName?: string;

  /**
   * When the golden template is refreshed from the shared app's database. Refresh on demand with
   * the shared stack's output `StagingDatabaseTemplateRefreshCommand`.
   * @default - nightly at 02:00 UTC
   */
  readonly schedule?: scheduler.ScheduleExpression;

  /**
   * CPU units of the refresh task (pg_dump | pg_restore).
   * @default 512
   */
  readonly cpu?: number;

  /**
   * Memory of the refresh task in MiB.
   * @default 1024
   */
  readonly memoryLimitMiB?: number;
}

/** Properties of `databaseTemplateProvider`: what it needs from the shared staging. */
export interface DatabaseTemplateProviderProps extends InVpc {
  /** The staging system's prefix: branch databases are `<prefix>_br_*`, branch secrets `<prefix>/branches/*`. */
  readonly prefix: string;
  /** The shared Postgres's endpoint and port. */
  readonly host: string;
  readonly port: string;
  /** The admin (master) secret of the shared Postgres. */
  readonly adminSecret: secretsmanager.ISecret;
  /** The golden template and the role that owns its objects. */
  readonly templateDatabase: string;
  readonly templateOwner: string;
  /** Databases never created over, changed or dropped: the shared app's. */
  readonly protectedDatabases: string[];
  /** The documented command that refreshes the golden template (quoted when it does not exist yet). */
  readonly refreshCommand: string;
}

/**
 * The database-template provider: branch databases copied from the golden template on the shared
 * Postgres (`StagingDatabase.fromTemplate()`). A VPC function (it speaks SQL with `pg`) that may
 * read the admin secret and the branches' own secrets, nothing else. Which databases it may touch
 * is set here, in its environment, not by the branch stacks.
 */
export function databaseTemplateProvider(props: DatabaseTemplateProviderProps): ProviderDefinition {
  const stack = Stack.of(props.vpc);
  const arns = new StagingArns(stack, props.prefix);
  const reasons = new ReasonedResources();
  return {
    name: ProviderNames.DATABASE_TEMPLATE,
    options: {
      handler: 'database-template',
      // A copy takes seconds (about 1 s per 100 MB, see the README); a create may wait up to 2 minutes for a golden swap.
      timeout: Duration.minutes(5),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: props.securityGroups,
      policies: [
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [
            props.adminSecret.secretArn,
            ...reasons.scope([
              arns.branchDatabaseSecrets,
              'The handler reads the shared admin secret and the branch database secrets `<prefix>/branches/<name>/database` only, not the branch cache tokens (branch stacks create those secrets, so their ARNs are not known here).',
            ]),
          ],
        }),
      ],
      environment: {
        [E.HOST]: props.host,
        [E.PORT]: props.port,
        [E.SSL]: 'true',
        [E.ADMIN_SECRET_ARN]: props.adminSecret.secretArn,
        [E.MAINTENANCE_DATABASE]: 'postgres',
        [E.TEMPLATE_DATABASE]: props.templateDatabase,
        [E.TEMPLATE_OWNER]: props.templateOwner,
        [E.PROTECTED_DATABASES]: props.protectedDatabases.join(','),
        [E.BRANCH_PREFIX]: StagingNames.branchDatabasePrefix(props.prefix),
        [E.REFRESH_COMMAND]: props.refreshCommand,
        // The Node.js runtime's bundle of Amazon CAs, which has the RDS certificates (rds.force_ssl is on).
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      },
    },
    acknowledgements: reasons.all,
  };
}
