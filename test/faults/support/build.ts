import { execFileSync } from 'node:child_process';

/** The fault tests' processes run the built library, as a deployment would: build it once, first. */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-b', 'libs/integration-bus/tsconfig.build.json'], { stdio: 'inherit' });
}
