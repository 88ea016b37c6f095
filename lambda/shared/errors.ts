/**
 * The one way a handler describes an error in a message or a log line. AWS SDK v3 errors carry
 * their code in `name` (`AccessDeniedException`, `ThrottlingException`), so the name leads; a plain
 * `Error` adds nothing but the word "Error", so it gives its message alone. Anything thrown that is
 * not an error object is stringified.
 */
export function describeError(e: unknown): string {
  if (e && typeof e === 'object') {
    const { name, message } = e as { name?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (typeof name === 'string' && name !== '' && name !== 'Error') return text ? `${name}: ${text}` : name;
    if (text) return text;
  }
  return String(e);
}
