// The account rules of the API (openapi/messenger.yaml: PersonName, Username, Password),
// mirrored so forms can say what is wrong next to the field before asking the server,
// and the schema validator's sentences ("body/password must NOT have …") made human.

/** Letters (with marks) and spaces, plus the punctuation of real names, starting with a letter. */
export const NAME_RULE = /^\s*\p{L}[\p{L}\p{M}\s'’.,-]*$/u;
/** The same rule for the `pattern` attribute (compiled with the `v` flag: `-` escaped). */
export const NAME_PATTERN = "\\s*\\p{L}[\\p{L}\\p{M}\\s'’.,\\-]*";
export const NAME_HINT = 'Letters and spaces; - \' . and , are fine too (Anne-Marie, Sean O’Brien, J. R. Tolkien)';
export const USERNAME_RULE = /^\s*[A-Za-z][A-Za-z0-9]{4,24}\s*$/;
export const USERNAME_PATTERN = '\\s*[A-Za-z][A-Za-z0-9]{4,24}\\s*';
export const USERNAME_HINT = '5–25 letters and digits, starting with a letter';
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 25;
export const PASSWORD_HINT = `${PASSWORD_MIN}–${PASSWORD_MAX} characters`;

const LABELS: Record<string, string> = {
  name: 'Your name',
  username: 'The username',
  password: 'The password',
  newPassword: 'The new password',
  currentPassword: 'The current password',
  title: 'The name',
  about: 'About',
  text: 'The message',
};

export function nameProblem(name: string): string | undefined {
  if (!name.trim()) return 'Enter your name.';
  if (name.length > 100) return 'Your name must be at most 100 characters.';
  if (!NAME_RULE.test(name)) return /^\s*\P{L}/u.test(name) ? 'Your name must start with a letter.' : 'Your name may hold letters, spaces and - \' ’ . , only.';
  return undefined;
}

export function usernameProblem(username: string): string | undefined {
  const value = username.trim();
  if (!value) return 'Choose a username.';
  if (!/^[A-Za-z]/.test(value)) return 'The username must start with a letter.';
  if (/[^A-Za-z0-9]/.test(value)) return 'The username may hold letters and digits only.';
  if (!USERNAME_RULE.test(value)) return 'The username must be 5 to 25 characters.';
  return undefined;
}

export function passwordProblem(password: string, label = 'The password'): string | undefined {
  if ([...password].length < PASSWORD_MIN) return `${label} must be at least ${PASSWORD_MIN} characters.`;
  if ([...password].length > PASSWORD_MAX) return `${label} must be at most ${PASSWORD_MAX} characters.`;
  return undefined;
}

/** "body/password must NOT have fewer than 8 characters" → the field and a sentence a person reads. */
export function humanValidation(raw: string): { field: string; message: string } | undefined {
  const match = /^(?:body|querystring|params|headers)\/(?:[\w]+\/)*?(\w+) (.+)$/.exec(raw);
  if (!match) return undefined;
  const [, field, rule] = match;
  const label = LABELS[field] ?? `The ${field}`;
  let sentence: string;
  let bound: RegExpExecArray | null;
  if ((bound = /must NOT have fewer than (\d+) characters/.exec(rule))) sentence = `${label} must be at least ${bound[1]} characters.`;
  else if ((bound = /must NOT have more than (\d+) characters/.exec(rule))) sentence = `${label} must be at most ${bound[1]} characters.`;
  else if (/must match pattern/.test(rule))
    sentence = field === 'name' ? `${label} may hold letters, spaces and - ' ’ . , only, starting with a letter.` : field === 'username' ? `${label} must be ${USERNAME_HINT.toLowerCase()}.` : `${label} has characters that are not allowed.`;
  else if (/must have required property/.test(rule)) sentence = 'Fill in every field.';
  else sentence = `${label} is not valid.`;
  return { field, message: sentence };
}
