/**
 * The two private methods of formidable's IncomingForm that uploads rely on (formidable 3),
 * in one place. test/library-internals.test.ts fails if an upgrade removes or changes them.
 *
 * - `_handlePart(part)`: formidable's own handling of a part (write the file, hash it). A
 *   custom `onPart` that wants formidable to store some parts must call it: its README shows
 *   exactly that, and no public method does the same.
 * - `_error(err)`: fails the running `parse()` with `err`. A failure of a part's handling
 *   happens outside formidable's event handlers; without this it would never reach `parse()`.
 */
import type { Part } from 'formidable';
import type Formidable from 'formidable/Formidable.js';

interface FormInternals {
  _handlePart(part: Part): Promise<void> | void;
  _error(err: unknown): void;
}

const internals = (form: Formidable) => form as unknown as FormInternals;

/** Lets formidable store `part` as it would by default; resolves once its listeners are attached. */
export async function storePart(form: Formidable, part: Part): Promise<void> {
  await internals(form)._handlePart(part);
}

/** Fails the form's running parse with `err`. */
export function failParse(form: Formidable, err: unknown): void {
  internals(form)._error(err);
}
