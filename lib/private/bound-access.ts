import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { SignInKind } from '../contract/access';

/** What SharedStaging gives a lock to bind itself. */
export interface AccessBindContext {
  readonly prefix: string;
  readonly listener: elbv2.ApplicationListener;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
}

/** A lock bound to a shared staging. */
export interface BoundAccess {
  /** JSON for `STAGING_ACCESS` (lib/contract/access.ts), deploy-time values as tokens. */
  readonly environment: string;
  /** The sign-in in front of every host: with `none`, nobody has a verified identity. */
  readonly signIn: SignInKind;
  /** The rules one branch host takes. */
  readonly rulesPerHost: number;
  /** What the listener-priority provider needs to write rules with this lock. */
  readonly providerStatements: iam.PolicyStatement[];
  /** Puts the lock in front of a host of the shared stack (its own app, the stagings page). */
  lockHost(scope: Construct, id: string, host: string, targetGroup: elbv2.IApplicationTargetGroup, priority: number): void;
}

