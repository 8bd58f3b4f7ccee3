// My profile: name and about, photo, password, two-factor authentication, log out.
import type { RefObject } from 'preact';
import { ThemeChoice } from '../ui/theme.tsx';
import { useEffect, useState } from 'preact/hooks';
import { Feedback } from '../ui/feedback.tsx';
import { api, call, errorText, uploadFile, type UserInfo } from '../ui/api.ts';
import { Field } from '../ui/field.tsx';
import { NAME_HINT, NAME_PATTERN, nameProblem, PASSWORD_HINT, PASSWORD_MAX, PASSWORD_MIN, passwordProblem } from '../ui/rules.ts';
import { TwoFactor } from './two-factor.tsx';

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
  // A photo change touches the photos only: unsaved name and about edits stay as typed.
  const showPhotos = (next: UserInfo) => {
    setUser((known) => (known ? { ...known, photos: next.photos } : next));
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
    const problem = nameProblem(name);
    if (problem) return setError(problem);
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
    setError('');
    setDone('');
    setUploading(true);
    try {
      const { media } = await uploadFile(file);
      showPhotos(await call(api.POST('/users/me/photos', { body: { photo: media } })));
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
      showPhotos((await call(api.GET('/users/me'))).info);
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
      <form class="card" onSubmit={save} aria-labelledby="about-title" noValidate>
        <h3 id="about-title">About you{user ? ` (@${user.username})` : ''}</h3>
        {/* Disabled until loaded, so what the person types is not overwritten by the load. */}
        <fieldset disabled={!user}>
          <Field id="profile-name" label="Name" hint={NAME_HINT}>
            <input name="name" required maxLength={100} pattern={NAME_PATTERN} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
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

      <ThemeChoice />
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

/** The photo itself: a just-uploaded photo has no preview yet, and asking for one early only gets 404s. */
function ProfilePhoto({ id, fileType }: { id: string; fileType: string }) {
  return <img class="avatar" src={`/uploads/${id}.${fileType}`} alt="Your profile photo" />;
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
    const problem = passwordProblem(next, 'The new password');
    if (problem) return setError(problem);
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
    <form class="card" onSubmit={submit} aria-labelledby="password-title" noValidate>
      <h3 id="password-title">Password</h3>
      <label>
        Current password
        <input type="password" autocomplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      </label>
      <Field id="new-password" label="New password" hint={PASSWORD_HINT}>
        <input type="password" autocomplete="new-password" required minLength={PASSWORD_MIN} maxLength={PASSWORD_MAX} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
      </Field>
      <Feedback error={error} done={done} />
      <button type="submit">Change password</button>
    </form>
  );
}
