// A table cell with text (never HTML: what a site or a user named is shown as it is).

export function cell(row, text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}
