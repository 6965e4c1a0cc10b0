// Facts about the store that several views need, asked once per session.
import { api, withQuery } from "./api.js";
import { isoDay } from "./format.js";

let currency = null;

/** The store's currency (BACKROOM_CURRENCY), as the reports state it. */
export async function storeCurrency(signal) {
  if (!currency) {
    const today = isoDay(0);
    const { data } = await api.get(withQuery("/reports/sales", { from: today, to: today }), { signal });
    currency = data.currency;
  }
  return currency;
}
