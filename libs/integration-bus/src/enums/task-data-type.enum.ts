/** How much data a task carries (R-OUT-9). */
export enum TaskDataType {
  /** The object's own columns. */
  Simple = 'SIMPLE',
  /** Own columns plus translation data for each foreign key. */
  SimpleSnapshot = 'SIMPLESNAPSHOT',
  /** Own columns, translation data, and the children with their translation data. */
  Snapshot = 'SNAPSHOT',
}
