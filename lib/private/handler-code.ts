import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * The pre-bundled code of one handler (lambda/<name>/index.ts bundled by `npm run build` into
 * assets/handlers/<name>/index.js). The same relative path holds from lib/private/*.ts and from
 * dist/private/*.js, so this works from source and from the published package. Nothing is bundled
 * at synth time.
 */
export function handlerCode(name: string): lambda.Code {
  const dir = join(__dirname, '..', '..', 'assets', 'handlers', name);
  if (!existsSync(join(dir, 'index.js'))) {
    throw new Error(
      `The bundled handler '${name}' is missing at ${dir}. Run \`npm run build\` (it runs on \`npm ci\` too) to bundle the handlers.`,
    );
  }
  return lambda.Code.fromAsset(dir);
}

/** The Lambda runtime every handler of this library is built for (see scripts/build-handlers.mjs). */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;
