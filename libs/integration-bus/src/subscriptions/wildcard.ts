const compiled = new Map<string, RegExp>();

/**
 * Matches a subscription filter against a value (R-OUT-2): `null`/`undefined` matches anything,
 * `%` stands for any run of characters, every other character is literal, case is ignored.
 */
export function matchesWildcard(
  pattern: string | null | undefined,
  value: string | null | undefined,
): boolean {
  if (pattern === null || pattern === undefined) return true;
  if (value === null || value === undefined) return false;
  if (!pattern.includes('%')) return pattern.toLowerCase() === value.toLowerCase();
  let regex = compiled.get(pattern);
  if (!regex) {
    const body = pattern
      .split('%')
      .map((part) => part.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${body}$`, 'is');
    compiled.set(pattern, regex);
  }
  return regex.test(value);
}
