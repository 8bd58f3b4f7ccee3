// My profile: name and about, photo, password, two-factor authentication, log out.
import type { RefObject } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import QRCode from 'qrcode';
import { Feedback } from './feedback.tsx';
import { api, ApiFailure, call, errorText, previewUrl, rc, uploadFile, type UserInfo } from './api.ts';

interface Props {
  me: number;
  headingRef: RefObject<HTMLElement | null>;
  onUser: (user: UserInfo) => void;
  onLoggedOut: (why?: string) => void;
  onLogout: () => void;
}


export function ProfileView({ headingRef, onUser, onLogout }: Props) {
  const [user, setUser] = useState<UserInfo>();
  const [name, setName] = useState('');
  const [about, setAbout] = useState('');
  const [error, setError] = useState('');
  const [done, setDone] = useState('');
  const [photoError, setPhotoError] = useState('');
  const [photoDone, setPhotoDone] = useState('');
  const [uploading, setUploading] = useState(false);

  const show = (next: UserInfo) => {
    setUser(next);
    setName(next.name);
    setAbout(next.about ?? '');
    onUser(next);
  };

  useEffect(() => {
    headingRef.current?.focus();
    call(api.GET('/users/me')).then((me) => show(me.info), (failure) => setError(errorText(failure)));
  }, []);

  const save = async (event: Event) => {
    event.preventDefault();
    setError('');
    setDone('');
    try {
      show(await call(api.PUT('/users/me', { body: { name: name.trim(), about } })));
      setDone('Profile saved.');
    } catch (failure) {
      setError(errorText(failure));
    }
  };

  const addPhoto = async (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    setPhotoError('');
    setPhotoDone('');
    setUploading(true);
    try {
      const { media } = await uploadFile(file);
      show(await call(api.POST('/users/me/photos', { body: { photo: media } })));
      setPhotoDone('Photo added.');
    } catch (failure) {
      setPhotoError(errorText(failure));
    } finally {
      setUploading(false);
    }
  };

  const removePhoto = async (photoId: string) => {
    setPhotoError('');
    setPhotoDone('');
    try {
      await call(api.DELETE('/users/me/photos/{photoId}', { params: { path: { photoId } } }));
      show((await call(api.GET('/users/me'))).info);
      setPhotoDone('Photo removed.');
    } catch (failure) {
      setPhotoError(errorText(failure));
    }
  };

  const photo = user?.photos?.[0];
  return (
    <section class="page" aria-labelledby="profile-title">
      <h2 id="profile-title" ref={headingRef as never} tabIndex={-1}>
        Profile
      </h2>
      <form class="card" onSubmit={save} aria-labelledby="about-title">
        <h3 id="about-title">About you{user ? ` (@${user.username})` : ''}</h3>
        {/* Disabled until loaded, so what the person types is not overwritten by the load. */}
        <fieldset disabled={!user}>
          <label>
            Name
            <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            About
            <textarea name="about" rows={3} maxLength={1000} value={about} onInput={(e) => setAbout(e.currentTarget.value)} />
          </label>
          <Feedback error={error} done={done} />
          <button type="submit" class="primary">
            Save profile
          </button>
        </fieldset>
      </form>

      <div class="card" role="group" aria-labelledby="photo-title">
        <h3 id="photo-title">Photo</h3>
        {photo?.id ? (
          <div class="photo">
            <ProfilePhoto id={photo.id} fileType={photo.fileType} />
            <button type="button" class="link danger" onClick={() => removePhoto(photo.id!)}>
              Remove photo
            </button>
          </div>
        ) : (
          <p class="hint">No photo yet.</p>
        )}
        <label class="button">
          {uploading ? 'Uploading…' : photo ? 'Upload a new photo' : 'Upload a photo'}
          <input type="file" accept="image/*" class="visually-hidden" onChange={addPhoto} disabled={uploading} />
        </label>
        <Feedback error={photoError} done={photoDone} />
      </div>

      <PasswordForm />
      <TwoFactor />

      <div class="card">
        <h3>Session</h3>
        <button type="button" class="danger" onClick={onLogout}>
          Log out
        </button>
      </div>
    </section>
  );
}

function ProfilePhoto({ id, fileType }: { id: string; fileType: string }) {
  const [attempt, setAttempt] = useState(0);
  const preview = previewUrl({ id, fileType, fileSize: 0 });
  return (
    <img
      class="avatar"
      src={attempt > 15 ? `/uploads/${id}.${fileType}` : `${preview}${attempt ? `?try=${attempt}` : ''}`}
      alt="Your profile photo"
      onError={() => attempt <= 15 && setTimeout(() => setAttempt((n) => n + 1), 700)}
    />
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [error, setError] = useState('');
  const [done, setDone] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    setError('');
    setDone('');
    try {
      await call(api.PUT('/users/me/password', { body: { currentPassword: current, newPassword: next } }));
      setCurrent('');
      setNext('');
      setDone('Password changed.');
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="password-title">
      <h3 id="password-title">Password</h3>
      <label>
        Current password
        <input type="password" autocomplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      </label>
      <label>
        New password
        <input type="password" autocomplete="new-password" required value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        <small>8–25 characters</small>
      </label>
      <Feedback error={error} done={done} />
      <button type="submit">Change password</button>
    </form>
  );
}

type TwoFactorState =
  | { step: 'loading' }
  | { step: 'unavailable'; why: string }
  | { step: 'off' }
  | { step: 'enrolling'; secret: string; url: string; qr: string }
  | { step: 'codes'; codes: string[] }
  | { step: 'on' };

function TwoFactor() {
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
      const qr = await QRCode.toDataURL(url, { margin: 1, width: 200 });
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
