// Display formats. Money is integer minor units plus a currency code (API.md).

const moneyFormats = new Map();

function moneyFormat(currency) {
  if (!moneyFormats.has(currency)) {
    moneyFormats.set(currency, new Intl.NumberFormat(undefined, { style: "currency", currency }));
  }
  return moneyFormats.get(currency);
}

/** How many decimals the currency's minor unit has (USD 2, JPY 0). */
export function minorDigits(currency) {
  return moneyFormat(currency).resolvedOptions().maximumFractionDigits;
}

export function money(cents, currency) {
  if (cents === null || cents === undefined) return "";
  return moneyFormat(currency).format(cents / 10 ** minorDigits(currency));
}

/** "12.5" → 1250 (for USD) without floating-point rounding; null when not a price. */
export function parseMoney(text, currency) {
  const digits = minorDigits(currency);
  const match = /^\s*(\d{1,10})(?:[.,](\d*))?\s*$/.exec(text);
  if (!match || (match[2] || "").length > digits) return null;
  const fraction = (match[2] || "").padEnd(digits, "0");
  return Number(match[1]) * 10 ** digits + Number(fraction || "0");
}

/** 1250 → "12.50" for an input field. */
export function moneyInput(cents, currency) {
  const digits = minorDigits(currency);
  return digits ? (cents / 10 ** digits).toFixed(digits) : String(cents);
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});

export function dateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : "";
}

/** A UTC calendar date (YYYY-MM-DD), `daysAgo` days before today. */
export function isoDay(daysAgo = 0) {
  const day = new Date(Date.now() - daysAgo * 86_400_000);
  return day.toISOString().slice(0, 10);
}

export function shortDay(isoDate) {
  const [, month, day] = isoDate.split("-");
  return `${Number(month)}/${Number(day)}`;
}

export function titleCase(word) {
  return word ? word[0].toUpperCase() + word.slice(1).replaceAll("_", " ") : "";
}
