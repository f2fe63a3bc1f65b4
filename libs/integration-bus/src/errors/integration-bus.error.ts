/** Base class of every error the bus throws. */
export class IntegrationBusError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
