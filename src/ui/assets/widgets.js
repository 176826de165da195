// Pieces every page uses: the server's errors shown as they came, modal dialogs (native <dialog>: focus is
// kept inside, Escape closes), and busy buttons.
import { ApiError } from './api.js';
import { h } from './dom.js';

/** The server's error, as the server put it: status, code, message and, for validation, each issue. */
export function errorBox(error) {
  if (!(error instanceof ApiError)) return h('div', { class: 'error', role: 'alert' }, String(error?.message ?? error));
  const issues = Array.isArray(error.details?.issues) ? error.details.issues : [];
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('strong', {}, error.status ? `${error.status} ${error.code}` : error.code),
    ' ',
    h('span', { class: 'message' }, error.message),
    issues.length > 1 && h('ul', {}, issues.map((issue) => h('li', {}, issue.path ? `${issue.path}: ${issue.message}` : issue.message))),
  );
}

/** Replaces `slot`'s content with the error. */
export function showError(slot, error) {
  slot.replaceChildren(errorBox(error));
}

/**
 * A modal dialog; resolves with what `onSubmit` returns, or undefined when cancelled. `onSubmit` may throw
 * an error, which the dialog shows (and stays open).
 */
export function dialog({ title, body, submitLabel, danger = false, onSubmit }) {
  return new Promise((resolve) => {
    const errors = h('div', { class: 'slot' });
    const cancel = h('button', { type: 'button', class: 'secondary', autofocus: true }, 'Cancel');
    const submit = h('button', { type: 'submit', class: danger ? 'danger' : undefined }, submitLabel);
    const form = h('form', { method: 'dialog' }, h('h2', {}, title), body, errors, h('div', { class: 'actions' }, cancel, submit));
    const element = h('dialog', { 'aria-label': title }, form);
    let result;
    cancel.addEventListener('click', () => element.close());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        result = await onSubmit();
        element.close();
      } catch (error) {
        showError(errors, error);
      } finally {
        submit.disabled = false;
      }
    });
    element.addEventListener('close', () => {
      element.remove();
      resolve(result);
    });
    document.body.append(element);
    element.showModal();
  });
}

/** A confirmation that names what it is about, in the question and on the button. */
export function confirmDialog({ title, question, confirmLabel, onConfirm }) {
  return dialog({ title, body: h('p', {}, question), submitLabel: confirmLabel, danger: true, onSubmit: async () => (await onConfirm(), true) });
}

/** Runs `work` with the button disabled and its errors in `slot`. */
export async function busy(button, slot, work) {
  button.disabled = true;
  slot?.replaceChildren();
  try {
    return await work();
  } catch (error) {
    if (slot) showError(slot, error);
    else throw error;
  } finally {
    button.disabled = false;
  }
}

/** Parses a JSON field; an empty field is `undefined`. Throws a message naming the field. */
export function parseJsonField(text, name) {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${name} is not JSON: ${error.message}`);
  }
}
