#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildStagingApp } from './staging-app';

const app = new App();
buildStagingApp(app);
app.synth();
