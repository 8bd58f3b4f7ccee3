// A labelled form field with its hint and, when there is one, its problem in words —
// tied to the input (aria-describedby, aria-invalid) so screen readers say both.
import { cloneElement, type VNode } from 'preact';

export function Field({ id, label, hint, problem, children }: { id: string; label: string; hint?: string; problem?: string; children: VNode }) {
  const described = [hint && `${id}-hint`, problem && `${id}-problem`].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {cloneElement(children, { id, 'aria-describedby': described, 'aria-invalid': problem ? 'true' : undefined })}
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
      {problem && (
        <p id={`${id}-problem`} class="field-problem" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
