// The README and CHANGELOG that ship in the package, made from the repository's: the package speaks
// to users, so what only the repository has goes. What lies between `<!-- repository-only -->` and
// `<!-- /repository-only -->` is dropped (whole lines, or part of one); the specification's rule
// ids ("(R-DEL-2)") are taken out of the text; links to repository files (`examples/…`,
// `BENCHMARKS.md`) point at the repository; a link to a section the result lacks is refused.

const RULE_ID = String.raw`R-[A-Z]+-\d+`;

/**
 * @param {string} readme the repository's README (or CHANGELOG)
 * @param {string} repositoryUrl `https://github.com/owner/name`, where relative links now point
 * @param {(path: string) => boolean} isDirectory whether a linked repository path is a directory
 * @returns {string} the package's version of it
 * @throws when a rule id or a relative link is left that this function does not know how to rewrite
 */
export function packageMarkdown(readme, repositoryUrl, isDirectory) {
  let text = readme
    // a block on lines of its own, with the end marker's line break
    .replace(/^<!-- repository-only -->\n[\s\S]*?^<!-- \/repository-only -->\n?/gm, '')
    // within a line (a list item, the contents): the line around it stays as it is
    .replace(/<!-- repository-only -->[\s\S]*?<!-- \/repository-only -->/g, '');
  text = text
    // "(R-DEL-1)", "(R-DEL-1, R-DEL-2)": the whole parenthesis, with the space before it
    .replace(new RegExp(String.raw` ?\((?:${RULE_ID}(?:, )?)+\)`, 'g'), '')
    // "(R-DEL-6, opt-in with …)": the ids at the start of a longer parenthesis
    .replace(new RegExp(String.raw`\((?:${RULE_ID}, )+`, 'g'), '(')
    // "(…, R-DEL-2)" or "…, R-DEL-2": ids after the text
    .replace(new RegExp(String.raw`, ${RULE_ID}`, 'g'), '');
  const left = text.match(new RegExp(String.raw`.{0,40}${RULE_ID}.{0,40}`));
  if (left) throw new Error(`package README: a rule id is left in "${left[0]}"; rephrase it in README.md.`);
  text = text.replace(/\]\((?!https?:|#|mailto:)([^)\s]+)\)/g, (_, path) => {
    const clean = path.replace(/^\.\//, '');
    return `](${repositoryUrl}/${isDirectory(clean) ? 'tree' : 'blob'}/main/${clean})`;
  });
  if (/\bSPEC\b/.test(text)) throw new Error('package README: it still mentions the SPEC.');
  const anchors = headingAnchors(text);
  const dangling = [...text.matchAll(/\]\(#([^)\s]+)\)/g)].map((m) => m[1]).filter((a) => !anchors.has(a));
  if (dangling.length > 0) {
    throw new Error(
      `package README: links to sections it does not have: #${[...new Set(dangling)].join(', #')}`,
    );
  }
  return text;
}

/** The anchors GitHub and npm give the headings of `text` (outside code blocks), repeats numbered. */
function headingAnchors(text) {
  const anchors = new Set();
  const seen = new Map();
  for (const [, heading] of text.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}
