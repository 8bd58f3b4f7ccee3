// The outcome of an action: an error (announced as an alert) or a confirmation.
export function Feedback({ error, done = '' }: { error: string; done?: string }) {
  return (
    <>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {done && (
        <p class="notice" role="status">
          {done}
        </p>
      )}
    </>
  );
}
