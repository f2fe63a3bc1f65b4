/** The PostgreSQL types the bus's parameters are cast to. */
export type SqlParameterType =
  'int' | 'smallint' | 'smallint[]' | 'bigint' | 'bigint[]' | 'text' | 'timestamptz' | 'float8';

/**
 * Places a named parameter in a statement being built: returns its placeholder with its cast
 * (`$3::bigint`). A name placed twice gets the same position; its type must match.
 */
export type PlaceParameter<N extends string> = (name: N, type: SqlParameterType) => string;

/**
 * A statement whose parameters are named, not counted: `build` writes the text with `param(name,
 * type)` wherever a value goes, and `values(args)` lists the arguments in the order the text needs
 * them. Fragments shared by several statements (the queue rules, the lease's fence) take `param`
 * and place their own parameters, so no fragment knows which position it starts at and nothing is
 * renumbered. The text is built once and depends only on the statement's shape: the named
 * prepared statements of `BusDatabase.prepared` keep working.
 */
export class SqlStatement<N extends string> {
  readonly text: string;
  readonly #names: N[] = [];

  constructor(build: (param: PlaceParameter<N>) => string) {
    const types = new Map<N, SqlParameterType>();
    this.text = build((name, type) => {
      const known = types.get(name);
      if (known !== undefined && known !== type) {
        throw new Error(`SQL parameter "${name}" placed as ${known} and as ${type}`);
      }
      if (known === undefined) {
        types.set(name, type);
        this.#names.push(name);
      }
      return `$${this.#names.indexOf(name) + 1}::${type}`;
    });
  }

  /** The arguments in placeholder order. Every name the text uses must be given. */
  values(args: Readonly<Record<N, unknown>>): unknown[] {
    return this.#names.map((name) => {
      if (!(name in args)) throw new Error(`SQL parameter "${name}" has no value`);
      return args[name];
    });
  }
}
