/**
 * An API failure as a user can read and quote it: code, message, request id. A 401 after
 * sign-in (an expired token, a credential removed from the service) will not pass by itself:
 * it offers to sign in again, which keeps the page's address.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { DcsApiError } from '../../../src/client/index.js';
import { describeError } from '../api';

/** Ends the session (back to sign-in); null on the sign-in page itself. */
export const SignOut = createContext<(() => void) | null>(null);

export function ErrorMessage({ error }: { error: unknown }) {
  const signOut = useContext(SignOut);
  if (!error) return null;
  const expired = signOut !== null && error instanceof DcsApiError && error.httpStatus === 401;
  return (
    <div class="error" role="alert">
      {describeError(error)}
      {expired && <> <button type="button" class="link" onClick={signOut}>Sign in again</button></>}
    </div>
  );
}
