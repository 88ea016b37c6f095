/**
 * Resolves the intrinsics of a synthesized template (Ref, Fn::GetAtt, Fn::Join, Fn::Select,
 * Fn::Split, Fn::Sub) to the values they would have once deployed, with realistic physical ids
 * (CloudFormation-style generated names, real ARN formats), so IAM policies can be evaluated
 * offline against the ARNs the handlers really call.
 */

export interface Deployment {
  readonly account: string;
  readonly region: string;
  /** The stack's name: CloudFormation heads generated names with it. */
  readonly stackName: string;
}

/** 12 characters like CloudFormation's generated suffixes, stable per logical id. */
function suffix(id: string, length = 12): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) {
    out += chars[h % chars.length];
    h = (h * 1103515245 + 12345) >>> 0;
  }
  return out;
}

/** `<stack>-<logical id>-<suffix>`, cut to `max` as CloudFormation does. */
export function generatedName(d: Deployment, logicalId: string, max = 64): string {
  const tail = `-${suffix(logicalId)}`;
  return `${d.stackName}-${logicalId}`.slice(0, max - tail.length) + tail;
}

export class TemplateResolver {
  constructor(
    private readonly template: any,
    private readonly d: Deployment,
  ) {}

  private arn(service: string, resource: string, region = this.d.region): string {
    return `arn:aws:${service}:${region}:${this.d.account}:${resource}`;
  }

  /** What `Ref` of a resource returns. */
  public ref(logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': this.d.region,
      'AWS::AccountId': this.d.account,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.d.stackName,
    };
    if (pseudo[logicalId]) return pseudo[logicalId];
    const parameter = this.template.Parameters?.[logicalId];
    if (parameter) return String(parameter.Default ?? `${logicalId}-value`);
    const r = this.template.Resources?.[logicalId];
    if (!r) throw new Error(`Ref to unknown ${logicalId}`);
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return p.RoleName ?? generatedName(this.d, logicalId);
      case 'AWS::ECS::Cluster':
        return p.ClusterName ?? generatedName(this.d, logicalId, 255);
      case 'AWS::ElasticLoadBalancingV2::Listener':
        return this.arn('elasticloadbalancing', `listener/app/${this.d.stackName.slice(0, 5)}-LoadB-${suffix(logicalId)}/0123456789abcdef/${p.Port === 443 ? 'fedcba9876543210' : '00000000000000aa'}`);
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer':
        return this.arn('elasticloadbalancing', `loadbalancer/app/${this.d.stackName.slice(0, 5)}-LoadB-${suffix(logicalId)}/0123456789abcdef`);
      case 'AWS::SecretsManager::SecretTargetAttachment':
        // Ref of an attachment is the ARN of its secret.
        return String(this.resolve(p.SecretId));
      case 'AWS::SecretsManager::Secret':
        return this.arn('secretsmanager', `secret:${p.Name ?? `${logicalId}-${suffix(logicalId)}`}-${suffix(logicalId, 6)}`);
      case 'AWS::RDS::DBSubnetGroup':
      case 'AWS::ElastiCache::SubnetGroup':
        return (p.DBSubnetGroupName ?? p.CacheSubnetGroupName ?? generatedName(this.d, logicalId, 255)).toLowerCase();
      case 'AWS::RDS::DBInstance':
        return p.DBInstanceIdentifier ?? generatedName(this.d, logicalId, 63).toLowerCase();
      case 'AWS::Logs::LogGroup':
        return p.LogGroupName ?? generatedName(this.d, logicalId, 512);
      case 'AWS::SNS::Topic':
        return this.arn('sns', p.TopicName ?? generatedName(this.d, logicalId, 256));
      case 'AWS::KMS::Key':
        return '0123abcd-4567-89ef-0123-456789abcdef';
      case 'AWS::Lambda::Function':
        return p.FunctionName ?? generatedName(this.d, logicalId);
      case 'AWS::ECS::TaskDefinition':
        return this.arn('ecs', `task-definition/${p.Family ?? generatedName(this.d, logicalId, 255)}:1`);
      case 'AWS::ElasticLoadBalancingV2::TargetGroup':
        return this.arn('elasticloadbalancing', `targetgroup/${p.Name ?? generatedName(this.d, logicalId, 32)}/0123456789abcdef`);
      case 'AWS::Scheduler::ScheduleGroup':
        return p.Name ?? generatedName(this.d, logicalId);
      case 'AWS::Scheduler::Schedule':
        return p.Name ?? generatedName(this.d, logicalId);
      case 'AWS::Cognito::UserPool':
        return `${this.d.region}_${suffix(logicalId, 9).replace(/[^A-Za-z0-9]/g, 'a')}`;
      default:
        return `${logicalId}-${suffix(logicalId)}`;
    }
  }

  /** What `Fn::GetAtt` returns. */
  public getAtt(logicalId: string, attribute: string): string {
    const r = this.template.Resources?.[logicalId];
    if (!r) throw new Error(`GetAtt of unknown ${logicalId}`);
    const ref = this.ref(logicalId);
    if (attribute === 'Arn') {
      switch (r.Type) {
        case 'AWS::IAM::Role':
          return `arn:aws:iam::${this.d.account}:role/${ref}`;
        case 'AWS::ECS::Cluster':
          return this.arn('ecs', `cluster/${ref}`);
        case 'AWS::Logs::LogGroup':
          return this.arn('logs', `log-group:${ref}:*`);
        case 'AWS::KMS::Key':
          return this.arn('kms', `key/${ref}`);
        case 'AWS::Lambda::Function':
          return this.arn('lambda', `function:${ref}`);
        case 'AWS::Cognito::UserPool':
          return this.arn('cognito-idp', `userpool/${ref}`);
        case 'AWS::StepFunctions::StateMachine':
          return this.arn('states', `stateMachine:${generatedName(this.d, logicalId, 80)}`);
        default:
          if (ref.startsWith('arn:')) return ref;
      }
    }
    if (attribute === 'LoadBalancerFullName') return ref.split(':loadbalancer/')[1] ?? ref;
    if (attribute === 'TargetGroupFullName') return ref.split(':')[5] ?? ref;
    if (attribute === 'TargetGroupName') return ref.split('/')[1] ?? ref;
    if (attribute === 'GroupId') return `sg-${suffix(logicalId, 17).toLowerCase().replace(/[^0-9a-f]/g, 'a')}`;
    return `${ref}.${attribute}`;
  }

  /** Resolves every intrinsic in `value`. */
  public resolve(value: any): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [k] = keys;
      const v = value[k];
      switch (k) {
        case 'Ref':
          return this.ref(v);
        case 'Fn::GetAtt':
          return this.getAtt(v[0], v[1]);
        case 'Fn::Join':
          return (this.resolve(v[1]) as unknown[]).join(v[0]);
        case 'Fn::Select':
          return this.resolve(v[1])[Number(this.resolve(v[0]))];
        case 'Fn::Split':
          return String(this.resolve(v[1])).split(v[0]);
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(v) ? v : [v, {}];
          return String(text).replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
            if (vars[name] !== undefined) return String(this.resolve(vars[name]));
            const [id, att] = name.split('.');
            return att ? this.getAtt(id, att) : this.ref(id);
          });
        }
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  /** Every policy document that applies to the role (inline policies and AWS::IAM::Policy resources), resolved. */
  public policiesOfRole(roleLogicalId: string): Array<{ name: string; policy: any }> {
    const resources = this.template.Resources as Record<string, any>;
    const role = resources[roleLogicalId];
    const inline = ((role.Properties?.Policies ?? []) as any[]).map((p) => ({ name: String(p.PolicyName), policy: this.resolve(p.PolicyDocument) }));
    const attached = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && ((r.Properties.Roles ?? []) as any[]).some((x) => x?.Ref === roleLogicalId))
      .map(([id, r]) => ({ name: id, policy: this.resolve(r.Properties.PolicyDocument) }));
    return [...inline, ...attached];
  }
}
