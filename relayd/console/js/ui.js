// Building the page without innerHTML: every text from the relay or a robot goes in as text,
// so nothing a robot sends can run as script in the owner's browser.
import { error_words } from './api.js';

/**
 * h('button', {class: 'secondary', onclick: fn, disabled: true}, 'Save') → an element.
 * Attributes starting with "on" are listeners; `false`/`null` attributes are left out; children
 * are nodes or strings (as text), arrays are flattened, null/false skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name in element && typeof value !== 'string') element[name] = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** Shows a message above the view (`kind` "error" or "info") until cleared or replaced. */
export function notice(text, kind = 'error') {
  const box = document.getElementById('notice');
  if (!text) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.dataset.kind = kind;
  box.textContent = text;
  box.hidden = false;
}

/** A date from unix seconds (or an ISO string) in the reader's locale. */
export function when(value) {
  if (value === null || value === undefined) return '';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/** Copies text to the clipboard; falls back to selecting it when the browser refuses. */
export async function copy_text(text, fallback_element) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallback_element) {
      const range = document.createRange();
      range.selectNodeContents(fallback_element);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    return false;
  }
}

// ---- forms (account, devices, sharing) ----

/**
 * A form (class "stack") whose submit runs `work()` once at a time, its submit button disabled
 * meanwhile; a failure is shown in clear words (api.js error_words) above the view.
 */
export function busy_form(attributes, work, ...children) {
  const form = h('form', { class: 'stack', ...attributes, onsubmit: async (e) => {
    e.preventDefault();
    const button = form.querySelector('button[type=submit]');
    if (button?.disabled) return;
    if (button) button.disabled = true;
    try {
      await work();
    } catch (error) {
      notice(error_words(error));
    } finally {
      if (button) button.disabled = false;
    }
  } }, ...children);
  return form;
}

/** A label around its input, with an optional hint under it. */
export function field(label, input, hint) {
  return h('label', {}, label, input, hint ? h('span', { class: 'hint' }, hint) : null);
}

/**
 * A button that asks before acting: pressing it shows `question` (a text, or a function giving
 * it at that moment) with a confirming button
 * (`yes`, class danger) and Cancel; the confirmation runs `work()` (failures shown as above).
 */
export function confirm_button(label, question, yes, work, { danger = true } = {}) {
  const ask = h('button', { type: 'button', class: danger ? 'danger' : 'secondary' }, label);
  const box = h('div', { class: 'confirm', role: 'group', hidden: true });
  const close = () => { box.hidden = true; ask.hidden = false; ask.focus(); };
  const confirm = h('button', { type: 'button', class: danger ? 'danger' : '', onclick: async () => {
    confirm.disabled = true;
    try {
      await work();
      box.hidden = true;
      ask.hidden = false;
    } catch (error) {
      notice(error_words(error));
    } finally {
      confirm.disabled = false;
    }
  } }, yes);
  const asked = h('p');
  replace(box, asked, h('div', { class: 'row' }, confirm,
    h('button', { type: 'button', class: 'secondary', onclick: close }, 'Cancel')));
  ask.addEventListener('click', () => {
    asked.textContent = typeof question === 'function' ? question() : question;
    ask.hidden = true;
    box.hidden = false;
    confirm.focus();
  });
  return h('div', { class: 'confirm-wrap' }, ask, box);
}

/** A read-only text (a secret, a command line) with a Copy button that says when it copied. */
export function copy_block(label, text, { name } = {}) {
  const value = h('pre', { class: 'copyable', dataset: name ? { copy: name } : {} }, h('code', {}, text));
  const said = h('span', { class: 'copied', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    said.textContent = await copy_text(text, value) ? 'Copied.' : 'Selected: press Ctrl+C (⌘C) to copy.';
  } }, `Copy ${label.toLowerCase()}`);
  return h('div', { class: 'copy-block' }, h('div', { class: 'row copy-head' }, h('span', { class: 'copy-label' }, label), button, said),
           value);
}

/**
 * The JSON typed into `field` (a textarea): {ok: true, value} (value undefined when it is
 * empty), or {ok: false} after saying "<what> is not valid JSON: … Nothing was sent." in
 * `error_element`, marking the field invalid and focusing it.
 */
export function read_json(field, error_element, what) {
  error_element.hidden = true;
  field.removeAttribute('aria-invalid');
  if (!field.value.trim()) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(field.value) };
  } catch (error) {
    error_element.textContent = `${what} is not valid JSON: ${error.message}. Nothing was sent.`;
    error_element.hidden = false;
    field.setAttribute('aria-invalid', 'true');
    field.focus();
    return { ok: false };
  }
}
