// Building the page without innerHTML: every text from the relay or a robot goes in as text,
// so nothing a robot sends can run as script in the owner's browser.

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
