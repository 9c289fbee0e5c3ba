/** An API failure as a user can read and quote it: code, message, request id. */
import { describeError } from '../api';

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return <div class="error" role="alert">{describeError(error)}</div>;
}
