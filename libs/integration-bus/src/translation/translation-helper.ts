import { payloadOf } from './task-object.js';
import type { TranslationRecord } from '../persistence/translation-record.js';

/** The translation records a task carries, queryable by referenced object. */
export class TranslationHelper {
  readonly #records: readonly TranslationRecord[];

  constructor(records: readonly TranslationRecord[] = []) {
    this.#records = records;
  }

  /**
   * The records of any object rebuilt from a task: the task's object or one of its Snapshot
   * children (empty for anything else).
   */
  static for(obj: object): TranslationHelper {
    return new TranslationHelper(payloadOf(obj)?.translations ?? []);
  }

  /** Every record, in the order the references were found. */
  get records(): readonly TranslationRecord[] {
    return this.#records;
  }

  /** The record of an object or document of the given type and id, if the task carries it. */
  get(objectType: string, id: string | number): TranslationRecord | undefined {
    const type = objectType.toLowerCase();
    return this.#records.find((r) => r.objectType.toLowerCase() === type && String(r.id) === String(id));
  }

  /** The record for a foreign-key property of the task's object. */
  forProperty(property: string): TranslationRecord | undefined {
    return this.#records.find((r) => r.property === property);
  }
}
