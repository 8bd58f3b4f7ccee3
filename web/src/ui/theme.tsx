// Light or dark: the system's setting (prefers-color-scheme) unless the person picks one;
// the choice is kept in this browser and applied as data-theme on <html> (the CSS reads it).
import { useState } from 'preact/hooks';

export type Theme = 'system' | 'light' | 'dark';
const KEY = 'parley.theme';

export function storedTheme(): Theme {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

export function applyTheme(theme: Theme = storedTheme()) {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

const CHOICES: [Theme, string][] = [
  ['system', 'Same as the system'],
  ['light', 'Light'],
  ['dark', 'Dark'],
];

export function ThemeChoice() {
  const [theme, setTheme] = useState(storedTheme);
  const choose = (next: Theme) => {
    setTheme(next);
    if (next === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, next);
    applyTheme(next);
  };
  return (
    <fieldset class="card theme-choice">
      <legend>Appearance</legend>
      {CHOICES.map(([value, label]) => (
        <label key={value} class="radio">
          <input type="radio" name="theme" value={value} checked={theme === value} onChange={() => choose(value)} />
          {label}
        </label>
      ))}
    </fieldset>
  );
}
