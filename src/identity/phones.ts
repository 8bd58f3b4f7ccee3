// Phone numbers (medium `msisdn`): parsed with libphonenumber from `country` + `phone_number`
// as Sydent does, addressed as E.164 digits without the `+` (the spec's msisdn form, used in
// sessions, bindings and hashed lookups), and the verification code sent as a text message.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js';
import { matrixError } from './errors.ts';
import type { IdentityService } from './service.ts';

export interface PhoneNumber {
  /** E.164 without `+`: `447700900001`. */
  msisdn: string;
  /** E.164: `+447700900001`, where the text goes. */
  e164: string;
  /** `+44 7700 900001`, for people. */
  internationalFormat: string;
}

const invalidPhoneNumber = () => matrixError(400, 'M_INVALID_PHONE_NUMBER', 'Invalid phone number');

/**
 * `country` is where the number is dialled from (ignored for a `+…` number). A number of a
 * length its country cannot have, or with an extension (no text reaches one), is refused;
 * validity against allocated ranges is not required: the code itself proves the number.
 */
export function parsePhone(phoneNumber: string, country: string): PhoneNumber {
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(phoneNumber, country ? { defaultCountry: country.toUpperCase() as CountryCode } : undefined);
  } catch {
    throw invalidPhoneNumber();
  }
  if (!parsed.isPossible() || parsed.ext) throw invalidPhoneNumber();
  return { msisdn: parsed.number.slice(1), e164: parsed.number, internationalFormat: parsed.formatInternational() };
}

const SMS_TEMPLATE = 'verification_template.sms.j2';
/** Used when the brand's templates folder has no SMS template (a Sydent-style folder). */
const DEFAULT_SMS_TEXT = (token: string) => `Your code is ${token}`;

/** The brand's `verification_template.sms.j2` with `{{ token }}`; failures are 500 M_SEND_ERROR. */
export async function sendVerificationText(s: IdentityService, to: string, token: string): Promise<void> {
  try {
    const file = path.join(s.templates.directory, path.basename(s.templates.brand), SMS_TEMPLATE);
    const hasTemplate = await access(file).then(
      () => true,
      () => false,
    );
    const text = hasTemplate ? (await s.templates.render(SMS_TEMPLATE, { token })).trim() : DEFAULT_SMS_TEXT(token);
    await s.texts.send({ to, text });
  } catch (error) {
    s.k.log.error({ err: error }, 'sending an identity text message failed');
    throw matrixError(500, 'M_SEND_ERROR', 'Failed to send the text message');
  }
}
