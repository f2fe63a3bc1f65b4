/** How an incoming task is processed and what happens when it fails (R-IN-3). */
export enum IntegrationProcessType {
  Default = 'DEFAULT',
  SkipOnce = 'SKIPONCE',
  SkipOnError = 'SKIPONERROR',
  DeleteOnError = 'DELETEONERROR',
  Error = 'ERROR',
}
