// A person's (or a group's) picture: their newest profile photo, else their initials on a
// colour picked from the name, so the same person looks the same everywhere.
import type { UserInfo } from './api.ts';

export const initialsOf = (name: string) =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => [...word][0]!.toLocaleUpperCase())
    .join('') || '?';

/** One of six background classes, stable for a name. */
const tint = (name: string) => [...name].reduce((sum, char) => sum + char.codePointAt(0)!, 0) % 6;

export function Avatar({ user, name }: { user?: Pick<UserInfo, 'photos'>; name: string }) {
  const photo = user?.photos?.[0];
  // Decorative: the name is always written next to it.
  if (photo?.id) return <img class="avatar-small" src={`/uploads/${photo.id}.${photo.fileType}`} alt="" aria-hidden="true" />;
  return (
    <span class={`avatar-small initials tint-${tint(name)}`} aria-hidden="true">
      {initialsOf(name)}
    </span>
  );
}
