// Building the DOM without HTML strings: text only ever goes in as text nodes.

const PROPERTIES = new Set(["checked", "disabled", "hidden", "value", "selected"]);

/** el("td", {class: "num"}, "42"): an element; strings among the children become text nodes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) node[key] = value;
    else node.setAttribute(key, String(value));
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

/** Show a message in a box (error: role=alert, otherwise a polite status); empty hides it. */
export function say(box, text, kind = "info") {
  box.className = `message ${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = text;
}

export function clear(box) {
  box.textContent = "";
}

/** Clear `box` when it shows an error (a notice stays). */
export function clearError(box) {
  if (box.classList.contains("error")) clear(box);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function ms(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value)} ms`;
}

export function percent(ratio) {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** A table row from cells: <td> elements as they are, anything else wrapped in a <td>. */
export function row(cells) {
  return el("tr", {}, cells.map((cell) => (cell instanceof HTMLTableCellElement ? cell : el("td", {}, cell))));
}

/** A table with a caption, header cells ({label, num} or a string) and rows of cells. */
export function table(caption, headers, rows) {
  const head = el("tr", {}, headers.map((h) => el("th", { scope: "col", class: h.num ? "num" : null }, h.label ?? h)));
  return el("div", { class: "table-wrap" },
    el("table", {}, el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, rows.map(row))));
}

/** Show rows in `container`: a new table, more rows appended to the shown one, or `empty`. */
export function showRows(container, { caption, headers, rows, more = false, empty }) {
  const body = container.querySelector("tbody");
  if (more && body) body.append(...rows.map(row));
  else if (!rows.length) container.replaceChildren(el("p", { class: "muted" }, empty));
  else container.replaceChildren(table(caption, headers, rows));
}

export function num(value) {
  return el("td", { class: "num" }, String(value));
}

export function badge(text, tone) {
  return el("span", { class: `badge ${tone}` }, text);
}

/** Run `action` with `button` disabled; errors land in `box`. */
export async function busy(button, box, action) {
  button.disabled = true;
  clear(box);
  try {
    await action();
  } catch (error) {
    say(box, error.message, "error");
  } finally {
    button.disabled = false;
  }
}
