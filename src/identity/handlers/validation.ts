// requestToken, submitToken (JSON and the link) and getValidated3pid, v1 and v2, for email
// and msisdn.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { operations } from '../../generated/identity.ts';
import type { Handlers } from '../../http/openapi.ts';
import { requireIdentityAuth } from '../auth.ts';
import type { IdentityService } from '../service.ts';
import * as validation from '../validation.ts';
import { sendVerifyPage, type LinkMedium } from '../verify-page.ts';

type ValidationOperations = Pick<
  operations,
  | 'emailRequestToken'
  | 'emailRequestTokenV2'
  | 'emailSubmitTokenPost'
  | 'emailSubmitTokenPostV2'
  | 'emailSubmitTokenGet'
  | 'emailSubmitTokenGetV2'
  | 'msisdnRequestToken'
  | 'msisdnRequestTokenV2'
  | 'msisdnSubmitTokenPost'
  | 'msisdnSubmitTokenPostV2'
  | 'msisdnSubmitTokenGet'
  | 'msisdnSubmitTokenGetV2'
  | 'getValidated3pid'
  | 'getValidated3pidV2'
>;

type SubmitFields = { sid: string; client_secret: string; token: string };

/** The operations a person opens as a link: their errors (even a malformed link) are the HTML page. */
export const LINK_OPERATIONS: Record<string, LinkMedium> = {
  emailSubmitTokenGet: 'email',
  emailSubmitTokenGetV2: 'email',
  msisdnSubmitTokenGet: 'msisdn',
  msisdnSubmitTokenGetV2: 'msisdn',
};

export function validationHandlers(s: IdentityService): Handlers<ValidationOperations> {
  const submitFromLink = (medium: LinkMedium) => async (request: FastifyRequest<{ Querystring: SubmitFields }>, reply: FastifyReply) => {
    const { sid, client_secret: clientSecret, token } = request.query;
    const result = await validation.submitToken(s, medium, sid, clientSecret, token);
    if (result.success && result.nextLink) return reply.redirect(result.nextLink, 302);
    return sendVerifyPage(s, reply, medium, result.success ? { kind: 'validated' } : { kind: 'refused', errcode: result.errcode });
  };
  const submit = (medium: LinkMedium) => async (request: FastifyRequest<{ Body: SubmitFields }>) => {
    const result = await validation.submitToken(s, medium, request.body.sid, request.body.client_secret, request.body.token);
    return result.success ? { success: true } : result;
  };
  const v1Client = (request: FastifyRequest) => `ip:${request.ip}`;
  const v2Client = (request: FastifyRequest) => `user:${requireIdentityAuth(request).account.userId}`;

  return {
    emailRequestToken: async (request) =>
      validation.requestEmailToken(s, {
        clientSecret: request.body.client_secret,
        email: request.body.email,
        sendAttempt: request.body.send_attempt,
        nextLink: request.body.next_link,
        client: v1Client(request),
        ipAddress: request.ip,
      }),
    emailRequestTokenV2: async (request) =>
      validation.requestEmailToken(s, {
        clientSecret: request.body.client_secret,
        email: request.body.email,
        sendAttempt: request.body.send_attempt,
        nextLink: request.body.next_link,
        client: v2Client(request),
        ipAddress: request.ip,
      }),
    emailSubmitTokenPost: submit('email'),
    emailSubmitTokenPostV2: submit('email'),
    emailSubmitTokenGet: submitFromLink('email'),
    emailSubmitTokenGetV2: submitFromLink('email'),
    msisdnRequestToken: async (request) =>
      validation.requestMsisdnToken(s, {
        clientSecret: request.body.client_secret,
        country: request.body.country,
        phoneNumber: request.body.phone_number,
        sendAttempt: request.body.send_attempt,
        nextLink: request.body.next_link,
        client: v1Client(request),
      }),
    msisdnRequestTokenV2: async (request) =>
      validation.requestMsisdnToken(s, {
        clientSecret: request.body.client_secret,
        country: request.body.country,
        phoneNumber: request.body.phone_number,
        sendAttempt: request.body.send_attempt,
        nextLink: request.body.next_link,
        client: v2Client(request),
      }),
    msisdnSubmitTokenPost: submit('msisdn'),
    msisdnSubmitTokenPostV2: submit('msisdn'),
    msisdnSubmitTokenGet: submitFromLink('msisdn'),
    msisdnSubmitTokenGetV2: submitFromLink('msisdn'),
    getValidated3pid: async (request) => validation.getValidated3pid(s, request.query.sid, request.query.client_secret),
    getValidated3pidV2: async (request) => validation.getValidated3pid(s, request.query.sid, request.query.client_secret),
  };
}
