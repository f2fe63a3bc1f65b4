import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Issue 11, item 15: `npm start` on a fresh clone ran apps/demo/dist/main.js, which only a build
// makes. A static check: running the demo process here would not tell, as earlier runs left dist/.

const root = new URL('../../', import.meta.url);

describe('npm start (item 15)', () => {
  it('is the demo command, which installs and builds before it runs the built demo', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.start).toBe(pkg.scripts.demo);
    const script = readFileSync(new URL('scripts/demo.sh', root), 'utf8');
    const build = script.indexOf('tsc -b apps/demo/tsconfig.build.json');
    const run = script.indexOf('node apps/demo/dist/main.js');
    expect(build).toBeGreaterThan(-1);
    expect(run).toBeGreaterThan(build);
  });
});
