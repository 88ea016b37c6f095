import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * A Lambda target whose permission for Elastic Load Balancing names the target group as its
 * `SourceArn` (aws-elasticloadbalancingv2-targets' LambdaTarget grants any target group). The
 * target group must have a fixed name: a SourceArn by reference would be circular, since the
 * target group registers the function only once the permission exists.
 */
export class InvokedByItsTargetGroup implements elbv2.IApplicationLoadBalancerTarget {
  constructor(
    private readonly fn: lambda.Function,
    private readonly targetGroupArn: string,
    /** The permission's construct id: one per target group when one function serves several. */
    private readonly permissionId = 'InvokedByTargetGroup',
  ) {}

  public attachToApplicationTargetGroup(targetGroup: elbv2.IApplicationTargetGroup): elbv2.LoadBalancerTargetProps {
    const id = this.permissionId;
    this.fn.addPermission(id, {
      principal: new iam.ServicePrincipal('elasticloadbalancing.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: this.targetGroupArn,
    });
    // The target group registers the function, which needs the permission first.
    targetGroup.node.addDependency(this.fn.node.findChild(id));
    return { targetType: elbv2.TargetType.LAMBDA, targetJson: { id: this.fn.functionArn } };
  }
}
