/** Secrets out of messages: passwords in URLs and in key=value pairs. */

/** The text with URL passwords and password-like assignments replaced by ***. */
export function redact(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s/]+@/gi, '$1:***@')
    .replace(/\b(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)[^\s,;&]+/gi, '$1$2***');
}
