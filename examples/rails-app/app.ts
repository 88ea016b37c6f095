import { App } from 'aws-cdk-lib';
import { build } from './stacks';

const app = new App();
build(app);
app.synth();
