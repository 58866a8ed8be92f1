import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorCodes, toAppError, type ErrorCode } from '../errors.js';
import { shutdownRetryAfterSeconds } from './in-flight-requests.js';

/** The public error body: `{"error": {"code", "message", ...details}}`. */
export function errorBody(error: AppError): { error: Record<string, unknown> } {
  return { error: { ...(error.details ?? {}), code: error.code, message: error.message } };
}

// Framework errors (bad JSON, too large, wrong content type) carry a 4xx statusCode of their own.
const codeForStatus: Record<number, ErrorCode> = {
  400: 'validation',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  429: 'rate_limited',
};

/** Any thrown value as the AppError and HTTP status the client sees. */
export function toHttpError(error: unknown): { appError: AppError; status: number } {
  if (error instanceof AppError) return { appError: error, status: errorCodes[error.code].status };
  const statusCode = (error as FastifyError | undefined)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const code = codeForStatus[statusCode] ?? 'validation';
    const message = (error as Error).message || 'The request was not understood.';
    return { appError: new AppError(code, message), status: statusCode };
  }
  // A lost database connection becomes database_unavailable (503); anything else internal (500).
  const appError = toAppError(error);
  return { appError, status: errorCodes[appError.code].status };
}

/** Maps every error to its status and body; unknown errors are logged with their stack and hidden. */
export function installErrorResponses(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { appError, status } = toHttpError(error);
    if (status >= 500 && appError.code === 'internal') request.log.error({ err: error }, 'request failed');
    else if (status >= 500) request.log.warn({ code: appError.code, msg: appError.message }, 'request failed');
    if (appError.code === 'unauthorized') void reply.header('www-authenticate', 'Bearer');
    // Nothing was written: the same request (same key) may be sent again shortly, here or elsewhere.
    if (appError.code === 'shutting_down') void reply.header('retry-after', String(shutdownRetryAfterSeconds)).header('connection', 'close');
    return reply.status(status).send(errorBody(appError));
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    return reply.status(404).send(errorBody(new AppError('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`)));
  });
}
