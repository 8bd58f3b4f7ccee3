// Log in (with the TOTP code when the account asks for one) or create an account. The
// account rules are checked here first and every problem is said next to its field.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiFailure, basicAuth, call, deviceInfo, errorText, type PrivateUserInfo, type Session } from '../ui/api.ts';
import { Feedback } from '../ui/feedback.tsx';
import { Field } from '../ui/field.tsx';
import {
  NAME_HINT,
  NAME_PATTERN,
  nameProblem,
  PASSWORD_HINT,
  PASSWORD_MAX,
  PASSWORD_MIN,
  passwordProblem,
  USERNAME_HINT,
  USERNAME_PATTERN,
  usernameProblem,
} from '../ui/rules.ts';

function sessionOf(user: PrivateUserInfo): Session {
  const session = user.deviceSessions[0];
  if (!session) throw new ApiFailure(500, 'The server returned no device session.');
  return { token: session.accessToken, sessionId: session.id, userId: user.info.id };
}

type Problems = Partial<Record<'name' | 'username' | 'password', string>>;

export function AuthScreen({ onLoggedIn, notice }: { onLoggedIn: (session: Session) => void; notice?: string }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [name, setName] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [error, setError] = useState('');
  const [problems, setProblems] = useState<Problems>({});
  // "You have logged out." belongs to the moment of logging out, not to the next attempt.
  const [showNotice, setShowNotice] = useState(true);
  const [busy, setBusy] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);
  const firstInput = useRef<HTMLInputElement>(null);

  useEffect(() => firstInput.current?.focus(), [mode]);
  useEffect(() => {
    if (needsCode) codeInput.current?.focus();
  }, [needsCode]);

  const check = (): Problems => {
    if (mode === 'login') return {};
    const found: Problems = { name: nameProblem(name), username: usernameProblem(username), password: passwordProblem(password) };
    for (const key of Object.keys(found) as (keyof Problems)[]) if (!found[key]) delete found[key];
    return found;
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setShowNotice(false);
    setError('');
    const found = check();
    setProblems(found);
    const first = Object.keys(found)[0];
    if (first) return void document.querySelector<HTMLInputElement>(`.auth input[name="${first}"]`)?.focus();
    setBusy(true);
    try {
      if (mode === 'register') {
        const user = await call(api.POST('/users', { body: { name: name.trim(), username: username.trim(), password, deviceInfo: deviceInfo() } }));
        onLoggedIn(sessionOf(user));
      } else {
        const headers: Record<string, string> = { authorization: basicAuth(username.trim(), password) };
        if (needsCode && code.trim()) headers['x-2fa-code'] = code.trim();
        const user = await call(api.POST('/users/login', { body: { deviceInfo: deviceInfo() }, headers }));
        onLoggedIn(sessionOf(user));
      }
    } catch (failure) {
      if (failure instanceof ApiFailure && failure.code === 'totp-required') {
        setNeedsCode(true);
        if (needsCode) setError(failure.message);
      } else if (failure instanceof ApiFailure && failure.field && ['name', 'username', 'password'].includes(failure.field)) {
        setProblems({ [failure.field]: failure.message });
      } else {
        setError(errorText(failure));
      }
    } finally {
      setBusy(false);
    }
  };

  const switchTo = (next: 'login' | 'register') => {
    setMode(next);
    setError('');
    setProblems({});
    setNeedsCode(false);
    setCode('');
  };
  const registering = mode === 'register';

  return (
    <main class="auth">
      <h1>Parley</h1>
      {notice && showNotice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <div class="tabs" role="group" aria-label="Account">
        <button type="button" aria-pressed={mode === 'login'} onClick={() => switchTo('login')}>
          Log in
        </button>
        <button type="button" aria-pressed={registering} onClick={() => switchTo('register')}>
          Create account
        </button>
      </div>
      {/* noValidate: the rules below say what is wrong in words, next to the field. */}
      <form onSubmit={submit} class="card" aria-labelledby="auth-title" noValidate>
        <h2 id="auth-title">{registering ? 'Create an account' : 'Log in'}</h2>
        {registering && (
          <Field id="auth-name" label="Your name" hint={NAME_HINT} problem={problems.name}>
            <input ref={firstInput} name="name" autocomplete="name" required maxLength={100} pattern={NAME_PATTERN} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
        )}
        <Field id="auth-username" label="Username" hint={registering ? USERNAME_HINT : undefined} problem={problems.username}>
          <input
            ref={registering ? undefined : firstInput}
            name="username"
            autocomplete="username"
            required
            {...(registering ? { minLength: 5, maxLength: 25, pattern: USERNAME_PATTERN } : {})}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </Field>
        <Field id="auth-password" label="Password" hint={registering ? PASSWORD_HINT : undefined} problem={problems.password}>
          <input
            type="password"
            name="password"
            autocomplete={registering ? 'new-password' : 'current-password'}
            required
            {...(registering ? { minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX } : {})}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        {!registering && needsCode && (
          <Field id="auth-code" label="Two-factor code" hint="The 6-digit code from your authenticator app, or a backup code">
            <input ref={codeInput} name="code" inputMode="numeric" autocomplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </Field>
        )}
        {!registering && needsCode && !error && (
          <p class="notice" role="status">
            This account uses two-factor authentication: enter the code from your authenticator app.
          </p>
        )}
        <Feedback error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {registering ? 'Create account' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
