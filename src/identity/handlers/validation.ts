// requestToken, submitToken (JSON and the emailed link) and getValidated3pid, v1 and v2.
import type { FastifyReply } from 'fastify';
import type { operations } from '../../generated/identity.ts';
import type { Handlers } from '../../http/openapi.ts';
import { requireIdentityAuth } from '../auth.ts';
import type { IdentityService } from '../service.ts';
import * as validation from '../validation.ts';

type ValidationOperations = Pick<
  operations,
  | 'emailRequestToken'
  | 'emailRequestTokenV2'
  | 'emailSubmitTokenPost'
  | 'emailSubmitTokenPostV2'
  | 'emailSubmitTokenGet'
  | 'emailSubmitTokenGetV2'
  | 'getValidated3pid'
  | 'getValidated3pidV2'
>;

const SUCCESS_PAGE = 'Verification successful! Please return to your Matrix client to continue.';
const FAILURE_PAGE = 'Verification failed: you may need to request another verification email';

export function validationHandlers(s: IdentityService): Handlers<ValidationOperations> {
  const submitFromLink = async (query: { sid: string; client_secret: string; token: string }, reply: FastifyReply) => {
    const result = await validation.submitEmailToken(s, query.sid, query.client_secret, query.token);
    if (result.success && result.nextLink) return reply.redirect(result.nextLink, 302);
    const page = await s.templates.renderPercent('verify_response_template.html', { message: result.success ? SUCCESS_PAGE : FAILURE_PAGE });
    return reply.code(result.success ? 200 : 400).type('text/html; charset=utf-8').send(page);
  };
  const submit = async (body: { sid: string; client_secret: string; token: string }) => {
    const result = await validation.submitEmailToken(s, body.sid, body.client_secret, body.token);
    return result.success ? { success: true } : result;
  };

  return {
    emailRequestToken: async (request) =>
      validation.requestEmailToken(s, {
        clientSecret: request.body.client_secret,
        email: request.body.email,
        sendAttempt: request.body.send_attempt,
        nextLink: request.body.next_link,
        client: `ip:${request.ip}`,
        ipAddress: request.ip,
      }),
    emailRequestTokenV2: async (request) =>
      validation.requestEmailToken(s, {
        clientSecret: request.body.client_secret,
        email: request.body.email,
        sendAttempt: request.body.send_attempt,
        nextLink: request.body.next_link,
        client: `user:${requireIdentityAuth(request).account.userId}`,
        ipAddress: request.ip,
      }),
    emailSubmitTokenPost: async (request) => submit(request.body),
    emailSubmitTokenPostV2: async (request) => submit(request.body),
    emailSubmitTokenGet: async (request, reply) => submitFromLink(request.query, reply),
    emailSubmitTokenGetV2: async (request, reply) => submitFromLink(request.query, reply),
    getValidated3pid: async (request) => validation.getValidated3pid(s, request.query.sid, request.query.client_secret),
    getValidated3pidV2: async (request) => validation.getValidated3pid(s, request.query.sid, request.query.client_secret),
  };
}
