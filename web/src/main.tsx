import { render } from 'preact';
import { App } from './app.tsx';
import './ui/styles.css';
import { applyTheme } from './ui/theme.tsx';

// Before the first paint, so a chosen theme does not flash the other one.
applyTheme();

render(<App />, document.getElementById('app')!);
