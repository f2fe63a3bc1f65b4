/** The part of an HTTP request the page controllers read, on Express and Fastify alike. */
export interface RequestWithUrl {
  url: string;
  originalUrl?: string;
}

/** The request's path, without the query string. */
export function pathOf(request: RequestWithUrl): string {
  return (request.originalUrl ?? request.url).split('?')[0] ?? '';
}
