/** Settings of the demo's own providers, resolved by `createDemoApp`. */
export interface DemoSettings {
  /** Whether `AutoSynchronizer` synchronizes each task as soon as it is logged. */
  autoSync: boolean;
}

/** Injection token of `DemoSettings`. */
export const DEMO_SETTINGS = Symbol('DemoSettings');
