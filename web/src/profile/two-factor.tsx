// Two-factor authentication (TOTP) through the Rocket.Chat-compatible API: enable with the
// password, scan the QR code, confirm with a code, keep the backup codes; disable with a code.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, call, errorText, rc } from '../ui/api.ts';
import { Feedback } from '../ui/feedback.tsx';

type TwoFactorState =
  | { step: 'loading' }
  | { step: 'unavailable'; why: string }
  | { step: 'off' }
  | { step: 'enrolling'; secret: string; url: string; qr: string }
  | { step: 'codes'; codes: string[] }
  | { step: 'on' };

export function TwoFactor() {
  const [state, setState] = useState<TwoFactorState>({ step: 'loading' });
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [done, setDone] = useState('');

  const load = async () => {
    try {
      const me = await call(rc.GET('/me'));
      setState({ step: me.services.totp.enabled ? 'on' : 'off' });
    } catch (failure) {
      setState({
        step: 'unavailable',
        why: failure instanceof ApiFailure && failure.status === 404 ? 'This server does not offer two-factor authentication.' : errorText(failure),
      });
    }
  };
  useEffect(() => void load(), []);

  const run = async (work: () => Promise<void>) => {
    setError('');
    setDone('');
    try {
      await work();
    } catch (failure) {
      setError(errorText(failure));
    }
  };

  // Turning it on needs a fresh proof: the password, as Rocket.Chat's password method.
  const enable = (event: Event) => {
    event.preventDefault();
    return run(async () => {
      const { secret, url } = await call(rc.POST('/users.2fa.totp.enable', { params: { header: { 'x-2fa-code': password, 'x-2fa-method': 'password' } } }));
      setPassword('');
      // The QR-code library is loaded only here: it would double the initial download.
      const { toDataURL } = await import('qrcode');
      const qr = await toDataURL(url, { margin: 1, width: 200 });
      setCode('');
      setState({ step: 'enrolling', secret, url, qr });
      setTimeout(() => document.getElementById('totp-code')?.focus(), 0);
    });
  };

  const confirm = (event: Event) => {
    event.preventDefault();
    return run(async () => {
      const { codes } = await call(rc.POST('/users.2fa.totp.validate', { body: { code: code.trim() } }));
      setCode('');
      setState({ step: 'codes', codes });
      setDone('Two-factor authentication is on. Your other sessions were logged out.');
    });
  };

  const disable = (event: Event) => {
    event.preventDefault();
    return run(async () => {
      await call(rc.POST('/users.2fa.totp.disable', { body: { code: code.trim() } }));
      setCode('');
      setState({ step: 'off' });
      setDone('Two-factor authentication is off.');
    });
  };

  const codeField = (
    <label>
      Code from your authenticator app
      <input id="totp-code" inputMode="numeric" autocomplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
    </label>
  );

  return (
    <div class="card" role="group" aria-labelledby="tfa-title">
      <h3 id="tfa-title">Two-factor authentication</h3>
      {state.step === 'loading' && <p class="hint">Checking…</p>}
      {state.step === 'unavailable' && <p class="hint">{state.why}</p>}
      {state.step === 'off' && (
        <form onSubmit={enable}>
          <p>Off. With it on, logging in also asks for a code from an authenticator app.</p>
          <label>
            Your password, to confirm it is you
            <input type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary">
            Enable two-factor authentication
          </button>
        </form>
      )}
      {state.step === 'enrolling' && (
        <form onSubmit={confirm}>
          <p>Scan this QR code with your authenticator app, or enter the secret by hand. Then type the code it shows.</p>
          <img class="qr" src={state.qr} width={200} height={200} alt={`QR code of ${state.url}`} />
          <p>
            Secret: <code class="secret">{state.secret}</code>
          </p>
          {codeField}
          <div class="actions">
            <button type="submit" class="primary">
              Confirm and enable
            </button>
            <button type="button" onClick={() => setState({ step: 'off' })}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {state.step === 'codes' && (
        <>
          <p>Keep these backup codes somewhere safe. Each works once if you lose your authenticator.</p>
          <ul class="codes" aria-label="Backup codes">
            {state.codes.map((backup) => (
              <li key={backup}>
                <code>{backup}</code>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => setState({ step: 'on' })}>
            I saved them
          </button>
        </>
      )}
      {state.step === 'on' && (
        <form onSubmit={disable}>
          <p>On. To turn it off, enter a current code (or a backup code).</p>
          {codeField}
          <button type="submit" class="danger">
            Disable two-factor authentication
          </button>
        </form>
      )}
      <Feedback error={error} done={done} />
    </div>
  );
}
