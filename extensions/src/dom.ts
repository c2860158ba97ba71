/**
 * DOM helpers that only ever set text: nothing from a payload becomes HTML.
 */

/** An element with a class and text content. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text: string | null = null
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== null) {
    node.textContent = text;
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes (values set with setAttribute, never parsed as markup). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: { [name: string]: string | number } = {}
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, String(value));
  }
  return node;
}

/** A two-column table of facts (label, value). */
export function factsTable(rows: [string, string][], className: string): HTMLTableElement {
  const table = el('table', className);
  const body = table.createTBody();
  for (const [label, value] of rows) {
    const tr = body.insertRow();
    tr.appendChild(el('th', '', label));
    tr.appendChild(el('td', '', value));
  }
  return table;
}
