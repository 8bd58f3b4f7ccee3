// Log in (with the TOTP code when the account asks for one) or create an account.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiFailure, basicAuth, call, deviceInfo, errorText, type PrivateUserInfo, type Session } from './api.ts';
import { Feedback } from './feedback.tsx';

function sessionOf(user: PrivateUserInfo): Session {
  const session = user.deviceSessions[0];
  if (!session) throw new ApiFailure(500, 'The server returned no device session.');
  return { token: session.accessToken, sessionId: session.id, userId: user.info.id };
}

export function AuthScreen({ onLoggedIn, notice }: { onLoggedIn: (session: Session) => void; notice?: string }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [name, setName] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);
  const firstInput = useRef<HTMLInputElement>(null);

  useEffect(() => firstInput.current?.focus(), [mode]);
  useEffect(() => {
    if (needsCode) codeInput.current?.focus();
  }, [needsCode]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
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
    setNeedsCode(false);
    setCode('');
  };

  return (
    <main class="auth">
      <h1>Parley</h1>
      {notice && <p class="notice" role="status">{notice}</p>}
      <div class="tabs" role="group" aria-label="Account">
        <button type="button" aria-pressed={mode === 'login'} onClick={() => switchTo('login')}>
          Log in
        </button>
        <button type="button" aria-pressed={mode === 'register'} onClick={() => switchTo('register')}>
          Create account
        </button>
      </div>
      <form onSubmit={submit} class="card" aria-labelledby="auth-title">
        <h2 id="auth-title">{mode === 'login' ? 'Log in' : 'Create an account'}</h2>
        {mode === 'register' && (
          <label>
            Your name
            <input ref={firstInput} name="name" autocomplete="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
        )}
        <label>
          Username
          <input
            ref={mode === 'login' ? firstInput : undefined}
            name="username"
            autocomplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
          {mode === 'register' && <small>5–25 letters and digits, starting with a letter</small>}
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          {mode === 'register' && <small>8–25 characters</small>}
        </label>
        {mode === 'login' && needsCode && (
          <label>
            Two-factor code
            <input
              ref={codeInput}
              name="code"
              inputMode="numeric"
              autocomplete="one-time-code"
              required
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
            <small>The 6-digit code from your authenticator app, or a backup code</small>
          </label>
        )}
        {mode === 'login' && needsCode && !error && (
          <p class="notice" role="status">
            This account uses two-factor authentication: enter the code from your authenticator app.
          </p>
        )}
        <Feedback error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {mode === 'login' ? 'Log in' : 'Create account'}
        </button>
      </form>
    </main>
  );
}
